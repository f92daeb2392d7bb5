// One-time codes that link a guild to a store: short and typable, stored hashed, one live
// per store, redeemed once, expired and wrong codes indistinguishable, guessing limited.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import mongoose, { Types } from "mongoose";
import { useTestDatabase } from "../support/mongo.ts";
import { eventually } from "../support/eventually.ts";
import { createMongoLinkCodes, LINK_CODE_ALPHABET, normalizeLinkCode } from "../../storage/discord/link-codes.ts";

useTestDatabase("discord_link_codes");
const newStore = () => new Types.ObjectId().toHexString();
let n = 0;
const someone = () => ({ guildId: `11${String(++n).padStart(16, "0")}`, userId: `22${String(n).padStart(16, "0")}` });
const rows = () => mongoose.connection.collection("discord_link_codes");

describe("a guild link code", () => {
  it("is 8 characters without look-alikes, expires in 15 minutes, and only its hash is stored", async () => {
    const codes = createMongoLinkCodes();
    const store = newStore();
    const before = Date.now();
    const { code, expiresAt } = await codes.issue(store, "telegram:111");
    assert.match(code, new RegExp(`^[${LINK_CODE_ALPHABET}]{8}$`));
    assert.doesNotMatch(code, /[01OIL]/);
    assert.ok(Math.abs(expiresAt.getTime() - before - 15 * 60_000) < 5_000);
    const stored = await rows().findOne({ tenantId: new Types.ObjectId(store) });
    assert.ok(stored);
    assert.ok(!JSON.stringify(stored).includes(code), "the code itself is not stored");
    assert.deepEqual(await codes.live(store), expiresAt);
  });

  it("is typed case-insensitively, with spaces or dashes, and names its store once; a second redeem fails", async () => {
    const codes = createMongoLinkCodes();
    const store = newStore();
    const { code } = await codes.issue(store, "telegram:111");
    const typed = `${code.slice(0, 4).toLowerCase()}-${code.slice(4)} `;
    assert.equal(normalizeLinkCode(typed), code);
    assert.deepEqual(await codes.redeem(typed, someone()), { ok: true, tenantId: store, issuedBy: "telegram:111" });
    assert.deepEqual(await codes.redeem(code, someone()), { ok: false, reason: "invalid" });
    assert.equal(await codes.live(store), undefined);
  });

  it("redeemed by two people at once goes to exactly one of them", async () => {
    const codes = createMongoLinkCodes();
    const { code } = await codes.issue(newStore(), "telegram:111");
    const results = await Promise.all(Array.from({ length: 5 }, () => codes.redeem(code, someone())));
    assert.equal(results.filter((r) => r.ok).length, 1);
  });

  it("issued again replaces the previous code", async () => {
    const codes = createMongoLinkCodes();
    const store = newStore();
    const first = await codes.issue(store, "telegram:111");
    const second = await codes.issue(store, "telegram:111");
    assert.notEqual(first.code, second.code);
    assert.equal(await rows().countDocuments({ tenantId: new Types.ObjectId(store) }), 1, "one live code per store");
    assert.deepEqual(await codes.redeem(first.code, someone()), { ok: false, reason: "invalid" });
    assert.equal((await codes.redeem(second.code, someone())).ok, true);
  });

  it("expired answers exactly like a wrong code or nonsense", async () => {
    let now = new Date();
    const codes = createMongoLinkCodes({ clock: () => now });
    const { code } = await codes.issue(newStore(), "telegram:111");
    now = new Date(now.getTime() + 15 * 60_000 + 1);
    const expired = await codes.redeem(code, someone());
    const wrong = await codes.redeem("ZZZZ2222", someone());
    const nonsense = await codes.redeem("hello", someone());
    assert.deepEqual(expired, { ok: false, reason: "invalid" });
    assert.deepEqual(wrong, expired);
    assert.deepEqual(nonsense, expired);
  });

  it("is removed from the database once expired", async () => {
    const store = newStore();
    await createMongoLinkCodes({ ttlMs: 1 }).issue(store, "telegram:111");
    await eventually(async () => (await rows().countDocuments({ tenantId: new Types.ObjectId(store) })) === 0, "the expired code to be removed");
  });

  it("stops a user guessing after a few tries, and a guild after a few more, even for the right code", async () => {
    const codes = createMongoLinkCodes({ limits: { perGuild: 4, perUser: 2, windowMs: 60_000 } });
    const { code } = await codes.issue(newStore(), "telegram:111");
    const guildId = someone().guildId;
    const guesser = { guildId, userId: "3300000000000000001" };
    assert.equal((await codes.redeem("AAAA2222", guesser)).ok, false);
    assert.equal((await codes.redeem("AAAA3333", guesser)).ok, false);
    const third = await codes.redeem(code, guesser);
    assert.equal(third.ok, false);
    assert.equal(!third.ok && third.reason, "too-many-tries");
    const other = { guildId, userId: "3300000000000000002" };
    assert.equal((await codes.redeem("AAAA4444", other)).ok, false);
    const guildSpent = await codes.redeem(code, other);
    assert.equal(!guildSpent.ok && guildSpent.reason, "too-many-tries", "the guild's budget is spent too");
    assert.equal((await codes.redeem(code, someone())).ok, true, "the code itself still works from elsewhere");
  });

  it("revoked stops working", async () => {
    const codes = createMongoLinkCodes();
    const store = newStore();
    const { code } = await codes.issue(store, "telegram:111");
    await codes.revoke(store);
    assert.deepEqual(await codes.redeem(code, someone()), { ok: false, reason: "invalid" });
  });
});
