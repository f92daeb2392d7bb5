import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { runNiaga, type NiagaRun } from "../support/niaga-process.ts";
import { AuditLog, Member, Tenant, openTenantSecret } from "../../storage/models/index.ts";
import mongoose from "mongoose";
import { configureEncryption } from "../../storage/crypto.ts";

const key = randomBytes(32);
const token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";

describe("niaga CLI", () => {
  let db: TestDatabase;
  const run = (args: string[], extraEnv: Record<string, string> = {}): Promise<NiagaRun> =>
    runNiaga(args, { MONGODB_URI: db.uri, ENCRYPTION_KEY: key.toString("base64"), DEFAULT_LOCALE: "en", ...extraEnv });
  const snapshot = async () => ({
    tenants: await Tenant.find({}).sort({ slug: 1 }).lean(),
    members: await Member.find({}).setOptions({ crossTenant: true }).sort({ _id: 1 }).lean(),
    audits: await AuditLog.countDocuments({}).setOptions({ crossTenant: true }),
  });
  const expectRefused = async (args: string[], message: RegExp, env?: Record<string, string>) => {
    const before = await snapshot();
    const res = await run(args, env);
    assert.equal(res.code, 2, `exit code for ${args.join(" ")}: ${res.stderr}`);
    assert.match(res.stderr, message);
    assert.doesNotMatch(res.stderr, /\n\s+at /, "no stack trace");
    assert.deepEqual(await snapshot(), before, "nothing written");
    return res;
  };

  before(async () => {
    db = await openTestDatabase("test", { indexes: false, encryptionKey: key });
    const migrated = await run(["migrate"]);
    assert.equal(migrated.code, 0, migrated.stderr);
  });
  after(async () => {
    await db.close();
  });

  it("creates a store with its Telegram token encrypted, and lists it", async () => {
    const res = await run(["tenant", "create", "--slug", "toko-budi", "--name", "Toko Budi", "--locale", "id", "--telegram-token", token]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /toko-budi/);
    const tenant = await Tenant.findOne({ slug: "toko-budi" }).lean();
    assert.equal(tenant?.name, "Toko Budi");
    assert.equal(tenant?.status, "active");
    assert.notEqual(tenant?.channels?.telegram?.token, token);
    assert.ok(!JSON.stringify(tenant).includes(token), "token stored in plain text");
    assert.equal(openTenantSecret(tenant!, "channels.telegram.token"), token);
    assert.ok(!res.stdout.includes(token) && !res.stderr.includes(token), "token printed");
    assert.equal(await AuditLog.countDocuments({ tenantId: tenant!._id, action: "tenant.create" }), 1);

    const list = await run(["tenant", "list"]);
    assert.equal(list.code, 0);
    assert.match(list.stdout, /toko-budi\s+Toko Budi\s+active\s+id\s+telegram\(polling\)/);
  });

  it("suspends and resumes a store, each audited", async () => {
    await run(["tenant", "create", "--slug", "toko-sari", "--name", "Toko Sari"]);
    assert.equal((await run(["tenant", "suspend", "toko-sari", "--reason", "unpaid"])).code, 0);
    assert.equal((await Tenant.findOne({ slug: "toko-sari" }).lean())?.status, "suspended");
    assert.equal((await run(["tenant", "resume", "toko-sari"])).code, 0);
    const tenant = await Tenant.findOne({ slug: "toko-sari" }).lean();
    assert.equal(tenant?.status, "active");
    const actions = (await AuditLog.find({ tenantId: tenant!._id }).sort({ at: 1 }).lean()).map((a) => a.action);
    assert.deepEqual(actions, ["tenant.create", "tenant.suspend", "tenant.resume"]);
  });

  it("adds a member with a role", async () => {
    const res = await run(["member", "add", "--tenant", "toko-budi", "--channel", "telegram", "--user", "777", "--role", "admin"]);
    assert.equal(res.code, 0, res.stderr);
    const tenant = await Tenant.findOne({ slug: "toko-budi" }).lean();
    const member = await Member.findOne({ tenantId: tenant!._id, channel: "telegram", channelUserId: "777" }).lean();
    assert.equal(member?.role, "admin");
  });

  it("refuses an unknown flag with the usage", async () => {
    const res = await expectRefused(["tenant", "create", "--slug", "toko-x", "--name", "X", "--colour", "red"], /unknown flag: --colour/);
    assert.match(res.stderr, /Usage: niaga tenant create/);
  });

  it("refuses a duplicate slug", async () => {
    await expectRefused(["tenant", "create", "--slug", "toko-budi", "--name", "Another"], /already exists/);
  });

  it("refuses bad slug characters", async () => {
    await expectRefused(["tenant", "create", "--slug", "Toko Budi!", "--name", "X"], /slug "Toko Budi!" is invalid/);
    await expectRefused(["tenant", "create", "--slug", "ab", "--name", "X"], /is invalid/);
  });

  it("refuses a missing name, a bad locale and a malformed token", async () => {
    await expectRefused(["tenant", "create", "--slug", "toko-y"], /--name is required/);
    await expectRefused(["tenant", "create", "--slug", "toko-y", "--name", "Y", "--locale", "fr"], /"fr" is not supported/);
    await expectRefused(["tenant", "create", "--slug", "toko-y", "--name", "Y", "--telegram-token", "nope"], /Telegram token/);
    await expectRefused(["tenant", "create", "--slug", "toko-y", "--name", "Y", "--timezone", "Mars/Base"], /timezone/);
  });

  it("refuses a token when ENCRYPTION_KEY is missing, writing nothing", async () => {
    await expectRefused(["tenant", "create", "--slug", "toko-z", "--name", "Z", "--telegram-token", token], /ENCRYPTION_KEY/, { ENCRYPTION_KEY: "" });
  });

  it("refuses an unknown tenant", async () => {
    await expectRefused(["tenant", "suspend", "toko-nope"], /store "toko-nope" not found/);
    await expectRefused(["member", "add", "--tenant", "toko-nope", "--channel", "telegram", "--user", "1", "--role", "admin"], /not found/);
  });

  it("refuses a bad role and a bad channel", async () => {
    await expectRefused(["member", "add", "--tenant", "toko-budi", "--channel", "telegram", "--user", "1", "--role", "boss"], /unknown role "boss"/);
    await expectRefused(["member", "add", "--tenant", "toko-budi", "--channel", "fax", "--user", "1", "--role", "admin"], /unknown channel "fax"/);
  });

  it("refuses an unknown command and a bad configuration in one line with exit code 2", async () => {
    await expectRefused(["frobnicate"], /unknown command: frobnicate/);
    const res = await expectRefused(["tenant", "list"], /HTTP_PORT/, { HTTP_PORT: "eighty" });
    assert.equal(res.stderr.trim().split("\n").length, 1);
  });

  it("changes a store's token, Telegram mode, payment methods and broadcast limits, audited without the token", async () => {
    await run(["tenant", "create", "--slug", "toko-ganti", "--name", "Toko Ganti", "--telegram-token", token]);
    await Tenant.updateOne({ slug: "toko-ganti" }, { $set: { "channels.telegram.revokedAt": new Date() } });
    const fresh = "987654321:BBHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";
    const res = await run(
      [
        "tenant", "set", "toko-ganti", "--name", "Toko Ganti Baru", "--telegram-token", fresh, "--telegram-mode", "webhook", "--payment-methods", "simulator,manual",
        "--broadcasts-per-day", "5", "--broadcast-recipients", "0",
      ],
      { PUBLIC_URL: "https://niaga.example" },
    );
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /Store toko-ganti updated: name, telegramMode, paymentMethods, broadcastsPerDay, broadcastRecipients, telegramToken\./);
    const tenant = await Tenant.findOne({ slug: "toko-ganti" }).lean();
    assert.equal(tenant?.name, "Toko Ganti Baru");
    assert.equal(tenant?.channels?.telegram?.mode, "webhook");
    assert.equal(tenant?.channels?.telegram?.revokedAt, undefined, "a new token clears the revocation");
    assert.deepEqual(tenant?.settings?.ordering?.paymentMethods, ["simulator", "manual"]);
    assert.equal(openTenantSecret(tenant!, "channels.telegram.token"), fresh);
    const audit = await AuditLog.findOne({ tenantId: tenant!._id, action: "tenant.update" }).lean();
    // The audit log names that the token changed; its value is redacted by key name.
    assert.deepEqual(audit?.before, { name: "Toko Ganti", telegramMode: "polling", paymentMethods: ["manual"], telegramToken: "[REDACTED]" });
    assert.deepEqual(audit?.after, {
      name: "Toko Ganti Baru", telegramMode: "webhook", paymentMethods: ["simulator", "manual"], broadcastsPerDay: 5, broadcastRecipients: 0, telegramToken: "[REDACTED]",
    });
    assert.ok(!JSON.stringify(audit).includes(fresh.split(":")[1]) && !res.stdout.includes(fresh), "the token is neither audited nor printed");
    assert.deepEqual(tenant?.limits?.broadcast, { perDay: 5, maxRecipients: 0 });

    const back = await run(["tenant", "set", "toko-ganti", "--broadcasts-per-day", "default"]);
    assert.equal(back.code, 0, back.stderr);
    const limits = (await Tenant.findOne({ slug: "toko-ganti" }).lean())?.limits?.broadcast;
    assert.deepEqual(limits, { maxRecipients: 0 }, "default: the platform's daily limit applies again; the other limit stays");
    // Two runs within one second are two processes, whose ids do not order them: the one with a name is the first.
    const audits = await AuditLog.find({ tenantId: tenant!._id, action: "tenant.update", "after.name": { $exists: false } }).lean();
    assert.deepEqual(audits.map((a) => [a.before, a.after]), [[{ broadcastsPerDay: 5 }, { broadcastsPerDay: "default" }]]);
  });

  it("refuses a bad Telegram mode, an unknown payment method, webhook mode without PUBLIC_URL, or nothing to set", async () => {
    await expectRefused(["tenant", "set", "toko-budi", "--telegram-mode", "carrier-pigeon"], /unknown Telegram mode "carrier-pigeon"/);
    await expectRefused(["tenant", "set", "toko-budi", "--payment-methods", "manual,bitcoin"], /unknown payment method "bitcoin"/);
    await expectRefused(["tenant", "set", "toko-budi", "--payment-methods", " , "], /unknown payment method/);
    await expectRefused(["tenant", "set", "toko-budi", "--telegram-mode", "webhook"], /webhook mode needs PUBLIC_URL/);
    await expectRefused(["tenant", "set", "toko-budi", "--broadcast-recipients", "2000000"], /--broadcast-recipients "2000000" is not valid: expected a whole number from 0 to 1000000/);
    const res = await expectRefused(["tenant", "set", "toko-budi"], /say what to change/);
    assert.match(res.stderr, /Usage: niaga tenant set S/);
    await expectRefused(["tenant", "set", "--name", "X"], /name the store's slug/);
    await expectRefused(["tenant", "set", "toko-nope", "--name", "X"], /store "toko-nope" not found/);
  });

  it("migrate creates every model's indexes, unique ones included", async () => {
    const indexes = async (collection: string) => (await mongoose.connection.db!.collection(collection).listIndexes().toArray()).map((i) => ({ key: i.key, unique: i.unique === true }));
    assert.ok((await indexes("tenants")).some((i) => JSON.stringify(i.key) === '{"slug":1}' && i.unique), "a store's slug is unique");
    assert.ok((await indexes("members")).some((i) => "tenantId" in i.key && i.unique), "a member is unique per store");
    assert.ok((await indexes("stock_items")).some((i) => "tenantId" in i.key), "stock is indexed by store");
    const again = await run(["migrate"]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /indexes/i);
  });

  it("rotate-key re-seals tokens and stock under the new key; without the old key it stops with a clear line", async () => {
    const { Product } = await import("../../flows/ordering/product.ts");
    const { addStockItems, StockItem } = await import("../../flows/ordering/stock-item.ts");
    const { keyIdOf, decryptSecret } = await import("../../storage/crypto.ts");
    const { stockPayloadContext } = await import("../../flows/ordering/stock-item.ts");
    await run(["tenant", "create", "--slug", "toko-kunci", "--name", "Toko Kunci", "--telegram-token", token]);
    const tenant = await Tenant.findOne({ slug: "toko-kunci" }).lean();
    const product = await Product.create({ tenantId: tenant!._id, code: "voucher", name: "Voucher", price: 10_000 });
    await addStockItems(tenant!._id, product._id, ["KODE-ROTASI-1", "KODE-ROTASI-2"]);

    const fresh = randomBytes(32);
    const refused = await run(["rotate-key"], { ENCRYPTION_KEY: fresh.toString("base64") });
    assert.equal(refused.code, 1, "secrets under a key it was not given cannot be re-sealed");
    assert.equal(refused.stderr.trim().split("\n").length, 1, refused.stderr);
    assert.doesNotMatch(refused.stderr, /\n\s+at /);

    const rotated = await run(["rotate-key"], { ENCRYPTION_KEY: fresh.toString("base64"), ENCRYPTION_KEYS_OLD: key.toString("base64") });
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.match(rotated.stdout, new RegExp(`every secret now uses key ${keyIdOf(fresh)}`));

    // Only the new key from here on: everything still opens, and nothing is sealed under the old one.
    configureEncryption(fresh);
    try {
      const after = await Tenant.findOne({ slug: "toko-kunci" }).lean();
      assert.equal(openTenantSecret(after!, "channels.telegram.token"), token);
      assert.ok(after!.channels!.telegram!.token!.startsWith(`v1.${keyIdOf(fresh)}.`));
      const items = await StockItem.find({ tenantId: tenant!._id }).lean().exec();
      assert.deepEqual(items.map((i) => decryptSecret(i.payload, stockPayloadContext(tenant!._id))).sort(), ["KODE-ROTASI-1", "KODE-ROTASI-2"]);
      assert.ok(items.every((i) => i.payload.startsWith(`v1.${keyIdOf(fresh)}.`)));
    } finally {
      configureEncryption(key, [fresh]);
    }
  });

  it("keeps the last owner of a store", async () => {
    assert.equal((await run(["member", "add", "--tenant", "toko-budi", "--channel", "telegram", "--user", "1", "--role", "owner"])).code, 0);
    await expectRefused(["member", "remove", "--tenant", "toko-budi", "--channel", "telegram", "--user", "1"], /at least one owner/);
    await expectRefused(["member", "add", "--tenant", "toko-budi", "--channel", "telegram", "--user", "1", "--role", "staff"], /at least one owner/);
  });
});
