// The Discord channel's own behaviour through the real discord.js client and the local
// Discord: routing by guild (an unlinked guild, a suspended store, a DM from a stranger),
// staff-role holders as staff, the slash commands, page turns edited in place, autocomplete,
// and sends outside a turn (closed DMs, the staff channel, another guild's channel).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { DiscordChannel } from "../../adapters/discord/discord-channel.ts";
import { ROLE_SOURCE } from "../../adapters/discord/staff-roles.ts";
import { createEngine, defineFlow, memberAudience, MongoSessionStore } from "../../flows/engine/index.ts";
import type { AutocompleteChoice } from "../../adapters/discord/contract.ts";
import { initI18n, t } from "../../locales/i18n.ts";
import { AuditLog, Member, Tenant } from "../../storage/models/index.ts";
import { Turns } from "../conformance/channel-suite.ts";
import { LocalDiscord, snowflake } from "../support/discord/index.ts";
import type { InteractionRecord, LocalMessage, LocalUser } from "../support/discord/index.ts";
import { eventually } from "../support/eventually.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { controlLabelled, openDiscordChannel, seedLinkedStore, type LinkedStore } from "./harness.ts";

const flows = [
  defineFlow({ id: "start", triggers: { commands: ["start"] }, help: "discord.commands.toko", steps: { hi: { kind: "end", text: { id: "Selamat datang di {{store}}!", en: "Welcome to {{store}}!" } } } }),
  defineFlow({
    id: "colours",
    triggers: { commands: ["warna"] },
    help: { id: "Daftar warna", en: "Colours" },
    steps: {
      pick: {
        kind: "choose",
        text: { id: "Pilih warna:", en: "Pick a colour:" },
        pageSize: 3,
        choices: ["merah", "biru", "hijau", "kuning", "ungu", "hitam", "putih"].map((id) => ({ id, label: { id: id.toUpperCase(), en: id }, next: "done" as const })),
        saveAs: "colour",
      },
      done: { kind: "end", text: { id: "Warna: {{colour}}", en: "Colour: {{colour}}" } },
    },
  }),
  defineFlow({
    id: "size",
    triggers: { commands: ["ukuran"] },
    help: { id: "Ukuran", en: "Size" },
    steps: {
      ask: { kind: "ask", text: { id: "Ukuran berapa?", en: "Which size?" }, expect: "integer", min: 1, max: 50, saveAs: "size", next: "done" },
      done: { kind: "end", text: { id: "Ukuran {{size}}.", en: "Size {{size}}." } },
    },
  }),
];

describe("the Discord channel", () => {
  let db: TestDatabase;
  let discord: LocalDiscord;
  let channel: DiscordChannel;
  let linked: LinkedStore;
  let now = Date.now();
  let autocompleteDelayMs = 0;
  const turns = new Turns();

  before(async () => {
    await initI18n();
    db = await openTestDatabase("discord_channel");
    discord = await LocalDiscord.start();
    const engine = turns.wrap(createEngine({ flows, sessions: new MongoSessionStore(), audienceOf: memberAudience() }));
    channel = openDiscordChannel(discord, engine, {
      clock: () => now,
      services: {
        autocomplete: async ({ source, query, audience }): Promise<AutocompleteChoice[]> => {
          await new Promise((resolve) => setTimeout(resolve, autocompleteDelayMs));
          return [{ name: `${source}:${query}:${audience}`, value: `${source.toUpperCase()}-1` }];
        },
      },
    });
    linked = await seedLinkedStore(discord, { name: "Toko Kanal" });
    await channel.start();
  });
  after(async () => {
    await channel?.stop(2000);
    await discord?.close();
    await db?.close();
  });

  const shown = (record: InteractionRecord) => [record.original, ...record.followUps].filter((m): m is LocalMessage => m !== undefined && !m.deleted);
  const newMember = (roles: Parameters<LinkedStore["guild"]["member"]>[1] = {}) => {
    const user = discord.user({ username: `orang-${Math.random().toString(36).slice(2, 8)}`, locale: "id" });
    linked.guild.member(user, roles);
    return user;
  };
  async function run(user: LocalUser, start: () => InteractionRecord): Promise<InteractionRecord> {
    let record!: InteractionRecord;
    await turns.handled(user.id, async () => (record = start()).waitForAck());
    await record.waitForAnswer();
    return record;
  }

  it("a guild linked to no store gets a clear answer and no store data", async () => {
    const stranger = discord.user({ username: "asing" });
    const guild = discord.guild({ name: "Server Lain", owner: stranger });
    discord.addBot(guild);
    const record = discord.command(stranger, guild.defaultChannel, "toko");
    const answer = await record.waitForAnswer();
    assert.equal(answer.text(), t("id", "discord.unlinked_guild"));
    assert.ok(answer.ephemeral);
    assert.equal(record.acks.length, 1, "acknowledged once");
    assert.doesNotMatch(answer.text(), /Toko Kanal/);
  });

  it("a DM from someone who never used a store is told to use /toko in the store's server", async () => {
    const stranger = discord.user({ username: "baru" });
    discord.write(stranger, stranger, "halo");
    const [answer] = await eventually(() => discord.dmsOf(stranger).length > 0 && discord.dmsOf(stranger), "the answer in the DM");
    assert.equal(answer!.text(), t("id", "discord.dm_no_store"));
  });

  it("after using the store in its guild, the person's DM goes to that store, where /toko works typed too", async () => {
    const lina = newMember();
    await run(lina, () => discord.command(lina, linked.guild.defaultChannel, "warna"));
    await turns.handled(lina.id, async () => discord.write(lina, lina, "/toko"));
    assert.equal(discord.dmsOf(lina).at(-1)?.text(), "Selamat datang di Toko Kanal!");
  });

  it("a suspended store's guild says the store is not serving", async () => {
    const other = await seedLinkedStore(discord, { name: "Toko Libur" });
    await Tenant.updateOne({ _id: other.store.tenant }, { $set: { status: "suspended" } }).exec();
    const person = discord.user({ username: "pembeli-libur" });
    other.guild.member(person);
    const answer = await discord.command(person, other.guild.defaultChannel, "toko").waitForAnswer();
    assert.equal(answer.text(), t("id", "discord.store_suspended"));
  });

  it("a staff role holder becomes staff and, once the role is taken, a customer again; both audited", async () => {
    const dewi = newMember({ roles: [linked.staffRole] });
    await run(dewi, () => discord.command(dewi, linked.guild.defaultChannel, "toko"));
    const filter = { tenantId: linked.store.tenant, channel: "discord", channelUserId: dewi.id } as never;
    assert.equal((await Member.findOne(filter).lean<{ role: string; addedBy: string }>().exec())?.addedBy, ROLE_SOURCE);

    linked.guild.member(dewi, { roles: [] });
    await run(dewi, () => discord.command(dewi, linked.guild.defaultChannel, "toko"));
    assert.equal(await Member.exists(filter), null, "no longer a member");
    const actions = (await AuditLog.find({ tenantId: linked.store.tenant, "target.id": `discord:${dewi.id}` } as never).lean<{ action: string }[]>().exec()).map((a) => a.action);
    assert.deepEqual(actions, ["staff.add", "staff.remove"]);
  });

  it("a member added by the owner keeps their place without the role", async () => {
    const owner = newMember();
    await Member.create({ tenantId: linked.store.tenant, channel: "discord", channelUserId: owner.id, role: "owner", addedBy: "cli" } as never);
    await run(owner, () => discord.command(owner, linked.guild.defaultChannel, "toko"));
    assert.equal((await Member.findOne({ tenantId: linked.store.tenant, channel: "discord", channelUserId: owner.id } as never).lean<{ role: string }>().exec())?.role, "owner");
  });

  it("registers the slash commands once: a second start finds them current and writes nothing", async () => {
    const names = discord.globalCommands().map((c) => c.name);
    for (const name of ["toko", "bantuan", "tiket", "niaga", "warna"]) assert.ok(names.includes(name), `/${name} registered (${names.join(", ")})`);
    const puts = () => discord.calls.filter((c) => c.method === "PUT" && /\/applications\/\d+\/commands$/.test(c.path)).length;
    const before = puts();
    const second = openDiscordChannel(discord, createEngine({ flows, sessions: new MongoSessionStore(), audienceOf: () => "customer" }));
    try {
      await second.start();
      assert.equal(puts(), before, "no second bulk overwrite");
    } finally {
      await second.stop(1000);
    }
  });

  it("a page turn edits the pressed message in place; a pick answers", async () => {
    const budi = newMember();
    const first = await run(budi, () => discord.command(budi, linked.guild.defaultChannel, "warna"));
    const list = shown(first)[0]!;
    assert.deepEqual(list.controls().map((c) => c.label), ["MERAH", "BIRU", "HIJAU", t("id", "engine.page.next", { page: 1, pages: 3 })]);
    const turned = await run(budi, () => discord.press(budi, list, controlLabelled(list, t("id", "engine.page.next", { page: 1, pages: 3 }))));
    assert.equal(turned.acks[0]?.type, 6, "deferUpdate");
    assert.equal(turned.original?.id, list.id, "the same message, edited");
    assert.ok(list.controls().some((c) => c.label === "KUNING"), "now showing the second page");
    const picked = await run(budi, () => discord.press(budi, list, controlLabelled(list, "KUNING")));
    assert.equal(shown(picked).at(-1)?.text(), "Warna: kuning");
  });

  it("a question is answered through its modal, and a refused answer asks again with the button still there", async () => {
    const nina = newMember();
    const answerLabel = t("id", "discord.answer");
    const asked = shown(await run(nina, () => discord.command(nina, linked.guild.defaultChannel, "ukuran")))[0]!;
    assert.equal(asked.text(), "Ukuran berapa?");
    const answer = async (on: LocalMessage, text: string) => {
      const opened = discord.press(nina, on, controlLabelled(on, answerLabel));
      const modal = await opened.waitForModal();
      return shown(await run(nina, () => discord.submitModal(nina, opened, modal.custom_id as string, { answer: text })));
    };
    const refused = await answer(asked, "besar");
    assert.deepEqual(refused.at(-1)!.controls().map((c) => c.label), [answerLabel], "the re-ask still has its Answer button");
    assert.equal((await answer(refused.at(-1)!, "42")).at(-1)?.text(), "Ukuran 42.");
  });

  it("autocomplete offers the store's codes for the person asking, and nothing when the lookup is too slow", async () => {
    const rina = newMember();
    const choices = await discord.autocomplete(rina, linked.guild.defaultChannel, "tiket", { name: "args", value: "T-1" }).waitForChoices();
    assert.deepEqual(choices, [{ name: "ticket:T-1:customer", value: "TICKET-1" }]);
    autocompleteDelayMs = 2500;
    try {
      const slow = discord.autocomplete(rina, linked.guild.defaultChannel, "tiket", { name: "args", value: "T-2" });
      assert.deepEqual(await slow.waitForChoices(), []);
      assert.deepEqual(slow.errors, [], "answered within Discord's deadline");
    } finally {
      autocompleteDelayMs = 0;
    }
  });

  it("an interaction Discord already gave up on (10062) is logged, not thrown, and the next one is answered", async () => {
    const late = newMember();
    const deadline = discord.firstAnswerMs;
    discord.firstAnswerMs = 0;
    try {
      const missed = discord.command(late, linked.guild.defaultChannel, "toko");
      await missed.until("Discord's refusal", () => missed.errors.find((e) => e.code === 10062));
    } finally {
      discord.firstAnswerMs = deadline;
    }
    const next = await run(late, () => discord.command(late, linked.guild.defaultChannel, "toko"));
    assert.equal(shown(next)[0]?.text(), "Selamat datang di Toko Kanal!");
  });

  it("an interaction that arrives older than Discord's 3 s is dropped: counted, never acknowledged, no turn", async () => {
    const before = channel.turns.late;
    const touched: string[] = [];
    const created = Date.now() - 5000;
    // Only its id and creation time may be read: any other use (isChatInputCommand, deferReply…) is recorded.
    const stale = new Proxy({ id: snowflake(created), createdTimestamp: created }, {
      get: (target, key) => (key in target ? target[key as keyof typeof target] : (touched.push(String(key)), () => undefined)),
    });
    await channel.turns.interaction(stale as never);
    assert.equal(channel.turns.late, before + 1);
    assert.deepEqual(touched, []);
  });

  it("/niaga goes to guild linking, which answers it itself", async () => {
    const owner = newMember();
    const answer = await discord.command(owner, linked.guild.defaultChannel, "niaga", {}, { subcommand: "status" }).waitForAnswer();
    assert.equal(answer.text(), t("id", "discord.not_available"));
  });

  describe("sending outside a turn", () => {
    it("reaches a person by DM; with DMs closed, by an ephemeral follow-up on their fresh interaction, else unreachable", async () => {
      const eka = newMember();
      const address = { tenantId: linked.store.id, channel: "discord", chatId: eka.id };
      const dm = await channel.send(address, [{ text: { inline: { id: "Halo", en: "Hello" } } }]);
      assert.equal(dm.ok, true);
      assert.equal(discord.dmsOf(eka).at(-1)?.id, dm.messages[0]!.messageIds[0]);

      eka.closeDms();
      const record = await run(eka, () => discord.command(eka, linked.guild.defaultChannel, "toko"));
      const viaInteraction = await channel.send(address, [{ text: { inline: { id: "Pesananmu siap", en: "Your order is ready" } } }]);
      assert.equal(viaInteraction.ok, true, viaInteraction.detail);
      assert.equal(record.followUps.at(-1)?.text(), "Pesananmu siap");
      assert.ok(record.followUps.at(-1)?.ephemeral);

      now += 15 * 60_000;
      const late = await channel.send(address, [{ text: { inline: { id: "Promo", en: "Promo" } } }, { text: { inline: { id: "Lagi", en: "More" } } }]);
      assert.deepEqual([late.ok, late.reason, late.sent, late.messages.map((m) => m.status)], [false, "unreachable", 0, ["failed", "skipped"]]);
    });

    it("posts in the store's staff channel, and refuses a channel of another guild", async () => {
      const report = await channel.send({ tenantId: linked.store.id, channel: "discord", chatId: `#${linked.staffChannel.id}` }, [{ text: { inline: { id: "Bukti transfer baru", en: "New proof" } }, choices: [{ id: "/setujui INV-1", label: { inline: { id: "Setujui", en: "Approve" } } }] }]);
      assert.equal(report.ok, true, report.detail);
      const posted = discord.messagesIn(linked.staffChannel).at(-1)!;
      assert.equal(posted.text(), "Bukti transfer baru");
      assert.deepEqual(posted.controls().map((c) => c.label), ["Setujui"]);

      const other = await seedLinkedStore(discord, { name: "Toko Tetangga" });
      const refused = await channel.send({ tenantId: linked.store.id, channel: "discord", chatId: `#${other.staffChannel.id}` }, [{ text: { inline: { id: "Bocor", en: "Leak" } } }]);
      assert.deepEqual([refused.ok, refused.reason], [false, "unreachable"]);
      assert.equal(discord.messagesIn(other.staffChannel).length, 0);
    });

    it("edits a DM or a staff-channel message in place with new text and buttons (a progress message); one it cannot edit is refused", async () => {
      const fajar = newMember();
      const progress = (sent: number, labels: string[]) => ({
        text: { inline: { id: `Siaran #1: ${sent} dari 20 terkirim`, en: `Broadcast #1: ${sent} of 20 sent` } },
        choices: labels.map((label) => ({ id: `/siaran ${label}`, label: { inline: { id: label, en: label } } })),
      });
      for (const chatId of [fajar.id, `#${linked.staffChannel.id}`]) {
        const address = { tenantId: linked.store.id, channel: "discord", chatId };
        const shownHere = () => (chatId === fajar.id ? discord.dmsOf(fajar) : discord.messagesIn(linked.staffChannel));
        const [id] = (await channel.send(address, [progress(0, ["Jeda"])], { locale: "id" })).messages[0]!.messageIds;
        const count = shownHere().length;

        const edited = await channel.edit(address, id!, progress(10, ["Lanjut", "Batal"]), { locale: "id" });

        assert.deepEqual([edited.ok, edited.messages[0]!.messageIds], [true, [id]], edited.detail);
        assert.equal(shownHere().length, count, "no new message");
        const message = shownHere().find((m) => m.id === id)!;
        assert.equal(message.text(), "Siaran #1: 10 dari 20 terkirim");
        assert.deepEqual(message.controls().map((c) => c.label), ["Lanjut", "Batal"]);
      }
      const address = { tenantId: linked.store.id, channel: "discord", chatId: fajar.id };
      assert.equal((await channel.edit(address, snowflake(), progress(1, []))).reason, "rejected", "a message Discord does not have");
      assert.equal((await channel.edit(address, "abc", progress(1, []))).reason, "rejected");
    });
  });
});
