import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Schema } from "mongoose";
import { openMongoose } from "./fixture.ts";
import type { MongooseFixture } from "./fixture.ts";

describe("aggregation pipelines", () => {
  let fx: MongooseFixture;
  let Order: any;
  let Customer: any;

  before(async () => {
    fx = await openMongoose("conformance_aggregate");
    Customer = fx.conn.model("AggCustomer", new Schema({ name: String, city: String }));
    Order = fx.conn.model(
      "AggOrder",
      new Schema({ customer: { type: Schema.Types.ObjectId, ref: "AggCustomer" }, status: String, lines: [{ sku: String, qty: Number, price: Number }] }),
    );
    const [ani, budi, citra] = await Customer.create([
      { name: "Ani", city: "Jakarta" },
      { name: "Budi", city: "Surabaya" },
      { name: "Citra", city: "Jakarta" },
    ]);
    await Order.create([
      { customer: ani._id, status: "paid", lines: [{ sku: "kopi", qty: 2, price: 10 }, { sku: "teh", qty: 1, price: 5 }] },
      { customer: ani._id, status: "paid", lines: [{ sku: "kopi", qty: 1, price: 10 }] },
      { customer: budi._id, status: "paid", lines: [{ sku: "roti", qty: 3, price: 4 }] },
      { customer: budi._id, status: "cancelled", lines: [{ sku: "kopi", qty: 9, price: 10 }] },
      { customer: citra._id, status: "pending", lines: [] },
    ]);
  });
  after(async () => {
    await fx.close();
  });

  it("groups, sorts, limits and skips with $match $group $sort $limit $skip", async () => {
    const rows = await Order.aggregate([
      { $match: { status: { $ne: "cancelled" } } },
      { $group: { _id: "$status", orders: { $sum: 1 } } },
      { $sort: { orders: -1, _id: 1 } },
      { $skip: 0 },
      { $limit: 2 },
    ]);
    assert.deepEqual(rows, [{ _id: "paid", orders: 3 }, { _id: "pending", orders: 1 }]);
  });

  it("unwinds arrays and computes totals with $unwind $project $addFields", async () => {
    const rows = await Order.aggregate([
      { $match: { status: "paid" } },
      { $unwind: "$lines" },
      { $project: { _id: 0, sku: "$lines.sku", amount: { $multiply: ["$lines.qty", "$lines.price"] } } },
      { $group: { _id: "$sku", revenue: { $sum: "$amount" } } },
      { $addFields: { big: { $gte: ["$revenue", 20] } } },
      { $sort: { revenue: -1 } },
    ]);
    assert.deepEqual(rows, [
      { _id: "kopi", revenue: 30, big: true },
      { _id: "roti", revenue: 12, big: false },
      { _id: "teh", revenue: 5, big: false },
    ]);
  });

  it("joins another collection with $lookup", async () => {
    const rows = await Order.aggregate([
      { $match: { status: "paid" } },
      { $lookup: { from: "aggcustomers", localField: "customer", foreignField: "_id", as: "buyer" } },
      { $unwind: "$buyer" },
      { $group: { _id: "$buyer.city", orders: { $sum: 1 } } },
      { $sort: { _id: 1 } },
    ]);
    assert.deepEqual(rows, [{ _id: "Jakarta", orders: 2 }, { _id: "Surabaya", orders: 1 }]);
  });

  it("counts with $count and runs parallel pipelines with $facet", async () => {
    assert.deepEqual(await Order.aggregate([{ $match: { status: "paid" } }, { $count: "paid" }]), [{ paid: 3 }]);
    const [facets] = await Order.aggregate([
      {
        $facet: {
          byStatus: [{ $group: { _id: "$status", n: { $sum: 1 } } }, { $sort: { _id: 1 } }],
          total: [{ $count: "n" }],
        },
      },
    ]);
    assert.deepEqual(facets.total, [{ n: 5 }]);
    assert.deepEqual(facets.byStatus, [{ _id: "cancelled", n: 1 }, { _id: "paid", n: 3 }, { _id: "pending", n: 1 }]);
  });

  it("reshapes documents with $replaceRoot, $set and $unset", async () => {
    const rows = await Customer.aggregate([
      { $sort: { name: 1 } },
      { $replaceRoot: { newRoot: { who: "$name", where: "$city" } } },
      { $set: { label: { $concat: ["$who", "@", "$where"] } } },
      { $unset: "where" },
      { $limit: 1 },
    ]);
    assert.deepEqual(rows, [{ who: "Ani", label: "Ani@Jakarta" }]);
  });

  it("refuses an unknown pipeline stage with code 40324", async () => {
    const err: any = await Order.aggregate([{ $noSuchStage: {} }]).then(() => undefined, (e: unknown) => e);
    assert.equal(err?.code, 40324);
  });

  it("populates references through mongoose populate()", async () => {
    const orders = await Order.find({ status: "paid" }).populate("customer").sort({ _id: 1 }).lean();
    assert.deepEqual(orders.map((o: any) => o.customer.name), ["Ani", "Ani", "Budi"]);
  });
});
