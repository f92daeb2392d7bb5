// A store's team in Telegram, through real grammY against the Bot API emulator: each
// member's private chat carries the seller's command menu for their role (set at the bot's
// start, changed as the team changes, taken away when they leave), and an invite's deep
// link (`t.me/<bot>?start=inv_…`, which Telegram sends as `/start inv_…`) joins the team.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { BotCommand, User } from "grammy/types";
import { customerCommands, sellerCommands } from "../../adapters/telegram/bot-commands.ts";
import type { StoreBots } from "../../adapters/telegram/store-bots.ts";
import { createEngine } from "../../flows/engine/engine.ts";
import type { Audience, Inbound } from "../../flows/engine/message.ts";
import { MongoSessionStore } from "../../flows/engine/mongo-session-store.ts";
import { createPlatformFlows } from "../../flows/platform.ts";
import { roleMayStart } from "../../flows/tenant-admin/admin-flows.ts";
import { createInvite } from "../../flows/tenant-admin/invites.ts";
import { t } from "../../locales/i18n.ts";
import { Member, type Role } from "../../storage/models/index.ts";
import { startStores, words, type Store, type Stores } from "../telegram/store-fixture.ts";
import { eventually } from "../support/eventually.ts";

/** Looks membership up on every message (the platform's `memberAudience` remembers it for 10 s). */
async function membersAreSellers(inbound: Inbound): Promise<Audience> {
  return (await Member.exists({ tenantId: inbound.tenant.id, channel: inbound.channel, channelUserId: inbound.user.id } as never)) ? "seller" : "customer";
}

const names = (commands: BotCommand[]) => commands.map((c) => c.command);
const OWNER_ONLY = ["undang", "staf", "tambahstaf", "hapusstaf"];
const NOT_FOR_STAFF = [...OWNER_ONLY, "pengaturan", "audit", "laporan", "produk", "tambahproduk", "harga", "batalkan", "refund", "klaim"];

describe("Telegram: members' command menus and the invite deep link", () => {
  let stores: Stores;
  let store: Store;
  let owner: User;
  let admin: User;
  let staff: User;
  let customer: User;
  let stranger: User;
  // The admin flows tell the bots about membership changes; the bots need the engine first.
  const running: { bots?: StoreBots } = {};
  const flows = createPlatformFlows({ admin: { onMembershipChanged: (change) => running.bots?.memberChanged(change) } });
  const engine = createEngine({ ...flows, sessions: new MongoSessionStore(), audienceOf: membersAreSellers });

  /** The menu this member's chat must show: what /help lists for a seller, only what their role may use. */
  const menuOf = (role: Role, locale: "id" | "en") => sellerCommands(engine.platformFlows, locale, store.name, (flowId) => roleMayStart(role, flowId));
  const customerMenu = (locale: "id" | "en") => customerCommands(engine.platformFlows, locale, store.name);
  const chatMenu = (user: User, languageCode: string) => stores.tg.commandsFor(store.token, { chat: user, languageCode });
  /** The menus registered for this person's chat alone (any language). */
  const ownMenus = (user: User) => stores.tg.commands(store.token).filter((set) => set.scope.type === "chat" && "chat_id" in set.scope && set.scope.chat_id === user.id);
  const addMember = (user: User, role: Role) => Member.create({ tenantId: store.id, channel: "telegram", channelUserId: String(user.id), role } as never);

  before(async () => {
    // Two members a page, so the start's pass over five members reads three pages.
    stores = await startStores({ engine, sellerMenu: roleMayStart, memberMenuPageSize: 2 });
    running.bots = stores.bots;
    store = await stores.createStore({ name: "Toko Kilat" });
    owner = stores.user({ first_name: "Pemilik" });
    admin = stores.user({ first_name: "Admin", language_code: "en" });
    staff = stores.user({ first_name: "Staf" });
    customer = stores.user({ first_name: "Pembeli" });
    stranger = stores.user({ first_name: "Baru" });
    for (const user of [owner, admin, staff, customer]) stores.tg.openChat(store.token, user);
    await addMember(owner, "owner");
    await addMember(admin, "admin");
    await addMember(staff, "staff");
    // A member who never wrote to the bot: Telegram knows no chat with them yet.
    await addMember(stranger, "staff");
    const another = stores.user({ first_name: "Staf Dua" });
    stores.tg.openChat(store.token, another);
    await addMember(another, "staff");
    await stores.bots.start(store.id);
  });
  after(() => stores.close());

  it("at the bot's start each member's chat gets the seller menu of their role, in Indonesian and English; a customer's does not", async () => {
    // Five members, two languages each, less the one Telegram does not know yet; read two members a page.
    await eventually(() => stores.tg.commands(store.token).filter((set) => set.scope.type === "chat").length === 8, "the members' menus");
    for (const user of [owner, admin, staff]) assert.equal(ownMenus(user).length, 2);
    assert.deepEqual(chatMenu(owner, "id"), menuOf("owner", "id"));
    assert.deepEqual(chatMenu(owner, "en"), menuOf("owner", "en"));
    // A client in a language without its own list sees the chat's default (Indonesian) one.
    assert.deepEqual(chatMenu(owner, "de"), menuOf("owner", "id"));
    assert.deepEqual(chatMenu(admin, "en"), menuOf("admin", "en"));
    assert.notDeepEqual(menuOf("owner", "en"), menuOf("owner", "id"), "the English menu is in English");

    const ownerMenu = names(chatMenu(owner, "id"));
    for (const command of ["start", "catalog", "admin", "pesanan", "tambahstok", "stok", "pengaturan", "audit", ...OWNER_ONLY, "help", "cancel"]) {
      assert.ok(ownerMenu.includes(command), `owner menu lacks /${command}: ${ownerMenu.join(", ")}`);
    }
    const staffMenu = names(chatMenu(staff, "id"));
    for (const command of ["admin", "pesanan", "setujui", "tolak", "tambahstok", "stok"]) assert.ok(staffMenu.includes(command), `staff menu lacks /${command}`);
    for (const command of NOT_FOR_STAFF) assert.ok(!staffMenu.includes(command), `staff menu shows /${command}: ${staffMenu.join(", ")}`);
    const adminMenu = names(chatMenu(admin, "en"));
    assert.ok(adminMenu.includes("pengaturan") && adminMenu.includes("laporan"), adminMenu.join(", "));
    for (const command of OWNER_ONLY) assert.ok(!adminMenu.includes(command), `admin menu shows /${command}`);

    assert.deepEqual(ownMenus(customer), []);
    assert.deepEqual(chatMenu(customer, "id"), customerMenu("id"));
    assert.deepEqual(chatMenu(customer, "en"), customerMenu("en"));
    assert.ok(!names(customerMenu("id")).some((c) => ["admin", "tambahstok", "stok", "undang"].includes(c)));
  });

  it("a member Telegram did not know yet gets their menu with their first message", async () => {
    assert.deepEqual(ownMenus(stranger), [], "no chat with the bot, no menu of their own");
    const sent = await stores.tg.sendCommand(store.token, stranger, "/start");
    await stores.tg.waitForSent(store.token, stranger, (m) => m.message_id > sent.message_id);
    await eventually(() => ownMenus(stranger).length === 2, "the late member's menu");
    assert.deepEqual(chatMenu(stranger, "id"), menuOf("staff", "id"));
  });

  it("added, promoted and removed through the admin commands, a person's menu follows; removed, they see the customer menu", async () => {
    const { tg } = stores;
    const colleague = stores.user({ first_name: "Rekan" });
    tg.openChat(store.token, colleague);
    const ask = async (command: string, args: string, expected: string) => {
      const sent = await tg.sendCommand(store.token, owner, command, args);
      const reply = await tg.waitForSent(store.token, owner, (m) => m.message_id > sent.message_id);
      assert.equal(words(reply), expected);
    };

    await ask("/tambahstaf", `staf ${colleague.id}`, `✅ ${colleague.id} (telegram) ditambahkan sebagai staf.`);
    await eventually(() => ownMenus(colleague).length === 2, "the new member's menu");
    assert.deepEqual(chatMenu(colleague, "id"), menuOf("staff", "id"));

    await ask("/tambahstaf", `admin ${colleague.id}`, `✅ Peran ${colleague.id} (telegram) diubah: staf → admin.`);
    // Both languages' menus are set one after the other: wait for the last of them too.
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    await eventually(() => same(chatMenu(colleague, "id"), menuOf("admin", "id")) && same(chatMenu(colleague, "en"), menuOf("admin", "en")), "the promoted member's menus");
    assert.deepEqual(chatMenu(colleague, "id"), menuOf("admin", "id"));
    assert.deepEqual(chatMenu(colleague, "en"), menuOf("admin", "en"));

    await ask("/hapusstaf", String(colleague.id), `✅ ${colleague.id} (telegram, admin) dihapus dari tim.`);
    await eventually(() => ownMenus(colleague).length === 0, "the removed member's menus deleted");
    const deletes = tg.calls(store.token, "deleteMyCommands").filter((c) => (c.params.scope as { chat_id?: number } | undefined)?.chat_id === colleague.id);
    assert.deepEqual(deletes.map((c) => c.params.language_code ?? ""), ["", "en"], "both languages' chat menus deleted");
    assert.deepEqual(chatMenu(colleague, "id"), customerMenu("id"));
    assert.deepEqual(chatMenu(colleague, "en"), customerMenu("en"));
    // The others are untouched.
    assert.deepEqual(chatMenu(owner, "id"), menuOf("owner", "id"));
  });

  it("tapping an invite's deep link joins the team with the invite's role, and brings the seller menu", async () => {
    const { tg } = stores;
    const asked = await tg.sendCommand(store.token, owner, "/undang", "admin");
    const invite = await tg.waitForSent(store.token, owner, (m) => m.message_id > asked.message_id && words(m).startsWith("✉️"));
    const link = /https:\/\/t\.me\/\w+\?start=(inv_[\w-]+)/.exec(words(invite));
    assert.ok(link, words(invite));

    const joiner = stores.user({ first_name: "Calon" });
    const tapped = await tg.sendCommand(store.token, joiner, "/start", link[1]);
    const welcome = await tg.waitForSent(store.token, joiner, (m) => m.message_id > tapped.message_id);
    assert.equal(words(welcome), "🎉 Selamat bergabung! Kamu sekarang admin di toko ini. Ketik /admin untuk mulai.");
    assert.ok(await Member.exists({ tenantId: store.id, channel: "telegram", channelUserId: String(joiner.id), role: "admin" } as never));
    await eventually(() => ownMenus(joiner).length === 2, "the joiner's menu");
    assert.deepEqual(chatMenu(joiner, "id"), menuOf("admin", "id"));

    // The same link again, by someone else: used up.
    const latecomer = stores.user({ first_name: "Telat" });
    const again = await tg.sendCommand(store.token, latecomer, "/start", link[1]);
    const refusal = await tg.waitForSent(store.token, latecomer, (m) => m.message_id > again.message_id);
    assert.equal(words(refusal), "Undangan ini sudah dipakai. Minta undangan baru ke pemilik toko.");
    assert.equal(await Member.exists({ tenantId: store.id, channel: "telegram", channelUserId: String(latecomer.id) } as never), null);
    assert.deepEqual(ownMenus(latecomer), []);
  });

  it("an expired invite link is refused; any other /start payload just greets", async () => {
    const { tg } = stores;
    const expired = await createInvite(store.id, "staff", { channel: "telegram", userId: String(owner.id) }, 60_000, new Date(Date.now() - 3_600_000));
    const late = stores.user({ first_name: "Lambat" });
    const tapped = await tg.sendCommand(store.token, late, "/start", expired.token);
    const refusal = await tg.waitForSent(store.token, late, (m) => m.message_id > tapped.message_id);
    assert.equal(words(refusal), "Undangan ini sudah kedaluwarsa. Minta undangan baru ke pemilik toko.");
    assert.equal(await Member.exists({ tenantId: store.id, channel: "telegram", channelUserId: String(late.id) } as never), null);

    const shopper = stores.user({ first_name: "Pembeli Promo" });
    const promo = await tg.sendCommand(store.token, shopper, "/start", "promo-7");
    const greeting = await tg.waitForSent(store.token, shopper, (m) => m.message_id > promo.message_id);
    assert.equal(words(greeting), t("id", "catalog.welcome", { store: store.name }));
    assert.ok((greeting.reply_markup?.inline_keyboard.flat().length ?? 0) > 0, "the welcome menu's buttons");
    assert.equal(await Member.exists({ tenantId: store.id, channel: "telegram", channelUserId: String(shopper.id) } as never), null);
  });

  it("the menus were set without a failure logged; the member Telegram did not know was logged as waiting", () => {
    const troubles = stores.log.filter((line) => line.level !== "info");
    assert.deepEqual(troubles, []);
    assert.ok(stores.log.some((line) => line.message.startsWith("telegram member menu waits") && line.meta.userId === String(stranger.id)));
  });
});
