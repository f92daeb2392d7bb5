// Who may use which admin command (and /tiket): the whole role × command matrix (owner, admin, staff
// and the platform owner, every command and its English alias: an allowed one answers what
// that command answers, a refused one only the refusal and changes nothing in the store,
// a change used for real leaves the actor's audit entry), customers (to whom admin commands
// do not exist), and the per-person rate limit.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import mongoose from "mongoose";
import { ConversationSession } from "../../flows/engine/mongo-session-store.ts";
import { createOrdering } from "../../flows/ordering/ordering.ts";
import { RecordingOutbox } from "../support/recording-outbox.ts";
import { gatewayMap } from "../../flows/ordering/payments/gateway.ts";
import { manualGateway } from "../../flows/ordering/payments/manual.ts";
import { BROADCAST_SEND, ROLE_PERMISSIONS, TICKETS_HANDLE } from "../../flows/tenant-admin/permissions.ts";
import { combineFlowBundles } from "../../flows/engine/flow-bundle.ts";
import { createTicketFlows } from "../../flows/ticketing/ticket-flows.ts";
import { createBroadcastFlows } from "../../flows/broadcast/broadcast-flows.ts";
import { createBroadcasting } from "../../flows/broadcast/index.ts";
import { createTicketing } from "../../flows/ticketing/tickets.ts";
import { guardedPermission } from "../../flows/tenant-admin/admin-access.ts";
import { adminMenuFlow, createAdminFlows } from "../../flows/tenant-admin/admin-flows.ts";
import { t } from "../../locales/i18n.ts";
import { createInProcessRateLimiter } from "../../storage/rate-limit.ts";
import { AuditLog, Member, Tenant, type Role } from "../../storage/models/index.ts";
import { testEngine } from "../engine/chat-harness.ts";
import { adminEngine, oid, person, seedShop } from "./admin-fixture.ts";
import { type ProductSpec } from "../support/stores.ts";
import { useTestDatabase } from "../support/mongo.ts";

useTestDatabase("tenant_admin_permissions");

/** Who types the commands: a member of the store in each role, or the platform owner (not a member). */
type Who = "owner" | "admin" | "staff" | "platform";

/** The store's orders each row's change acts on. */
interface Orders {
  toApprove: string;
  toReject: string;
  toCancel: string;
  paid: string;
  claimed: string;
}

/** What a command answers when typed bare: its messages' keys, the exact text where it is fixed, the choices when it asks. */
interface FirstReply {
  keys: string[];
  text?: string;
  choices?: (who: Who, orders: Orders) => readonly string[];
}

interface Row {
  /** The Indonesian command, and its English alias. */
  command: string;
  english?: string;
  owner: boolean;
  admin: boolean;
  staff: boolean;
  bare: FirstReply;
  /**
   * A use that changes the store, and the one audit action it records. From someone allowed
   * it must change the store; from someone refused, nothing at all.
   */
  change?: { say: (orders: Orders) => string[]; action: string };
}

const usage = (key: string): FirstReply => ({ keys: [key], text: t("id", key) });
const SKUS = ["netflix-1m", "spotify-1m", "draf"] as const;
const picksProduct = (key: string): FirstReply => ({ keys: [key], choices: () => SKUS });
const MENU: Record<Who, readonly string[]> = {
  owner: ["orders", "claims", "products", "addProduct", "stock", "addStock", "report", "settings", "staff", "invite", "audit"],
  platform: ["orders", "claims", "products", "addProduct", "stock", "addStock", "report", "settings", "staff", "invite", "audit"],
  admin: ["orders", "claims", "products", "addProduct", "stock", "addStock", "report", "settings", "audit"],
  staff: ["orders", "stock", "addStock"],
};

/**
 * The matrix as the product defines it (the README's command table) — written out, not
 * derived from the code under test. Bare forms run first, in this order: `/audit` comes
 * before `/undang`, whose bare form already creates an invite.
 */
const MATRIX: Row[] = [
  { command: "admin", owner: true, admin: true, staff: true, bare: { keys: ["admin.menu.title"], choices: (who) => MENU[who] } },
  { command: "pesanan", english: "orders", owner: true, admin: true, staff: true, bare: { keys: ["admin.orders.todo"] } },
  {
    command: "setujui",
    english: "approve",
    owner: true,
    admin: true,
    staff: true,
    bare: usage("admin.usage.approve"),
    change: { say: (o) => [`/setujui ${o.toApprove}`], action: "order.approve_payment" },
  },
  {
    command: "tolak",
    english: "reject",
    owner: true,
    admin: true,
    staff: true,
    bare: usage("admin.usage.reject"),
    change: { say: (o) => [`/tolak ${o.toReject} transfer belum masuk`], action: "order.reject_payment" },
  },
  {
    command: "batalkan",
    english: "cancelorder",
    owner: true,
    admin: true,
    staff: false,
    bare: usage("admin.usage.cancel_order"),
    change: { say: (o) => [`/batalkan ${o.toCancel} salah harga`], action: "order.cancel" },
  },
  { command: "refund", owner: true, admin: true, staff: false, bare: usage("admin.usage.refund"), change: { say: (o) => [`/refund ${o.paid}`], action: "order.refund" } },
  {
    command: "klaim",
    english: "claims",
    owner: true,
    admin: true,
    staff: false,
    bare: { keys: ["admin.claims.pick"], choices: (_who, o) => [o.claimed] },
    change: { say: (o) => [`/klaim ${o.claimed}`, "1", "Akun pengganti sudah dikirim"], action: "order.resolve_claim" },
  },
  { command: "laporan", english: "report", owner: true, admin: true, staff: false, bare: { keys: ["admin.report.summary"] } },
  { command: "produk", english: "products", owner: true, admin: true, staff: false, bare: { keys: ["admin.product.list"] } },
  {
    command: "tambahproduk",
    english: "addproduct",
    owner: true,
    admin: true,
    staff: false,
    bare: usage("admin.product.ask_sku"),
    change: { say: () => ["/tambahproduk produk-baru", "Produk Baru", "10000", "-", "-", "-", "-", "1"], action: "product.create" },
  },
  {
    command: "ubahproduk",
    english: "editproduct",
    owner: true,
    admin: true,
    staff: false,
    bare: picksProduct("admin.product.pick"),
    change: { say: () => ["/ubahproduk spotify-1m", "1", "Spotify Premium"], action: "product.name" },
  },
  {
    command: "harga",
    english: "setprice",
    owner: true,
    admin: true,
    staff: false,
    bare: picksProduct("admin.product.pick"),
    change: { say: () => ["/harga netflix-1m 36000"], action: "product.price" },
  },
  {
    command: "sembunyikan",
    english: "hide",
    owner: true,
    admin: true,
    staff: false,
    bare: picksProduct("admin.product.pick"),
    change: { say: () => ["/sembunyikan spotify-1m"], action: "product.hide" },
  },
  {
    command: "tampilkan",
    english: "show",
    owner: true,
    admin: true,
    staff: false,
    bare: picksProduct("admin.product.pick"),
    change: { say: () => ["/tampilkan draf"], action: "product.show" },
  },
  {
    command: "tambahstok",
    english: "addstock",
    owner: true,
    admin: true,
    staff: true,
    bare: picksProduct("admin.stock.pick"),
    change: { say: () => ["/tambahstok netflix-1m\nNF-BARU-1", "selesai"], action: "stock.add" },
  },
  { command: "stok", english: "stock", owner: true, admin: true, staff: true, bare: { keys: ["admin.stock.summary"] } },
  {
    command: "pengaturan",
    english: "settings",
    owner: true,
    admin: true,
    staff: false,
    bare: { keys: ["admin.settings.current", "admin.settings.which"], choices: () => ["name", "language", "snk", "payment", "timeout", "window", "done"] },
    change: { say: () => ["/pengaturan", "1", "Toko Ganti Nama"], action: "settings.name" },
  },
  {
    command: "sla",
    owner: true,
    admin: true,
    staff: false,
    bare: { keys: ["tickets.sla.current"] },
    change: { say: () => ["/sla tinggi 30 600"], action: "settings.sla" },
  },
  { command: "audit", owner: true, admin: true, staff: false, bare: usage("admin.audit.none") },
  { command: "staf", english: "staff", owner: true, admin: false, staff: false, bare: { keys: ["admin.staff.list"] } },
  {
    command: "tambahstaf",
    english: "addstaff",
    owner: true,
    admin: false,
    staff: false,
    bare: usage("admin.usage.staff_add"),
    change: { say: () => ["/tambahstaf staf 999"], action: "staff.add" },
  },
  {
    command: "hapusstaf",
    english: "removestaff",
    owner: true,
    admin: false,
    staff: false,
    bare: usage("admin.usage.staff_remove"),
    change: { say: () => ["/hapusstaf console:staf-9"], action: "staff.remove" },
  },
  {
    command: "undang",
    english: "invite",
    owner: true,
    admin: false,
    staff: false,
    bare: { keys: ["admin.staff.invited"] },
    change: { say: () => ["/undang admin"], action: "staff.invite" },
  },
  // Every member works customers' tickets; with none open, the list says so and offers the filters.
  { command: "tiket", english: "tickets", owner: true, admin: true, staff: true, bare: { keys: ["support.desk.empty", "support.desk.list"], choices: () => ["mine", "all"] } },
  // Owners and admins write broadcasts; the menu offers a new one, the drafts and the list.
  { command: "siaran", english: "broadcast", owner: true, admin: true, staff: false, bare: { keys: ["broadcast.menu.title"], choices: () => ["new", "drafts", "list"] } },
  {
    // Without a WhatsApp channel in the process the owner hears where to link instead.
    command: "whatsapp",
    owner: true,
    admin: false,
    staff: false,
    bare: { keys: ["admin.whatsapp.unavailable"] },
  },
  {
    // The store's Discord server: where it stands, and a fresh one-time code to link it.
    command: "discord",
    owner: true,
    admin: false,
    staff: false,
    bare: { keys: ["guild.store_bot.status.unlinked", "guild.store_bot.code", "guild.store_bot.choose"], choices: () => ["done"] },
  },
];

const allowedFor = (row: Row, who: Who) => (who === "platform" ? true : row[who]);

const bundle = combineFlowBundles(createAdminFlows(), createTicketFlows(), createBroadcastFlows());
const adminFlows = bundle.flows as { id: string; audience?: string; guard?: { name: string; arg?: string }; triggers?: { commands?: string[] } }[];
const sellerFlows = adminFlows.filter((f) => f.audience === "seller");
const sellerCommands = sellerFlows.flatMap((f) => f.triggers?.commands ?? []);
const flowOf = (command: string) => sellerFlows.find((f) => f.triggers?.commands?.includes(command))?.id;

const MATRIX_PRODUCTS: ProductSpec[] = [
  { code: "netflix-1m", name: "Netflix 1 Bulan", price: 35_000, stock: ["NF-1", "NF-2", "NF-3", "NF-4", "NF-5", "NF-6", "NF-7", "NF-8"] },
  { code: "spotify-1m", name: "Spotify 1 Bulan", price: 25_000, stock: ["SP-1", "SP-2"] },
  { code: "draf", name: "Paket Draf", price: 99_000, status: "hidden" },
];

/**
 * A store for one row of people: its team (`me` in the role, another owner, a staff member
 * to remove), manual payments, and an order in every state a change needs.
 */
async function matrixStore(who: Who) {
  const members: Record<string, Role> = { "owner-2": "owner", "staf-9": "staff", ...(who !== "platform" && { me: who }) };
  const shop = await seedShop({ members, products: MATRIX_PRODUCTS });
  await Tenant.updateOne({ _id: oid(shop.id) }, { $set: { "settings.ordering.paymentMethods": ["manual"], "settings.ordering.paymentInstructions": "BCA 123" } }).exec();
  const ordering = createOrdering({ outbox: new RecordingOutbox(), gateways: gatewayMap(manualGateway()) });
  let buyers = 0;
  const order = async (state: "proof" | "paid" | "claimed" = "proof") => {
    buyers += 1;
    const buyer = { channel: "telegram", channelUserId: `b${buyers}`, chatId: `b${buyers}`, locale: "id" as const };
    const placed = await ordering.placeOrder({ tenantId: shop.id, customer: buyer, items: [{ productCode: "netflix-1m", quantity: 1 }], snkAccepted: true });
    assert.ok(placed.ok, JSON.stringify(placed));
    assert.ok((await ordering.submitPaymentProof(shop.id, buyer, placed.order.code, { fileRef: `proof-${buyers}` })).ok);
    if (state === "paid") assert.equal((await ordering.markPaid(shop.id, placed.order.id, { method: "manual" })).outcome, "paid");
    if (state === "claimed") {
      assert.ok((await ordering.approvePayment(shop.id, placed.order.code, { channel: "console", userId: "owner-2" })).ok);
      assert.ok((await ordering.claimOrder(shop.id, buyer, placed.order.code, { text: "Akun tidak bisa login" })).ok);
    }
    return placed.order.code;
  };
  const orders: Orders = { toApprove: await order(), toReject: await order(), toCancel: await order(), paid: await order("paid"), claimed: await order("claimed") };
  // The setup's approval is not the matrix's: the log starts empty.
  await AuditLog.deleteMany({ tenantId: oid(shop.id) }).exec();
  const platformOwners = { channel: "telegram", userIds: [777000] };
  const tickets = createTicketing({ outbox: new RecordingOutbox() });
  const broadcasts = createBroadcasting({ outbox: new RecordingOutbox() });
  const { engine } = adminEngine({ ordering, platformOwners, adminRateLimit: { limit: 10_000, windowMs: 60_000 } }, tickets, broadcasts);
  const me = who === "platform" ? person(engine, shop, "777000", { channel: "telegram" }) : person(engine, shop, "me");
  const actor = who === "platform" ? { channel: "telegram", userId: "777000", name: "Sari (platform)" } : { channel: "console", userId: "me", name: "Sari" };
  return { shop, orders, me, actor };
}

/** Everything the store holds — every collection's documents of this store, and the store itself — but conversations. */
async function storeState(tenantId: string): Promise<string> {
  const db = mongoose.connection.db!;
  const names = (await db.listCollections().toArray()).map((c) => c.name).filter((name) => name !== ConversationSession.collection.name).sort();
  const state: Record<string, unknown[]> = {};
  for (const name of names) {
    const filter = name === Tenant.collection.name ? { _id: oid(tenantId) } : { tenantId: oid(tenantId) };
    const docs = await db.collection(name).find(filter).sort({ _id: 1 }).toArray();
    if (docs.length > 0) state[name] = docs;
  }
  return JSON.stringify(state);
}

describe("the role × command matrix", () => {
  test("every seller command is in the matrix, and each English alias starts the same flow as its Indonesian command", () => {
    for (const flow of sellerFlows) {
      const permission = guardedPermission(flow.guard);
      assert.ok(permission !== undefined, `seller flow ${flow.id} declares the admin guard`);
      if (flow.id !== adminMenuFlow.id) assert.ok(permission !== null, `seller flow ${flow.id} names the permission it needs`);
    }
    const covered = MATRIX.flatMap((row) => [row.command, ...(row.english ? [row.english] : [])]);
    for (const flow of sellerFlows) {
      for (const command of flow.triggers?.commands ?? []) assert.ok(covered.includes(command), `/${command} (flow ${flow.id}) is not in the matrix`);
    }
    assert.deepEqual([...covered].sort(), [...sellerCommands].sort(), "the matrix names no command that does not exist, none twice");
    for (const row of MATRIX) {
      assert.ok(flowOf(row.command), `/${row.command} is a seller command`);
      if (row.english) assert.equal(flowOf(row.english), flowOf(row.command), `/${row.english} and /${row.command}`);
    }
  });

  for (const who of ["owner", "admin", "staff", "platform"] as const) {
    test(`${who}: each allowed command gives its own first answer, each refused one only the refusal and changes nothing`, async () => {
      const { shop, orders, me, actor } = await matrixStore(who);
      const refusal = who === "platform" ? undefined : t("id", "admin.denied.role", { role: t("id", `admin.roles.${who}`) });
      for (const row of MATRIX) {
        for (const command of [row.command, ...(row.english ? [row.english] : [])]) {
          const cell = `${who} /${command}`;
          const before = await storeState(shop.id);
          const replies = await me.say(`/${command}`);
          if (allowedFor(row, who)) {
            assert.deepEqual(me.keys, row.bare.keys, `${cell}: ${replies.join(" / ")}`);
            if (row.bare.text !== undefined) assert.deepEqual(replies, [row.bare.text], cell);
            if (row.bare.choices) assert.deepEqual(me.choiceIds, row.bare.choices(who, orders), `${cell}: choices`);
          } else {
            assert.deepEqual(replies, [refusal], cell);
            assert.deepEqual(me.keys, ["admin.denied.role"], cell);
            // The same command used for real is refused just the same, and changes nothing.
            if (row.change) {
              const [first, ...rest] = row.change.say(orders);
              assert.deepEqual(await me.say(first), [refusal], `${cell}: ${first}`);
              for (const typed of rest) await me.say(typed);
            }
            assert.equal(await storeState(shop.id), before, `${cell} changed the store`);
          }
          await me.say("/cancel");
        }
      }
      // Then each change, used for real by someone allowed: it changes the store and leaves one audit entry of theirs.
      for (const row of MATRIX.filter((r) => r.change && allowedFor(r, who))) {
        const cell = `${who} ${row.change!.action}`;
        const before = await storeState(shop.id);
        const logged = await AuditLog.countDocuments({ tenantId: oid(shop.id) }).exec();
        for (const typed of row.change!.say(orders)) await me.say(typed);
        assert.ok(!me.keys.includes("admin.denied.role") && !me.keys.includes("engine.unknown_command"), `${cell}: ${me.keys.join(", ")}`);
        assert.notEqual(await storeState(shop.id), before, `${cell} changed nothing`);
        const entries = await AuditLog.find({ tenantId: oid(shop.id) }).sort({ at: 1, _id: 1 }).skip(logged).lean().exec();
        assert.deepEqual(
          entries.map((e) => ({ action: e.action, actor: e.actor, where: e.where })),
          [{ action: row.change!.action, actor, where: `${me.inbound.channel}:${me.inbound.chatId}` }],
          cell,
        );
        await me.say("/cancel");
      }
    });
  }

  test("the role table matches the matrix for every permission a command needs", () => {
    assert.deepEqual([...ROLE_PERMISSIONS.staff].sort(), ["orders.approve", "orders.read", "stock.write", TICKETS_HANDLE]);
    assert.ok(!ROLE_PERMISSIONS.admin.has("staff.manage"));
    assert.ok(ROLE_PERMISSIONS.admin.has(TICKETS_HANDLE) && ROLE_PERMISSIONS.owner.has(TICKETS_HANDLE));
    assert.ok(ROLE_PERMISSIONS.admin.has(BROADCAST_SEND) && !ROLE_PERMISSIONS.staff.has(BROADCAST_SEND), "owners and admins send broadcasts, staff do not");
    assert.equal(ROLE_PERMISSIONS.owner.size, 12);
    assert.ok(!ROLE_PERMISSIONS.admin.has("channels.link"), "only owners link the store's numbers");
  });

  test("a staff member trying an owner-only command changes nothing", async () => {
    const shop = await seedShop({ members: { "staf-1": "staff", "owner-1": "owner" } });
    const { engine } = adminEngine();
    const staff = person(engine, shop, "staf-1");
    assert.deepEqual(await staff.say("/hapusstaf owner-1"), ["Maaf, perintah ini tidak tersedia untuk peran staf. Minta pemilik toko kalau perlu akses."]);
    await staff.say("/tambahstaf pemilik staf-1");
    assert.deepEqual(staff.keys, ["admin.denied.role"]);
    const roles = await Member.find({ tenantId: oid(shop.id) } as never).lean().exec();
    assert.deepEqual(roles.map((m) => `${m.channelUserId}:${m.role}`).sort(), ["owner-1:owner", "staf-1:staff"]);
  });

  test("a member demoted in the middle of a command cannot finish it", async () => {
    const shop = await seedShop({ members: { "admin-1": "admin", "owner-1": "owner" } });
    const { engine } = adminEngine();
    const admin = person(engine, shop, "admin-1");
    await admin.say("/harga netflix-1m");
    assert.deepEqual(admin.keys, ["admin.product.ask_price"]);
    await person(engine, shop, "owner-1").say("/tambahstaf staf admin-1");
    await admin.say("1000");
    assert.deepEqual(admin.keys, ["admin.denied.role"]);
  });

  test("someone forced into the seller view who is not a member is refused", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    // The console's `--as seller` makes anyone a seller to the engine; the permission check still asks the store.
    const forced = testEngine({ ...createAdminFlows(), audienceOf: () => "seller" });
    const asSeller = person(forced, shop, "stranger");
    assert.deepEqual(await asSeller.say("/stok"), ["Maaf, perintah ini khusus untuk tim toko. Kalau kamu anggota tim, minta pemilik toko menambahkanmu."]);
    await asSeller.say("/admin");
    assert.deepEqual(asSeller.keys, ["admin.denied.not_member"]);
  });
});

describe("the platform owner", () => {
  test("may act on any store from Telegram without being a member, and is recorded as such", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const { engine } = adminEngine({ platformOwners: { channel: "telegram", userIds: [777000] } });
    const platform = person(engine, shop, "777000", { channel: "telegram" });
    await platform.say("/staf");
    assert.deepEqual(platform.keys, ["admin.staff.list"]);
    await platform.say("/harga spotify-1m 26000");
    assert.deepEqual(platform.keys, ["admin.product.changed"]);
    const entry = await AuditLog.findOne({ tenantId: oid(shop.id), action: "product.price" }).lean().exec();
    assert.deepEqual(entry?.actor, { channel: "telegram", userId: "777000", name: "Sari (platform)" });
    const sameIdElsewhere = person(engine, shop, "777000", { channel: "console" });
    await sameIdElsewhere.say("/staf");
    assert.deepEqual(sameIdElsewhere.keys, ["engine.unknown_command"]);
  });
});

describe("admin commands are invisible to customers", () => {
  test("a customer typing any admin command gets exactly the unknown-command answer", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner" } });
    const { engine } = adminEngine();
    const customer = person(engine, shop, "pembeli");
    const [unknown] = await customer.say("/perintahngawur");
    for (const command of sellerCommands) {
      const [answer] = await customer.say(`/${command} netflix-1m 1`);
      assert.equal(answer, unknown.replace("/perintahngawur", `/${command}`), `/${command}`);
      assert.deepEqual(customer.last[0].text, { key: "engine.unknown_command", params: { command: `/${command}` } });
    }
    assert.ok(sellerCommands.includes("tambahstok") && sellerCommands.includes("addstock") && sellerCommands.length >= 28);
  });

  test("/help lists admin commands to members only", async () => {
    const shop = await seedShop({ name: "Toko Sinar", members: { "owner-1": "owner" } });
    const { engine } = adminEngine();
    const [customerHelp] = await person(engine, shop, "pembeli").say("/help");
    const [sellerHelp] = await person(engine, shop, "owner-1").say("/help");
    for (const command of ["/admin", "/produk", "/tambahstok", "/stok", "/pengaturan", "/undang", "/audit"]) {
      assert.ok(!customerHelp.includes(command), `customer sees ${command}`);
      assert.ok(sellerHelp.includes(command), `seller misses ${command}`);
    }
    assert.ok(!sellerHelp.includes("/gabung"), "joining is for invited people, not a listed command");
  });
});

describe("the /admin menu", () => {
  test("offers each member only what their role allows, and leads there", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner", "staf-1": "staff" } });
    const { engine } = adminEngine();
    const staff = person(engine, shop, "staf-1");
    await staff.say("/admin");
    assert.deepEqual(staff.choiceIds, ["orders", "stock", "addStock"]);
    const owner = person(engine, shop, "owner-1");
    await owner.say("/admin");
    assert.deepEqual(owner.choiceIds, ["orders", "claims", "products", "addProduct", "stock", "addStock", "report", "settings", "staff", "invite", "audit"]);
    await owner.press("products");
    assert.deepEqual(owner.keys, ["admin.product.list"]);
    await owner.say("/admin");
    await owner.say("6");
    assert.deepEqual(owner.choiceIds, ["netflix-1m", "spotify-1m", "draf"]);
    assert.equal(adminMenuFlow.id, "admin-menu");
  });
});

describe("abuse limits", () => {
  test("too many admin commands get a clear answer with the wait; others are not affected; the window passes", async () => {
    const shop = await seedShop({ members: { "owner-1": "owner", "admin-1": "admin" } });
    const limiter = createInProcessRateLimiter();
    const { engine } = adminEngine({ limiter, adminRateLimit: { limit: 3, windowMs: 2_000 } });
    const owner = person(engine, shop, "owner-1");
    for (let i = 0; i < 3; i++) {
      await owner.say("/stok");
      assert.deepEqual(owner.keys, ["admin.stock.summary"]);
    }
    assert.match((await owner.say("/stok")).join("\n"), /^Perintah admin terlalu banyak dalam waktu singkat\. Tunggu [12] detik, lalu coba lagi ya\.$/);
    const admin = person(engine, shop, "admin-1");
    await admin.say("/stok");
    assert.deepEqual(admin.keys, ["admin.stock.summary"]);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    await owner.say("/stok");
    assert.deepEqual(owner.keys, ["admin.stock.summary"]);
  });
});
