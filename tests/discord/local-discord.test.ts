// The local Discord, driven by the real discord.js Client over its gateway and REST: what a
// bot does arrives as a user would see it, and Discord's rules (3 s, one acknowledgement,
// closed DMs) come back as the DiscordAPIErrors discord.js throws in production.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import {
  ActionRowBuilder, ButtonBuilder, ButtonStyle, Client, DiscordAPIError, Events, GatewayIntentBits, MessageFlags, ModalBuilder,
  Partials, PermissionFlagsBits, StringSelectMenuBuilder, TextInputBuilder, TextInputStyle,
} from "discord.js";
import type { Interaction, Message } from "discord.js";
import { LocalDiscord } from "../support/discord/index.ts";
import type { LocalGuild, LocalUser } from "../support/discord/index.ts";
import { eventually } from "../support/eventually.ts";

const COMMANDS = [
  { name: "toko", description: "Buka toko" },
  { name: "lambat", description: "Jawaban lambat" },
  { name: "pesan", description: "Pesan produk", options: [{ type: 3, name: "produk", description: "Kode produk", required: true, autocomplete: true }, { type: 4, name: "jumlah", description: "Jumlah" }] },
  { name: "stok", description: "Stok", options: [{ type: 1, name: "tambah", description: "Tambah stok", options: [{ type: 3, name: "kode", description: "Kode", required: true }] }] },
  {
    name: "niaga", description: "Hubungkan", contexts: [0], options: [{
      type: 1, name: "hubungkan", description: "Hubungkan toko", options: [
        { type: 3, name: "kode", description: "Kode", required: true, max_length: 8 },
        { type: 8, name: "peran", description: "Peran staf", required: true },
        { type: 7, name: "kanal", description: "Kanal staf", required: true, channel_types: [0] },
      ],
    }],
  },
];

function newClient(discord: LocalDiscord): Client {
  return new Client({
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.DirectMessages, GatewayIntentBits.MessageContent],
    partials: [Partials.Channel],
    rest: { api: discord.apiRoot },
  });
}

async function login(client: Client, discord: LocalDiscord): Promise<void> {
  const ready = once(client, Events.ClientReady);
  await client.login(discord.application.token);
  await ready;
}

describe("a local Discord the real discord.js client talks to", () => {
  let discord: LocalDiscord;
  let client: Client;
  let guild: LocalGuild;
  let sari: LocalUser;
  // Each test installs what the bot does with the next interaction/message.
  let onInteraction: (i: Interaction) => Promise<unknown> = async () => undefined;
  let onMessage: (m: Message) => void = () => undefined;
  const handlerErrors: unknown[] = [];
  const nextUserMessage = (): Promise<Message> => new Promise((resolve) => {
    onMessage = (m) => {
      if (!m.author.bot) resolve(m);
    };
  });

  before(async () => {
    discord = await LocalDiscord.start();
    sari = discord.user({ username: "sari", locale: "id" });
    guild = discord.guild({ name: "Toko Budi" });
    discord.addBot(guild);
    client = newClient(discord);
    client.on(Events.InteractionCreate, (i) => {
      onInteraction(i).catch((error: unknown) => handlerErrors.push(error));
    });
    client.on(Events.MessageCreate, (m) => onMessage(m));
    await login(client, discord);
    await client.application!.commands.set(COMMANDS);
  });

  after(async () => {
    await client.destroy();
    await discord.close();
  });

  test("the client finds the gateway through GET /gateway/bot, gets READY and the bot's guilds, and registers commands globally", () => {
    assert.equal(client.user?.id, discord.bot.id);
    assert.equal(client.application?.id, discord.application.id);
    assert.equal(client.guilds.cache.get(guild.id)?.name, "Toko Budi");
    assert.ok(client.guilds.cache.get(guild.id)?.channels.cache.has(guild.defaultChannel.id));
    assert.deepEqual(discord.globalCommands().map((c) => c.name), ["toko", "lambat", "pesan", "stok", "niaga"]);
    assert.ok(discord.calls.some((c) => c.method === "GET" && c.path === "/gateway/bot"));
  });

  test("a slash command reaches the client with its options, member and permissions, and an ephemeral reply is what the user sees", async () => {
    let seen: { member?: unknown; produk?: string; jumlah?: number | null; locale?: string; admin?: boolean } = {};
    onInteraction = async (i) => {
      if (!i.isChatInputCommand()) return;
      seen = { member: i.member, produk: i.options.getString("produk")!, jumlah: i.options.getInteger("jumlah"), locale: i.locale, admin: i.memberPermissions?.has("Administrator") };
      await i.reply({ content: `Pesanan ${seen.produk} ×${seen.jumlah}`, flags: MessageFlags.Ephemeral });
    };
    const record = discord.command(sari, guild.defaultChannel, "pesan", { produk: "KOPI", jumlah: 2 });
    const answer = await record.waitForAnswer();
    assert.equal(answer.text(), "Pesanan KOPI ×2");
    assert.equal(answer.ephemeral, true);
    assert.equal(record.acks.length, 1);
    assert.equal(record.acks[0]!.type, 4);
    assert.ok(seen.member);
    assert.equal(seen.locale, "id");
    assert.equal(seen.admin, false);
    assert.ok(!discord.messagesIn(guild.defaultChannel).includes(answer), "an ephemeral answer is not in the channel for everyone");
  });

  test("a deferred reply becomes visible when edited, and follow-ups arrive after it", async () => {
    onInteraction = async (i) => {
      if (!i.isChatInputCommand()) return;
      await i.deferReply();
      await i.editReply({ content: "Ini menu toko" });
      await i.followUp({ content: "Halaman 2", flags: MessageFlags.Ephemeral });
    };
    const record = discord.command(sari, guild.defaultChannel, "toko");
    const answer = await record.waitForAnswer();
    assert.equal(record.acks[0]!.type, 5);
    assert.equal(answer.text(), "Ini menu toko");
    const [followUp] = await record.waitForFollowUps(1);
    assert.equal(followUp!.text(), "Halaman 2");
    assert.equal(followUp!.ephemeral, true);
    assert.ok(discord.messagesIn(guild.defaultChannel).includes(answer), "a non-ephemeral answer is in the channel");
  });

  test("a first follow-up after a deferred reply replaces the “thinking…” message, as on Discord", async () => {
    onInteraction = async (i) => {
      if (!i.isChatInputCommand()) return;
      await i.deferReply({ flags: MessageFlags.Ephemeral });
      await i.followUp({ content: "Selesai" });
    };
    const record = discord.command(sari, guild.defaultChannel, "toko");
    const [followUp] = await record.waitForFollowUps(1);
    assert.equal(followUp, record.original);
    assert.equal(followUp!.ephemeral, true);
    assert.equal((await record.waitForAnswer()).text(), "Selesai");
  });

  test("buttons and select menus: a press and a pick reach the client, and update() edits the message in place", async () => {
    onInteraction = async (i) => {
      if (i.isChatInputCommand()) {
        const row = new ActionRowBuilder<ButtonBuilder>().addComponents(new ButtonBuilder().setCustomId("beli:KOPI").setLabel("Beli").setStyle(ButtonStyle.Primary));
        const menu = new ActionRowBuilder<StringSelectMenuBuilder>().addComponents(
          new StringSelectMenuBuilder().setCustomId("varian").addOptions({ label: "Panas", value: "panas" }, { label: "Dingin", value: "dingin" }),
        );
        await i.reply({ content: "Pilih", components: [row, menu] });
      } else if (i.isButton()) {
        await i.update({ content: `Dibeli: ${i.customId}`, components: [] });
      } else if (i.isStringSelectMenu()) {
        await i.reply({ content: `Varian ${i.values.join(",")}`, flags: MessageFlags.Ephemeral });
      }
    };
    const shown = await discord.command(sari, guild.defaultChannel, "toko").waitForAnswer();
    assert.deepEqual(shown.customIds(), ["beli:KOPI", "varian"]);
    const picked = await discord.select(sari, shown, "varian", ["dingin"]).waitForAnswer();
    assert.equal(picked.text(), "Varian dingin");
    const press = discord.press(sari, shown, "beli:KOPI");
    const updated = await press.waitForAnswer();
    assert.equal(updated, shown);
    assert.equal(shown.text(), "Dibeli: beli:KOPI");
    assert.deepEqual(shown.customIds(), []);
    assert.equal(press.acks[0]!.type, 7);
  });

  test("a modal shown from a command comes back filled in as a modal submit", async () => {
    onInteraction = async (i) => {
      if (i.isChatInputCommand()) {
        await i.showModal(new ModalBuilder().setCustomId("alamat").setTitle("Alamat").addComponents(
          new ActionRowBuilder<TextInputBuilder>().addComponents(new TextInputBuilder().setCustomId("jalan").setLabel("Jalan").setStyle(TextInputStyle.Short)),
        ));
      } else if (i.isModalSubmit()) {
        await i.reply({ content: `Dikirim ke ${i.fields.getTextInputValue("jalan")}`, flags: MessageFlags.Ephemeral });
      }
    };
    const asked = discord.command(sari, guild.defaultChannel, "toko");
    const modal = await asked.waitForModal();
    assert.equal(modal.title, "Alamat");
    const submitted = discord.submitModal(sari, asked, "alamat", { jalan: "Jl. Mawar 3" });
    assert.equal((await submitted.waitForAnswer()).text(), "Dikirim ke Jl. Mawar 3");
  });

  test("autocomplete: the focused option arrives and the choices the bot answers are what the user sees", async () => {
    onInteraction = async (i) => {
      if (!i.isAutocomplete()) return;
      const typed = i.options.getFocused();
      await i.respond(["KOPI", "KOPI-SUSU", "TEH"].filter((c) => c.startsWith(typed.toUpperCase())).map((c) => ({ name: c, value: c })));
    };
    const record = discord.autocomplete(sari, guild.defaultChannel, "pesan", { name: "produk", value: "kop" });
    assert.deepEqual((await record.waitForChoices()).map((c) => c.value), ["KOPI", "KOPI-SUSU"]);
  });

  test("a subcommand arrives as one, with its options", async () => {
    onInteraction = async (i) => {
      if (!i.isChatInputCommand()) return;
      await i.reply({ content: `${i.options.getSubcommand()} ${i.options.getString("kode")}` });
    };
    const record = discord.command(sari, guild.defaultChannel, "stok", { kode: "KOPI" }, { subcommand: "tambah" });
    assert.equal((await record.waitForAnswer()).text(), "tambah KOPI");
  });

  test("a first answer after 3 s gets 10062 Unknown interaction; a second acknowledgement gets 40060", async () => {
    const codes: number[] = [];
    onInteraction = async (i) => {
      if (!i.isChatInputCommand()) return;
      if (i.commandName === "lambat") {
        discord.firstAnswerMs = 0;
        await new Promise((resolve) => setTimeout(resolve, 5));
        await i.reply({ content: "terlambat" }).catch((error: unknown) => codes.push((error as DiscordAPIError).code as number));
        return;
      }
      await i.deferReply();
      // discord.js refuses a second ack itself; the raw callback is what a buggy bot would send.
      await client.rest.post(`/interactions/${i.id}/${i.token}/callback`, { body: { type: 4, data: { content: "lagi" } }, auth: false })
        .catch((error: unknown) => codes.push((error as DiscordAPIError).code as number));
    };
    try {
      const late = discord.command(sari, guild.defaultChannel, "lambat");
      await eventually(() => late.errors.length > 0, "the late answer refused");
      assert.equal(late.errors[0]!.code, 10062);
    } finally {
      discord.firstAnswerMs = 3000;
    }
    const twice = discord.command(sari, guild.defaultChannel, "toko");
    await eventually(() => twice.errors.length > 0, "the second ack refused");
    assert.equal(twice.errors[0]!.code, 40060);
    await eventually(() => codes.length === 2, "both errors thrown in the bot");
    assert.deepEqual(codes, [10062, 40060]);
  });

  test("a message with buttons in a channel, a thread from it, and a user's message in the thread reaching the client", async () => {
    const channel = await client.channels.fetch(guild.defaultChannel.id);
    assert.ok(channel?.isSendable());
    const sent = await channel.send({
      content: "Tiket #12",
      components: [new ActionRowBuilder<ButtonBuilder>().addComponents(new ButtonBuilder().setCustomId("ambil:12").setLabel("Ambil").setStyle(ButtonStyle.Success))],
    });
    const thread = await sent.startThread({ name: "tiket-12" });
    const posted = discord.messagesIn(guild.defaultChannel).find((m) => m.id === sent.id)!;
    assert.deepEqual(posted.customIds(), ["ambil:12"]);
    assert.deepEqual(discord.threadsIn(guild.defaultChannel).map((t) => t.name), ["tiket-12"]);
    await thread.send("Halo, ada yang bisa dibantu?");
    const local = discord.channel(thread.id)!;
    assert.equal(discord.messagesIn(local)[0]!.text(), "Halo, ada yang bisa dibantu?");

    const received = nextUserMessage();
    discord.write(sari, local, "Pesanan saya belum sampai");
    const message = await received;
    assert.equal(message.content, "Pesanan saya belum sampai");
    assert.equal(message.channelId, thread.id);
    assert.equal(message.author.id, sari.id);
  });

  test("DMs both ways: the bot's DM is what the user received; the user's DM reaches the client; closed DMs give 50007", async () => {
    const user = await client.users.fetch(sari.id);
    await user.send("Kode voucher: ABC-123");
    assert.deepEqual(discord.dmsOf(sari).map((m) => m.text()), ["Kode voucher: ABC-123"]);

    const received = nextUserMessage();
    discord.write(sari, sari, "terima kasih");
    const message = await received;
    assert.equal(message.content, "terima kasih");
    assert.equal(message.guildId, null);

    const budi = discord.user({ username: "budi" });
    budi.closeDms();
    const error = await (await client.users.fetch(budi.id)).send("halo").catch((e: unknown) => e);
    assert.ok(error instanceof DiscordAPIError);
    assert.equal(error.code, 50007);
  });

  test("a multipart attachment arrives intact, and a user's attachment can be fetched by the bot", async () => {
    const data = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
    const channel = await client.channels.fetch(guild.defaultChannel.id);
    assert.ok(channel?.isSendable());
    const sent = await channel.send({ content: "bukti", files: [{ attachment: data, name: "bukti.bin" }] });
    const local = discord.message(sent.id)!;
    assert.equal(local.attachments[0]!.filename, "bukti.bin");
    assert.ok(local.attachments[0]!.data.equals(data));
    assert.equal(sent.attachments.first()?.size, data.length);

    const received = nextUserMessage();
    discord.write(sari, guild.defaultChannel, "ini buktinya", { attachments: [{ name: "transfer.png", data }] });
    const message = await received;
    const url = message.attachments.first()!.url;
    const fetched = Buffer.from(await (await fetch(url)).arrayBuffer());
    assert.ok(fetched.equals(data));
  });

  test("after the gateway drops, the client resumes and gets the next interaction (and one sent while it was away)", async () => {
    onInteraction = async (i) => {
      if (i.isChatInputCommand()) await i.reply({ content: `ok ${i.id}` });
    };
    discord.dropGateway();
    const whileAway = discord.command(sari, guild.defaultChannel, "toko");
    await eventually(() => discord.gatewayLogins.some((l) => l.op === "resume"), "a resume");
    await whileAway.waitForAnswer();
    const next = discord.command(sari, guild.defaultChannel, "toko");
    assert.equal((await next.waitForAnswer()).text(), `ok ${next.id}`);
  });

  test("a session the gateway forgot: the client identifies afresh and works on", async () => {
    onInteraction = async (i) => {
      if (i.isChatInputCommand()) await i.reply({ content: "lagi" });
    };
    const identifies = discord.gatewayLogins.filter((l) => l.op === "identify").length;
    discord.invalidateGatewaySessions();
    await eventually(() => discord.gatewayLogins.filter((l) => l.op === "identify").length > identifies && discord.connectedSessions === 1, "a fresh identify", { timeoutMs: 20_000 });
    const record = discord.command(sari, guild.defaultChannel, "toko");
    assert.equal((await record.waitForAnswer()).text(), "lagi");
  });

  test("the bot removed from a guild: GUILD_DELETE without unavailable reaches the client", async () => {
    const other = discord.guild({ name: "Toko Lain" });
    discord.addBot(other);
    await eventually(() => client.guilds.cache.has(other.id), "the new guild");
    const gone = once(client, Events.GuildDelete);
    discord.removeBot(other);
    const [deleted] = await gone;
    assert.equal(deleted.id, other.id);
    assert.equal(deleted.available, true);
  });

  test("a member's roles and permissions, and role and channel options, arrive resolved as Discord sends them", async () => {
    const staff = guild.role("Staf", { permissions: PermissionFlagsBits.ManageGuild });
    const owner = discord.users.get(guild.ownerId)!;
    guild.member(sari, { roles: [staff] });
    let seen: { roles?: string[]; manage?: boolean; role?: string; channel?: string } = {};
    onInteraction = async (i) => {
      if (!i.isChatInputCommand()) return;
      const roles = i.member?.roles;
      seen = {
        roles: Array.isArray(roles) ? roles : roles?.cache.map((r) => r.id), manage: i.memberPermissions?.has(PermissionFlagsBits.ManageGuild),
        role: i.options.getRole("peran")?.name, channel: i.options.getChannel("kanal")?.id,
      };
      await i.reply({ content: "ok", flags: MessageFlags.Ephemeral });
    };
    await discord.command(sari, guild.defaultChannel, "niaga", { kode: "AB12", peran: staff, kanal: guild.defaultChannel }, { subcommand: "hubungkan" }).waitForAnswer();
    assert.ok(seen.roles?.includes(staff.id));
    assert.equal(seen.manage, true);
    assert.equal(seen.role, "Staf");
    assert.equal(seen.channel, guild.defaultChannel.id);
    assert.throws(() => discord.command(owner, guild.defaultChannel, "niaga", { kode: "TERLALU-PANJANG", peran: staff, kanal: guild.defaultChannel }, { subcommand: "hubungkan" }), /longer than 8/);
    assert.throws(() => discord.command(sari, sari, "niaga", { kode: "AB12", peran: staff, kanal: guild.defaultChannel }, { subcommand: "hubungkan" }), /not available in DMs/);
    assert.throws(() => discord.command(sari, guild.defaultChannel, "tidakada"), /no command \/tidakada is registered/);
    guild.member(sari, { roles: [] });
  });

  test("Discord's limits: a message over 2000 characters and a button id over 100 are refused with 50035", async () => {
    const channel = await client.channels.fetch(guild.defaultChannel.id);
    assert.ok(channel?.isSendable());
    const long = await channel.send("x".repeat(2001)).catch((e: unknown) => e);
    assert.ok(long instanceof DiscordAPIError);
    assert.equal(long.code, 50035);
    // discord.js's builders refuse it before sending; a raw payload is what reaches Discord.
    const button = { type: 2, style: 1, label: "x", custom_id: "b".repeat(101) };
    const raw = await client.rest.post(`/channels/${guild.defaultChannel.id}/messages`, { body: { content: "x", components: [{ type: 1, components: [button] }] } }).catch((e: unknown) => e);
    assert.ok(raw instanceof DiscordAPIError);
    assert.equal(raw.code, 50035);
  });

  test("a 429 with retry-after is waited out and retried by discord.js; a slow REST still answers", async () => {
    const channel = await client.channels.fetch(guild.defaultChannel.id);
    assert.ok(channel?.isSendable());
    discord.rateLimitNext(/^POST \/channels\/\d+\/messages$/, 0.1);
    const limited = await channel.send("setelah 429");
    assert.equal(discord.message(limited.id)?.text(), "setelah 429");
    assert.ok(discord.calls.some((c) => c.status === 429));
    discord.slowRest(300);
    try {
      const slow = await channel.send("lambat");
      assert.equal(discord.message(slow.id)?.text(), "lambat");
    } finally {
      discord.slowRest(0);
    }
  });

  test("an unknown route gets Discord's 404 and is listed as unhandled; an unknown channel gets 10003", async () => {
    const error = await client.rest.get("/channels/123456789012345678/pins").catch((e: unknown) => e);
    assert.ok(error instanceof DiscordAPIError);
    assert.equal(error.status, 404);
    assert.deepEqual(discord.unhandled.splice(0), [{ method: "GET", path: "/channels/123456789012345678/pins" }]);
    const unknown = await client.channels.fetch("123456789012345678").catch((e: unknown) => e);
    assert.ok(unknown instanceof DiscordAPIError);
    assert.equal(unknown.code, 10003);
  });

  test("no request went unanswered and the bot's handlers threw nothing unexpected", () => {
    assert.deepEqual(discord.unhandled, []);
    assert.deepEqual(handlerErrors, []);
  });
});

test("a stalled gateway: the client notices missing heartbeat acks, resumes, and gets what was held back", async () => {
  const discord = await LocalDiscord.start({ heartbeatIntervalMs: 400 });
  const guild = discord.guild({ name: "Toko Sepi" });
  discord.addBot(guild);
  const client = newClient(discord);
  client.on(Events.InteractionCreate, (i) => {
    if (i.isChatInputCommand()) void i.reply({ content: "masih hidup" });
  });
  try {
    await login(client, discord);
    await client.application!.commands.set([{ name: "ping", description: "Ping" }]);
    const sari = discord.user({ username: "sari" });
    discord.pauseGateway();
    const held = discord.command(sari, guild.defaultChannel, "ping");
    await eventually(() => discord.gatewayLogins.some((l) => l.op === "resume"), "the client to resume after missing acks");
    discord.resumeGateway();
    assert.equal((await held.waitForAnswer()).text(), "masih hidup");
  } finally {
    await client.destroy();
    await discord.close();
  }
});
