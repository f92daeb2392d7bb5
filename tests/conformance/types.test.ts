import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Schema, Types } from "mongoose";
import { openMongoose } from "./fixture.ts";
import type { MongooseFixture } from "./fixture.ts";

describe("BSON types round-trip", () => {
  let fx: MongooseFixture;

  before(async () => {
    fx = await openMongoose("conformance_types");
  });
  after(async () => {
    await fx.close();
  });

  it("round-trips dates, ObjectIds, Decimal128, Buffers and nested arrays", async () => {
    const Record = fx.conn.model(
      "TypeRecord",
      new Schema({
        at: Date,
        ref: Schema.Types.ObjectId,
        price: Schema.Types.Decimal128,
        blob: Buffer,
        nested: { level: { deep: [[Number]] } },
        flag: Boolean,
        big: Number,
      }),
    );
    const at = new Date("2024-05-06T07:08:09.123Z");
    const ref = new Types.ObjectId();
    const created = await Record.create({
      at,
      ref,
      price: Types.Decimal128.fromString("12345.6789"),
      blob: Buffer.from([0, 1, 2, 255]),
      nested: { level: { deep: [[1, 2], [3]] } },
      flag: false,
      big: 2 ** 40 + 0.5,
    });
    const back: any = await Record.findById(created._id).lean();
    assert.equal(back.at.toISOString(), at.toISOString());
    assert.ok(back.ref.equals(ref));
    assert.equal(back.price.toString(), "12345.6789");
    assert.deepEqual(Buffer.from(back.blob.buffer), Buffer.from([0, 1, 2, 255]));
    assert.deepEqual(back.nested.level.deep, [[1, 2], [3]]);
    assert.equal(back.flag, false);
    assert.equal(back.big, 2 ** 40 + 0.5);
  });

  it("queries by ObjectId, by date range and by Decimal128 value", async () => {
    const Payment = fx.conn.model("TypePayment", new Schema({ order: Schema.Types.ObjectId, paidAt: Date, amount: Schema.Types.Decimal128 }));
    const order = new Types.ObjectId();
    await Payment.create([
      { order, paidAt: new Date("2024-01-10"), amount: "10.50" },
      { order, paidAt: new Date("2024-02-10"), amount: "99.99" },
      { order: new Types.ObjectId(), paidAt: new Date("2024-03-10"), amount: "5" },
    ]);
    assert.equal(await Payment.countDocuments({ order }), 2);
    assert.equal(await Payment.countDocuments({ order: order.toHexString() }), 2);
    assert.equal(await Payment.countDocuments({ paidAt: { $gte: new Date("2024-02-01"), $lt: new Date("2024-04-01") } }), 2);
    assert.equal(await Payment.countDocuments({ amount: { $gt: Types.Decimal128.fromString("10.49") } }), 2);
    assert.equal(await Payment.countDocuments({ amount: Types.Decimal128.fromString("99.99") }), 1);
  });

  it("adds Decimal128 values exactly with $inc and $sum", async () => {
    const Wallet = fx.conn.model("TypeWallet", new Schema({ owner: String, balance: Schema.Types.Decimal128 }));
    await Wallet.create([{ owner: "a", balance: "0.10" }, { owner: "b", balance: "0.20" }]);
    await Wallet.updateOne({ owner: "a" }, { $inc: { balance: Types.Decimal128.fromString("0.05") } });
    const a: any = await Wallet.findOne({ owner: "a" }).lean();
    assert.equal(Number(a.balance.toString()), 0.15);
    assert.match(a.balance.toString(), /^0\.150?$/);
    const [row] = await Wallet.aggregate([{ $group: { _id: null, total: { $sum: "$balance" } } }]);
    assert.equal(Number(row.total.toString()), 0.35);
    assert.ok(row.total instanceof Types.Decimal128 || row.total?._bsontype === "Decimal128");
  });

  it("sorts ObjectIds by creation order and dates chronologically", async () => {
    const Log = fx.conn.model("TypeLog", new Schema({ at: Date, i: Number }));
    const ids = [new Types.ObjectId("000000010000000000000000"), new Types.ObjectId("000000020000000000000000"), new Types.ObjectId("000000030000000000000000")];
    await Log.create([
      { _id: ids[1], at: new Date("2024-01-02"), i: 1 },
      { _id: ids[2], at: new Date("2023-12-31"), i: 2 },
      { _id: ids[0], at: new Date("2024-06-01"), i: 0 },
    ]);
    assert.deepEqual((await Log.find().sort({ _id: 1 }).lean()).map((d: any) => d.i), [0, 1, 2]);
    assert.deepEqual((await Log.find().sort({ at: 1 }).lean()).map((d: any) => d.i), [2, 1, 0]);
  });
});
