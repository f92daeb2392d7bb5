// `niaga whatsapp` as an operator runs it, as a child process: wrong commands answer their
// usage with exit 2 and write nothing, a phone number without its country code is refused
// with the form expected, and `status` lists every store's number, state and session owner.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { whatsappSessionLeaseKey } from "../../bots/channels.ts";
import { createMongoLeases } from "../../storage/leases.ts";
import { AuditLog, Member, Tenant } from "../../storage/models/index.ts";
import { createMongoWhatsAppIdentities } from "../../storage/whatsapp/identities.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { runNiaga, type NiagaRun } from "../support/niaga-process.ts";

const key = randomBytes(32);

describe("niaga whatsapp", () => {
  let db: TestDatabase;
  const run = (args: string[], env: Record<string, string> = {}): Promise<NiagaRun> =>
    runNiaga(["whatsapp", ...args], { MONGODB_URI: db.uri, ENCRYPTION_KEY: key.toString("base64"), DEFAULT_LOCALE: "en", ...env });
  const refused = async (args: string[], message: RegExp, usage: RegExp) => {
    const audits = await AuditLog.countDocuments({}).setOptions({ crossTenant: true });
    const res = await run(args);
    assert.equal(res.code, 2, `exit code of ${args.join(" ")}: ${res.stderr}`);
    assert.match(res.stderr, message, args.join(" "));
    assert.match(res.stderr, usage, `${args.join(" ")} shows its usage`);
    assert.doesNotMatch(res.stderr, /\n\s+at /, "no stack trace");
    assert.equal(res.stdout, "");
    assert.equal(await AuditLog.countDocuments({}).setOptions({ crossTenant: true }), audits, "nothing written");
  };

  before(async () => {
    db = await openTestDatabase("whatsapp_cli", { encryptionKey: key });
  });
  after(async () => {
    await db?.close();
  });

  it("a wrong command, flag or store shows the usage and exits 2", async () => {
    const usage = /Usage: niaga whatsapp link --tenant S \[--phone NUMBER\] \| status \[--tenant S\] \| unlink --tenant S/;
    await refused([], /missing a subcommand|subcommand/i, usage);
    await refused(["pair"], /pair/, usage);
    await refused(["link"], /--tenant/, /Usage: niaga whatsapp link --tenant S \[--phone NUMBER\]/);
    await refused(["link", "--tenant", "toko-x", "--qr"], /--qr/, /Usage: niaga whatsapp link/);
    await refused(["unlink"], /--tenant/, /Usage: niaga whatsapp unlink --tenant S/);
    await refused(["unlink", "--tenant", "toko-tidak-ada"], /toko-tidak-ada/, /Usage: niaga whatsapp unlink/);
    await refused(["status", "--tenant", "toko-tidak-ada"], /toko-tidak-ada/, usage);
    await refused(["link", "--tenant", "toko-tidak-ada"], /toko-tidak-ada/, /Usage: niaga whatsapp link/);
  });

  it("a phone number needs its country code: 0812… is refused saying so, and so is anything that is not a number", async () => {
    await refused(["link", "--tenant", "toko-x", "--phone", "0812-3456-7890"], /"0812-3456-7890" has no country code: write \+62 812… rather than 0812…/, /Usage: niaga whatsapp link/);
    await refused(["link", "--tenant", "toko-x", "--phone", "toko"], /"toko" is not a phone number/, /Usage: niaga whatsapp link/);
    await refused(["link", "--tenant", "toko-x", "--phone", "+62 81"], /is not a phone number/, /Usage: niaga whatsapp link/);
  });

  it("niaga help lists the whatsapp commands", async () => {
    const res = await runNiaga(["help"], { DEFAULT_LOCALE: "en" });
    assert.equal(res.code, 0);
    assert.match(res.stdout, /whatsapp link --tenant S \[--phone NUMBER\] \| status \[--tenant S\] \| unlink --tenant S/);
  });

  it("status lists each store's number, its state and the instance that owns its session", async () => {
    const linked = await Tenant.create({ slug: "toko-wa", name: "Toko WA", channels: { whatsapp: { status: "linked", phone: "6281234567890", statusAt: new Date("2026-12-03T06:00:00Z"), statusReason: "linked", linkedAt: new Date() } } });
    await Tenant.create({ slug: "toko-lepas", name: "Toko Lepas", channels: { whatsapp: { status: "logged-out", phone: "6289876543210", statusReason: "401 logged out" } } });
    await Tenant.create({ slug: "toko-baru", name: "Toko Baru" });
    const leases = createMongoLeases({ holder: "server-a:1234:abc" });
    assert.ok(await leases.acquire(whatsappSessionLeaseKey(String(linked._id)), 60_000));

    const all = await run(["status"]);
    assert.equal(all.code, 0, all.stderr);
    const lines = all.stdout.trim().split("\n");
    assert.match(lines[0]!, /^slug\s+status\s+phone\s+session\s+since\s+reason$/);
    assert.match(all.stdout, /toko-wa\s+linked\s+\+62 812-3456-7890\s+server-a:1234:abc\s+2026-12-03 06:00 UTC\s+linked/);
    assert.match(all.stdout, /toko-lepas\s+logged-out\s+\+62 898-7654-3210\s+-\s+-\s+401 logged out/);
    assert.match(all.stdout, /toko-baru\s+unlinked\s+-\s+-\s+-/);

    const one = await run(["status", "--tenant", "toko-lepas"]);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(one.stdout.trim().split("\n").length, 2);
    assert.match(one.stdout, /toko-lepas\s+logged-out/);
  });

  it("a WhatsApp seller is added by phone number: the member is the person the channel knows by that number, by phone or LID", async () => {
    const store = await Tenant.create({ slug: "toko-penjual", name: "Toko Penjual" });
    const added = await runNiaga(["member", "add", "--tenant", "toko-penjual", "--channel", "whatsapp", "--user", "+62 812-5555-0101", "--role", "owner"], { MONGODB_URI: db.uri, ENCRYPTION_KEY: key.toString("base64"), DEFAULT_LOCALE: "en" });
    assert.equal(added.code, 0, added.stderr);
    const member = await Member.findOne({ tenantId: store._id, channel: "whatsapp" }).lean();
    assert.match(member?.channelUserId ?? "", /^wa:/, "stored under the channel's id, not the number");
    const identities = createMongoWhatsAppIdentities();
    const jid = "6281255550101@s.whatsapp.net";
    assert.equal(await identities.resolve(String(store._id), { pn: jid }, jid), member?.channelUserId, "a message by phone number comes from the member");
    assert.equal(await identities.resolve(String(store._id), { lid: "99887766@lid", pn: jid }, "99887766@lid"), member?.channelUserId, "and by LID with the number alongside");
    const local = await runNiaga(["member", "add", "--tenant", "toko-penjual", "--channel", "whatsapp", "--user", "0812-5555-0101", "--role", "admin"], { MONGODB_URI: db.uri, ENCRYPTION_KEY: key.toString("base64"), DEFAULT_LOCALE: "en" });
    assert.equal(local.code, 2);
    assert.match(local.stderr, /no country code/);
    assert.equal(await Member.countDocuments({ tenantId: store._id }), 1, "nothing added for the refused number");
  });
});
