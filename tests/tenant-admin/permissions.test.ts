// Who may use which admin command: the whole role × command matrix, the platform owner,
// customers (to whom admin commands do not exist), and the per-person rate limit.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ROLE_PERMISSIONS } from "../../flows/tenant-admin/permissions.ts";
import { adminMenuFlow, createAdminFlows, FLOW_PERMISSIONS } from "../../flows/tenant-admin/admin-flows.ts";
import { createInProcessRateLimiter } from "../../storage/rate-limit.ts";
import { AuditLog, Member } from "../../storage/models/index.ts";
import { testEngine } from "../engine/chat-harness.ts";
import { adminEngine, oid, person, seedShop, useTestDatabase } from "./admin-fixture.ts";

useTestDatabase("tenant_admin_permissions");

/** The matrix as the product defines it — written out, not derived from the code under test. */
const MATRIX: Record<string, { owner: boolean; admin: boolean; staff: boolean }> = {
  "/admin": { owner: true, admin: true, staff: true },
  "/pesanan": { owner: true, admin: true, staff: true },
  "/setujui INV-000001": { owner: true, admin: true, staff: true },
  "/tolak INV-000001 belum masuk": { owner: true, admin: true, staff: true },
  "/batalkan INV-000001": { owner: true, admin: true, staff: false },
  "/refund INV-000001": { owner: true, admin: true, staff: false },
  "/klaim": { owner: true, admin: true, staff: false },
  "/laporan": { owner: true, admin: true, staff: false },
  "/produk": { owner: true, admin: true, staff: false },
  "/tambahproduk": { owner: true, admin: true, staff: false },
  "/ubahproduk netflix-1m": { owner: true, admin: true, staff: false },
  "/harga netflix-1m 36000": { owner: true, admin: true, staff: false },
  "/sembunyikan draf": { owner: true, admin: true, staff: false },
  "/tampilkan draf": { owner: true, admin: true, staff: false },
  "/tambahstok netflix-1m": { owner: true, admin: true, staff: true },
  "/stok": { owner: true, admin: true, staff: true },
  "/pengaturan": { owner: true, admin: true, staff: false },
  "/staf": { owner: true, admin: false, staff: false },
  "/tambahstaf staf 999": { owner: true, admin: false, staff: false },
  "/hapusstaf 999": { owner: true, admin: false, staff: false },
  "/undang admin": { owner: true, admin: false, staff: false },
  "/audit": { owner: true, admin: true, staff: false },
};

const bundle = createAdminFlows();
const adminFlows = bundle.flows as { id: string; audience?: string; triggers?: { commands?: string[] } }[];
const sellerCommands = adminFlows.filter((f) => f.audience === "seller").flatMap((f) => f.triggers?.commands ?? []);

describe("the role × command matrix", () => {
  test("every seller flow has a permission, and the matrix covers every one of them", () => {
    const sellerFlows = adminFlows.filter((f) => f.audience === "seller").map((f) => f.id).sort();
    assert.deepEqual(Object.keys(FLOW_PERMISSIONS).sort(), sellerFlows);
    const covered = Object.keys(MATRIX).map((typed) => typed.split(" ")[0].slice(1));
    for (const flow of adminFlows.filter((f) => f.audience === "seller")) {
      assert.ok(flow.triggers?.commands?.some((c) => covered.includes(c)), `flow ${flow.id} is not in the matrix`);
    }
  });

  for (const role of ["owner", "admin", "staff"] as const) {
    test(`${role}: allowed commands run, the others are refused politely`, async () => {
      const shop = await seedShop({ members: { me: role, "owner-2": "owner" } });
      const { engine } = adminEngine();
      const me = person(engine, shop, "me");
      for (const [typed, allowed] of Object.entries(MATRIX)) {
        const replies = await me.say(typed);
        const refused = me.keys.includes("admin.denied.role");
        assert.equal(refused, !allowed[role], `${role} ${typed}: ${replies.join(" / ")}`);
        if (refused) assert.deepEqual(me.keys, ["admin.denied.role"], `${role} ${typed} says only that it is not allowed`);
        await me.say("/cancel");
      }
    });
  }

  test("the role table matches the matrix for every permission a command needs", () => {
    assert.deepEqual([...ROLE_PERMISSIONS.staff].sort(), ["orders.approve", "orders.read", "stock.write"]);
    assert.ok(!ROLE_PERMISSIONS.admin.has("staff.manage"));
    assert.equal(ROLE_PERMISSIONS.owner.size, 9);
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
    const { engine } = adminEngine({ ownerChatIds: [777000] });
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
    let now = 1_000_000;
    const limiter = createInProcessRateLimiter(() => now);
    const { engine } = adminEngine({ limiter, adminRateLimit: { limit: 3, windowMs: 60_000 } });
    const owner = person(engine, shop, "owner-1");
    for (let i = 0; i < 3; i++) {
      await owner.say("/stok");
      assert.deepEqual(owner.keys, ["admin.stock.summary"]);
    }
    now += 15_000;
    assert.deepEqual(await owner.say("/stok"), ["Perintah admin terlalu banyak dalam waktu singkat. Tunggu 45 detik, lalu coba lagi ya."]);
    const admin = person(engine, shop, "admin-1");
    await admin.say("/stok");
    assert.deepEqual(admin.keys, ["admin.stock.summary"]);
    now += 60_000;
    await owner.say("/stok");
    assert.deepEqual(owner.keys, ["admin.stock.summary"]);
  });
});
