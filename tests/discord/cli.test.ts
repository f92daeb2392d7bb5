// `niaga tenant set SLUG --discord-guild ID|none`: the operator binds a store to its Discord
// server (audited), unlinks it, and is refused a malformed id or a server another store has.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { runNiaga, type NiagaRun } from "../support/niaga-process.ts";
import { AuditLog, Tenant } from "../../storage/models/index.ts";
import { GUILD_AUDIT } from "../../storage/discord/guild-links.ts";

const key = randomBytes(32);
const GUILD = "1045678901234567890";
const OTHER_GUILD = "1045678901234567891";

describe("niaga tenant set --discord-guild", () => {
  let db: TestDatabase;
  const run = (args: string[]): Promise<NiagaRun> => runNiaga(args, { MONGODB_URI: db.uri, ENCRYPTION_KEY: key.toString("base64"), DEFAULT_LOCALE: "en" });
  const guildOf = async (slug: string) => (await Tenant.findOne({ slug }).lean())?.channels?.discord?.guildId;

  before(async () => {
    db = await openTestDatabase("discord_cli", { encryptionKey: key });
    for (const slug of ["toko-rina", "toko-dewi"]) await Tenant.create({ slug, name: slug });
  });
  after(() => db.close());

  it("binds the store to the guild, audited, shows it in the list, and unlinks it with none", async () => {
    const res = await run(["tenant", "set", "toko-rina", "--discord-guild", GUILD]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /Store toko-rina updated: discordGuild\./);
    const tenant = await Tenant.findOne({ slug: "toko-rina" }).lean();
    assert.equal(tenant?.channels?.discord?.guildId, GUILD);
    assert.match(tenant?.channels?.discord?.linkedBy ?? "", /^cli:/);
    const linked = await AuditLog.findOne({ tenantId: tenant!._id, action: GUILD_AUDIT.link }).lean();
    assert.deepEqual(linked?.after, { guildId: GUILD });
    assert.equal(linked?.where, "cli");

    const list = await run(["tenant", "list"]);
    assert.match(list.stdout, new RegExp(`toko-rina\\s.*discord\\(${GUILD}\\)`));

    const moved = await run(["tenant", "set", "toko-rina", "--discord-guild", OTHER_GUILD]);
    assert.equal(moved.code, 0, moved.stderr);
    assert.equal(await guildOf("toko-rina"), OTHER_GUILD);
    assert.equal(await AuditLog.countDocuments({ tenantId: tenant!._id, action: GUILD_AUDIT.unlink, "target.id": GUILD }), 1, "the old guild's unlink is audited");

    const unlinked = await run(["tenant", "set", "toko-rina", "--discord-guild", "none"]);
    assert.equal(unlinked.code, 0, unlinked.stderr);
    assert.equal(await guildOf("toko-rina"), undefined);
    assert.equal(await AuditLog.countDocuments({ tenantId: tenant!._id, action: GUILD_AUDIT.unlink, "target.id": OTHER_GUILD }), 1);
  });

  it("refuses a malformed id and a guild another store has, with exit code 2 and nothing changed", async () => {
    for (const bad of ["12345", "guild-1", "1045678901234567890123"]) {
      const res = await run(["tenant", "set", "toko-dewi", "--discord-guild", bad]);
      assert.equal(res.code, 2, res.stderr);
      assert.match(res.stderr, /is not a Discord server id: expected 17 to 20 digits/);
      assert.match(res.stderr, /Usage: niaga tenant set S/);
    }
    assert.equal((await run(["tenant", "set", "toko-rina", "--discord-guild", GUILD])).code, 0);
    const audits = await AuditLog.countDocuments({}).setOptions({ crossTenant: true });
    const taken = await run(["tenant", "set", "toko-dewi", "--name", "Toko Dewi", "--discord-guild", GUILD]);
    assert.equal(taken.code, 2);
    assert.match(taken.stderr, new RegExp(`Discord server ${GUILD} is already linked to store toko-rina; unlink it there first: niaga tenant set toko-rina --discord-guild none`));
    assert.doesNotMatch(taken.stderr, /\n\s+at /, "no stack trace");
    assert.equal(await guildOf("toko-dewi"), undefined);
    assert.equal((await Tenant.findOne({ slug: "toko-dewi" }).lean())?.name, "toko-dewi", "nothing else changed either");
    assert.equal(await AuditLog.countDocuments({}).setOptions({ crossTenant: true }), audits);
  });
});
