import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { DatabaseUnreachableError, connectMongo } from "../../storage/connection.ts";
import { AuditLog, Tenant, nextSequence, openTenantSecret, recordAudit, sealTenantSecret } from "../../storage/models/index.ts";
import { Keyring, configureEncryption, keyIdOfCiphertext } from "../../storage/crypto.ts";
import { rotateSecrets } from "../../storage/secret-fields.ts";

describe("storage", () => {
  let db: TestDatabase;
  before(async () => {
    db = await openTestDatabase();
  });
  after(async () => {
    await db.close();
  });

  it("hands out order numbers 1..50 exactly once to 50 concurrent orders, per tenant", async () => {
    const a = await Tenant.create({ slug: "seq-a", name: "A" });
    const b = await Tenant.create({ slug: "seq-b", name: "B" });
    const numbers = await Promise.all(Array.from({ length: 50 }, () => nextSequence(a._id, "order")));
    assert.deepEqual([...numbers].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i + 1));
    assert.equal(await nextSequence(b._id, "order"), 1);
    assert.equal(await nextSequence(a._id, "ticket"), 1);
  });

  it("refuses a second store with the same slug (unique index, 11000)", async () => {
    await Tenant.create({ slug: "unik", name: "Unik" });
    await assert.rejects(() => Tenant.create({ slug: "unik", name: "Unik 2" }), (err: any) => err.code === 11000 && err.keyValue?.slug === "unik");
  });

  it("rotates every tenant secret to the new key, and a second run has nothing to do", async () => {
    const oldKey = randomBytes(32);
    configureEncryption(oldKey);
    const tokens = new Map<string, string>();
    for (let i = 0; i < 5; i++) {
      const t = new Tenant({ slug: `rot-${i}`, name: `Rot ${i}` });
      const token = `${100000 + i}:${randomBytes(24).toString("base64url")}`;
      t.set("channels.telegram.token", sealTenantSecret(t, "channels.telegram.token", token));
      t.set("channels.whatsapp.credentials", sealTenantSecret(t, "channels.whatsapp.credentials", `{"creds":${i}}`));
      await t.save();
      tokens.set(t.slug, token);
    }
    const newKey = randomBytes(32);
    const ring = configureEncryption(newKey, [oldKey]);
    const report = await rotateSecrets(ring);
    const tenantReport = report.find((r) => r.model === "Tenant")!;
    assert.equal(tenantReport.resealed, 5);

    configureEncryption(newKey); // the old key is gone now
    for (const [slug, token] of tokens) {
      const t = (await Tenant.findOne({ slug }).lean())!;
      assert.equal(keyIdOfCiphertext(t.channels!.telegram!.token!), ring.currentId);
      assert.equal(openTenantSecret(t, "channels.telegram.token"), token);
      assert.equal(openTenantSecret(t, "channels.whatsapp.credentials")?.startsWith('{"creds":'), true);
    }
    assert.equal((await rotateSecrets(new Keyring(newKey))).find((r) => r.model === "Tenant")!.resealed, 0);
  });

  it("keeps secrets out of the audit log", async () => {
    const t = await Tenant.create({ slug: "audit-x", name: "Audit" });
    await recordAudit({
      tenantId: t._id,
      actor: { channel: "telegram", userId: "42" },
      action: "settings.update",
      target: { type: "tenant", id: "audit-x" },
      before: { token: "123:abc", nested: { stockPayload: "user:pass" } },
      after: { name: "ok", items: [{ password: "p" }] },
      where: "telegram",
    });
    const entry = await AuditLog.findOne({ tenantId: t._id }).lean();
    const text = JSON.stringify(entry);
    assert.ok(!text.includes("123:abc") && !text.includes("user:pass") && !text.includes('"p"'));
    assert.equal((entry!.after as any).name, "ok");
  });
});

describe("connecting to an unreachable MongoDB", () => {
  it("gives up after the bounded retries with one clear line and no password", async () => {
    // A port that accepts nothing: bind, note the port, close.
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, "127.0.0.1", () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const retries: number[] = [];
    await assert.rejects(
      () => connectMongo(`mongodb://admin:hunter2@127.0.0.1:${port}/niaga`, { attempts: 3, delayMs: 10, serverSelectionTimeoutMS: 200, onRetry: (n) => retries.push(n) }),
      (err: Error) => {
        assert.ok(err instanceof DatabaseUnreachableError);
        assert.match(err.message, /unreachable after 3 attempts/);
        assert.ok(!err.message.includes("hunter2"));
        assert.ok(!err.message.includes("\n"));
        return true;
      },
    );
    assert.deepEqual(retries, [1, 2]);
  });
});
