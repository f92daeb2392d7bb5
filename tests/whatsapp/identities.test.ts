// A WhatsApp customer keeps one id per store whichever address they write from: phone number
// or LID, in either order, linked by a message carrying both or by Baileys' lid mapping; two
// first messages at once do not make two customers; and replies go where they last wrote from.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import mongoose, { Types } from "mongoose";
import { useTestDatabase } from "../support/mongo.ts";
import { createMongoWhatsAppIdentities } from "../../storage/whatsapp/identities.ts";

useTestDatabase("whatsapp_identities");
const identities = createMongoWhatsAppIdentities();
const newStore = () => new Types.ObjectId().toHexString();
let n = 0;
const person = () => {
  n++;
  return { lid: `${100000000000000 + n}@lid`, pn: `62812${String(n).padStart(8, "0")}@s.whatsapp.net` };
};
const contacts = () => mongoose.connection.collection("whatsapp_contacts");

describe("a WhatsApp customer's stable id", () => {
  it("is wa: and a random part, never an address, and the same on every message from that address", async () => {
    const store = newStore();
    const { pn } = person();
    const id = await identities.resolve(store, { pn }, pn);
    assert.match(id, /^wa:[A-Za-z0-9_-]{16}$/);
    assert.ok(!id.includes(pn.split("@")[0]!));
    assert.equal(await identities.resolve(store, { pn }, pn), id);
    assert.notEqual(await identities.resolve(newStore(), { pn }, pn), id, "each store has its own customers");
  });

  it("stays the same when a customer first seen by number later writes by LID with the number alongside, and after that by LID alone", async () => {
    const store = newStore();
    const { lid, pn } = person();
    const id = await identities.resolve(store, { pn }, pn);
    assert.equal(await identities.resolve(store, { lid, pn }, lid), id);
    assert.equal(await identities.resolve(store, { lid }, lid), id);
    assert.equal(await identities.replyJid(store, id), lid, "answers go where the customer last wrote from");
  });

  it("stays the same when first seen by LID and then by number, and ignores the device part of an address", async () => {
    const store = newStore();
    const { lid, pn } = person();
    const id = await identities.resolve(store, { lid: lid.replace("@", ":7@") }, lid);
    assert.equal(await identities.resolve(store, { lid, pn: pn.replace("@", ":3@") }, pn), id);
    assert.equal(await identities.resolve(store, { pn }, pn), id);
    assert.equal(await identities.replyJid(store, id), pn);
  });

  it("joins the two addresses through Baileys' lid mapping before any message carried both", async () => {
    const store = newStore();
    const { lid, pn } = person();
    const id = await identities.resolve(store, { lid }, lid);
    await identities.link(store, lid, pn);
    assert.equal(await identities.resolve(store, { pn }, pn), id);

    const other = person();
    await identities.link(store, other.lid, other.pn);
    const linked = await identities.resolve(store, { pn: other.pn }, other.pn);
    assert.equal(await identities.resolve(store, { lid: other.lid }, other.lid), linked, "a mapping heard before the first message");
  });

  it("keeps the older id when two customers turn out to be one person, for both addresses, and still answers for the younger id", async () => {
    const store = newStore();
    const { lid, pn } = person();
    const older = await identities.resolve(store, { pn }, pn);
    const younger = await identities.resolve(store, { lid }, lid);
    assert.notEqual(older, younger);
    assert.equal(await identities.resolve(store, { lid, pn }, lid), older);
    assert.equal(await identities.resolve(store, { lid }, lid), older);
    assert.equal(await identities.resolve(store, { pn }, pn), older);
    assert.equal(await identities.replyJid(store, older), pn);
    assert.equal(await identities.replyJid(store, younger), pn, "the younger id's chat is answered where the person last wrote");

    // The same when the mapping arrives instead of a message, and when the younger record came by number.
    const two = person();
    const olderByLid = await identities.resolve(store, { lid: two.lid }, two.lid);
    await identities.resolve(store, { pn: two.pn }, two.pn);
    await identities.link(store, two.lid, two.pn);
    assert.equal(await identities.resolve(store, { pn: two.pn }, two.pn), olderByLid);
  });

  it("gives a recycled number's new owner (a new LID) their own id, and a known LID that changed number keeps its id", async () => {
    const store = newStore();
    const first = person();
    const firstId = await identities.resolve(store, first, first.pn);
    const newOwner = { lid: person().lid, pn: first.pn };
    const newOwnerId = await identities.resolve(store, newOwner, newOwner.pn);
    assert.notEqual(newOwnerId, firstId);
    assert.equal(await identities.resolve(store, { pn: first.pn }, first.pn), newOwnerId);
    assert.equal(await identities.resolve(store, { lid: first.lid }, first.lid), firstId);

    const changed = { lid: first.lid, pn: person().pn };
    assert.equal(await identities.resolve(store, changed, changed.lid), firstId);
    assert.equal(await identities.resolve(store, { pn: changed.pn }, changed.pn), firstId);
  });

  it("is one id when two first messages from one person arrive at once, by either address", async () => {
    for (let round = 0; round < 15; round++) {
      const store = newStore();
      const { lid, pn } = person();
      const ids = await Promise.all([
        identities.resolve(store, { lid, pn }, lid),
        identities.resolve(store, { pn }, pn),
        identities.resolve(store, { lid, pn }, pn),
        identities.link(store, lid, pn).then(() => undefined),
      ]);
      const given = new Set(ids.filter(Boolean));
      // Messages carrying only one address may each have made a record before the other was linked; what counts is where both lead now.
      const now = new Set([await identities.resolve(store, { lid }, lid), await identities.resolve(store, { pn }, pn)]);
      assert.equal(now.size, 1, `round ${round}: the two addresses lead to ${[...now].join(", ")}`);
      assert.ok(given.has([...now][0]!), `round ${round}: the id in use is one that was given (${[...given].join(", ")})`);
      assert.equal(await contacts().countDocuments({ tenantId: new Types.ObjectId(store), mergedInto: { $exists: false } }), 1);
    }
  });

  it("of one address asked for twice at the same moment is one record", async () => {
    for (let round = 0; round < 15; round++) {
      const store = newStore();
      const { lid } = person();
      const ids = await Promise.all([identities.resolve(store, { lid }, lid), identities.resolve(store, { lid }, lid)]);
      assert.equal(ids[0], ids[1]);
      assert.equal(await contacts().countDocuments({ tenantId: new Types.ObjectId(store) }), 1);
    }
  });

  it("is unknown to replyJid until seen", async () => {
    assert.equal(await identities.replyJid(newStore(), "wa:nobody000000000"), undefined);
  });
});
