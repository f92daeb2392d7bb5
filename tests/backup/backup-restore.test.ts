import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile, utimes, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import mongoose from "mongoose";
import { Binary, Decimal128, Double, Int32, Long, ObjectId, type Db } from "mongodb";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { payloadFor, seedStore, SMALL_CATALOGUE } from "../support/stores.ts";
import { LocalDestination } from "../../storage/backup/local-destination.ts";
import { createBackup } from "../../storage/backup/archive.ts";
import { verifyBackup } from "../../storage/backup/verify.ts";
import { extractFile } from "../../storage/backup/extract.ts";
import { decryptSecret } from "../../storage/crypto.ts";
import { openTenantSecret, Tenant } from "../../storage/models/index.ts";
import { stockPayloadContext } from "../../flows/ordering/stock-item.ts";
import { restoreBackup } from "../../storage/backup/restore.ts";
import { BackupError, type BackupErrorReason } from "../../storage/backup/errors.ts";
import { BACKUP_SCHEMA_VERSION, DATABASE_FILE, MANIFEST_FILE, signManifest, type Manifest } from "../../storage/backup/manifest.ts";

const token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";
const customerName = "Siti Rahmawati Purnamasari";

/** Every collection's documents (sorted by _id) and index names. */
async function snapshot(db: Db) {
  const out: Record<string, { docs: unknown[]; indexes: string[] }> = {};
  for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
    if (name.startsWith("system.")) continue;
    const docs = await db.collection(name).find({}, { promoteValues: false }).sort({ _id: 1 }).toArray();
    const indexes = (await db.collection(name).listIndexes().toArray()).map((ix) => String(ix.name)).sort();
    out[name] = { docs, indexes };
  }
  return out;
}

describe("backups: create, verify and restore through a local directory", () => {
  let test: TestDatabase;
  let db: Db;
  let dir: string;
  let local: LocalDestination;
  const backupKey = randomBytes(32);
  let slug = "";

  before(async () => {
    test = await openTestDatabase("backup");
    db = mongoose.connection.db!;
    dir = await mkdtemp(join(tmpdir(), "niaga-backup-"));
    local = new LocalDestination(join(dir, "backups"));
    const store = await seedStore({ name: "Toko Budi", products: SMALL_CATALOGUE, members: { "owner-1": "owner" }, telegram: { token } });
    slug = store.slug;
    await db.collection("orders").insertMany([
      {
        tenantId: store.tenant,
        customer: { channel: "telegram", channelUserId: "777", name: customerName },
        status: "paid",
        total: Decimal128.fromString("35000.00"),
        seq: Long.fromNumber(2 ** 40),
        weight: new Double(2 ** 40),
        small: new Int32(7),
        proof: new Binary(Buffer.from([0, 1, 2, 250])),
        createdAt: new Date("2026-11-30T10:00:00Z"),
        refs: [new ObjectId()],
      },
      { tenantId: store.tenant, customer: { channel: "telegram", channelUserId: "778", name: "Budi" }, status: "pending", total: 11000 },
    ]);
    await db.createCollection("empty_but_kept");
  });
  after(async () => {
    await test.close();
    await rm(dir, { recursive: true, force: true });
  });

  const make = () => createBackup(db, local, { backupKey });

  it("round trip: every collection's documents and indexes come back exactly, and an empty collection too", async () => {
    const before = await snapshot(db);
    assert.ok(Object.keys(before).length >= 5, `collections: ${Object.keys(before).join(", ")}`);
    const manifest = await make();
    assert.equal(manifest.schemaVersion, BACKUP_SCHEMA_VERSION);
    assert.equal(manifest.collections.orders, 2);
    assert.equal(manifest.collections.empty_but_kept, 0);
    const report = await verifyBackup(local, manifest.id, { backupKey });
    assert.deepEqual(report.problems.map((p) => p.message), []);
    assert.deepEqual(report.counts, manifest.collections);

    for (const name of Object.keys(before)) await db.collection(name).drop();
    assert.deepEqual(await snapshot(db), {});
    const dry = await restoreBackup(local, manifest.id, { backupKey, into: db, dryRun: true });
    assert.ok(dry.collections.every((c) => c.current === 0 && c.backup === manifest.collections[c.name]));
    assert.deepEqual(await snapshot(db), {}, "a dry run writes nothing");
    await restoreBackup(local, manifest.id, { backupKey, into: db, dryRun: false });
    const after = await snapshot(db);
    assert.deepEqual(Object.keys(after).sort(), Object.keys(before).sort(), "every collection is back, none skipped");
    assert.deepEqual(after, before);
    const order = await db.collection("orders").findOne({ status: "paid" }, { promoteValues: false });
    // Sealed data opens with the data key after the restore: the token and each stock item.
    const tenant = await Tenant.findOne({ slug }).lean();
    assert.equal(openTenantSecret(tenant!, "channels.telegram.token"), token);
    const item = await db.collection("stock_items").findOne({ tenantId: tenant!._id, productId: (await db.collection("products").findOne({ code: "pulsa-10k" }))!._id });
    assert.match(decryptSecret(String(item!.payload), stockPayloadContext(tenant!._id)), new RegExp(`^SECRET-${slug}-pulsa-10k-\\d$`));
    // (The embedded server keeps a Long as a Double; `after` equals `before` read with promoteValues off, so types survive as stored.)
    const type = (v: unknown) => (v as { _bsontype?: string })._bsontype;
    assert.deepEqual([type(order?.total), type(order?.weight), type(order?.small), type(order?.proof), order?.createdAt instanceof Date], ["Decimal128", "Double", "Int32", "Binary", true]);
  });

  it("restores over a live database that changed since, replacing what changed", async () => {
    const manifest = await make();
    const before = await snapshot(db);
    await db.collection("orders").deleteMany({});
    await db.collection("products").insertOne({ code: "new-after-backup" });
    const dry = await restoreBackup(local, manifest.id, { backupKey, into: db, dryRun: true });
    assert.deepEqual(dry.collections.find((c) => c.name === "orders"), { name: "orders", current: 0, backup: 2 });
    await restoreBackup(local, manifest.id, { backupKey, into: db, dryRun: false });
    assert.deepEqual(await snapshot(db), before);
  });

  it("the files hold no plaintext of a stock item, a token or a customer's name", async () => {
    const envFile = join(dir, "niaga.env");
    await writeFile(envFile, `TELEGRAM_TOKEN_NOTE=${token}\n`);
    const logDir = join(dir, "logs");
    await mkdir(logDir);
    await writeFile(join(logDir, "niaga.log"), `{"msg":"order for ${customerName}"}\n`);
    await writeFile(join(logDir, "old.log"), "ancient\n");
    const old = new Date(Date.now() - 30 * 24 * 3600 * 1000);
    await utimes(join(logDir, "old.log"), old, old);
    const manifest = await createBackup(db, local, { backupKey, envFile, logDir });
    assert.deepEqual(manifest.files.map((f) => f.name).sort(), ["config.env.enc", DATABASE_FILE, "logs.enc"]);
    const folder = join(local.dir, manifest.id);
    const needles = [payloadFor(slug, "pulsa-10k", 0), token, customerName, "Siti", "SECRET-"];
    for (const file of await readdir(folder)) {
      const bytes = await readFile(join(folder, file));
      for (const needle of needles) {
        for (const form of [needle, Buffer.from(needle).toString("base64")]) {
          assert.equal(bytes.includes(form), false, `${file} contains ${needle}`);
        }
      }
    }
    assert.equal((await verifyBackup(local, manifest.id, { backupKey })).ok, true);
    let logs = "";
    for await (const chunk of await extractFile(local, manifest.id, "logs.enc", backupKey)) logs += String(chunk);
    assert.match(logs, /^==> niaga\.log \(\d+ bytes, .+\) <==\n\{"msg":"order for Siti Rahmawati Purnamasari"\}\n/);
    assert.doesNotMatch(logs, /ancient/, "a log file older than 7 days is left out");
  });

  describe("a backup that cannot be trusted is refused with its own reason, and the database is unchanged", () => {
    const refused = async (id: string, reason: BackupErrorReason, message: RegExp, key = backupKey) => {
      const before = await snapshot(db);
      const report = await verifyBackup(local, id, { backupKey: key });
      assert.equal(report.ok, false);
      assert.equal(report.problems[0]?.reason, reason, report.problems.map((p) => p.message).join("; "));
      await assert.rejects(restoreBackup(local, id, { backupKey: key, into: db, dryRun: false }), (err: unknown) => {
        assert.ok(err instanceof BackupError, String(err));
        assert.equal(err.reason, reason);
        assert.match(err.message, message);
        return true;
      });
      assert.deepEqual(await snapshot(db), before);
    };
    const path = (id: string, file: string) => join(local.dir, id, file);

    it("a flipped byte: tampered", async () => {
      const { id } = await make();
      const bytes = await readFile(path(id, DATABASE_FILE));
      bytes[Math.floor(bytes.length / 2)] ^= 0x01;
      await writeFile(path(id, DATABASE_FILE), bytes);
      await refused(id, "tampered", /db\.ndjson\.gz\.enc has been changed or is corrupt/);
    });

    it("a truncated file: truncated", async () => {
      const { id } = await make();
      const bytes = await readFile(path(id, DATABASE_FILE));
      await writeFile(path(id, DATABASE_FILE), bytes.subarray(0, bytes.length - 40));
      await refused(id, "truncated", /is truncated/);
    });

    it("another backup key: wrong key", async () => {
      const { id } = await make();
      await refused(id, "wrong_key", /another backup key/, randomBytes(32));
    });

    it("a changed manifest (a count edited): manifest tampered", async () => {
      const { id } = await make();
      const stored = JSON.parse(await readFile(path(id, MANIFEST_FILE), "utf8")) as { manifest: Manifest; hmac: string };
      stored.manifest.collections.orders = 99;
      await writeFile(path(id, MANIFEST_FILE), JSON.stringify(stored));
      await refused(id, "manifest_tampered", /HMAC does not match/);
    });

    it("a file made under the same key but swapped in from another backup: tampered", async () => {
      const a = await make();
      await db.collection("orders").insertOne({ status: "extra" });
      const b = await make();
      await db.collection("orders").deleteOne({ status: "extra" });
      await writeFile(path(a.id, DATABASE_FILE), await readFile(path(b.id, DATABASE_FILE)));
      await refused(a.id, "tampered", /SHA-256 does not match/);
    });

    it("a backup made by a newer schema: newer schema", async () => {
      const { id } = await make();
      const stored = JSON.parse(await readFile(path(id, MANIFEST_FILE), "utf8")) as { manifest: Manifest };
      await local.put(id, MANIFEST_FILE, Readable.from([signManifest({ ...stored.manifest, schemaVersion: BACKUP_SCHEMA_VERSION + 1 }, backupKey)]));
      const before = await snapshot(db);
      await assert.rejects(restoreBackup(local, id, { backupKey, into: db, dryRun: true }), (err: unknown) => {
        assert.ok(err instanceof BackupError && err.reason === "newer_schema", String(err));
        assert.match(err.message, /newer version of Niaga/);
        return true;
      });
      assert.deepEqual(await snapshot(db), before);
    });

    it("a file swapped after it was verified, while it is being restored: tampered, and the live collections are left as they were", async () => {
      const a = await make();
      await db.collection("orders").insertOne({ status: "extra" });
      const b = await make();
      await db.collection("orders").deleteOne({ status: "extra" });
      // The third read of the database file (after the hash check and the count) is the restore's own.
      let reads = 0;
      const swapping = new (class extends LocalDestination {
        override get(id: string, file: string) {
          if (file === DATABASE_FILE && ++reads === 3) return super.get(b.id, file);
          return super.get(id, file);
        }
      })(local.dir);
      const before = await snapshot(db);
      await assert.rejects(restoreBackup(swapping, a.id, { backupKey, into: db, dryRun: false }), (err: unknown) => {
        assert.ok(err instanceof BackupError && err.reason === "tampered", String(err));
        assert.match(err.message, /changed while it was being restored/);
        return true;
      });
      assert.equal(reads, 3);
      assert.deepEqual(await snapshot(db), before, "live collections unchanged, no __restoring collection left");
    });

    it("a missing file: missing", async () => {
      const { id } = await make();
      await rm(path(id, DATABASE_FILE));
      await refused(id, "missing", /is not at/);
    });
  });

  it("verify with a scratch database restores there and compares the counts", async () => {
    const manifest = await make();
    const scratchUri = test.uri.replace(/\/([^/?]+)(\?|$)/, "/$1_scratch$2");
    const report = await verifyBackup(local, manifest.id, { backupKey, scratchUri });
    assert.deepEqual(report.problems.map((p) => p.message), []);
    assert.deepEqual(report.scratchCounts, manifest.collections);
  });

  it("lists backups newest first, and removes one", async () => {
    const list = await local.list();
    assert.ok(list.length >= 3);
    assert.deepEqual(list.map((b) => b.id), list.map((b) => b.id).sort().reverse());
    assert.ok(list[0]!.files.some((f) => f.name === MANIFEST_FILE && f.size > 0));
    await local.remove(list[0]!.id);
    assert.equal((await local.list()).some((b) => b.id === list[0]!.id), false);
    await local.remove(list[0]!.id);
  });
});
