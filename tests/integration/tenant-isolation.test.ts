import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Types} from "mongoose";
import mongoose, { type Model } from "mongoose";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { AuditLog, Counter, Customer, Member, Tenant } from "../../storage/models/index.ts";
import { TenantScopeError } from "../../storage/tenant-scope.ts";

// Every tenant-scoped model, with a way to make one valid document for a tenant.
const scoped: Array<{ name: string; model: Model<any, any, any, any, any, any, any>; sample(tenantId: Types.ObjectId, n: number): Record<string, unknown>; field: string }> = [
  { name: "Member", model: Member, field: "displayName", sample: (tenantId, n) => ({ tenantId, channel: "telegram", channelUserId: `u${n}`, role: "staff" }) },
  { name: "Customer", model: Customer, field: "displayName", sample: (tenantId, n) => ({ tenantId, channel: "telegram", channelUserId: `c${n}`, displayName: `cust ${n}` }) },
  { name: "AuditLog", model: AuditLog, field: "action", sample: (tenantId, n) => ({ tenantId, actor: { channel: "cli", userId: "op" }, action: `act${n}`, target: { type: "t" }, where: "cli" }) },
  { name: "Counter", model: Counter, field: "seq", sample: (tenantId, n) => ({ tenantId, name: n % 2 ? "order" : "ticket", seq: n }) },
];

const rejects = (p: () => Promise<unknown>) => assert.rejects(p, (err: Error) => err instanceof TenantScopeError);

describe("tenant isolation fails closed", () => {
  let db: TestDatabase;
  let a: Types.ObjectId;
  let b: Types.ObjectId;

  before(async () => {
    db = await openTestDatabase();
    a = (await Tenant.create({ slug: "toko-a", name: "Toko A" }))._id;
    b = (await Tenant.create({ slug: "toko-b", name: "Toko B" }))._id;
  });
  after(async () => {
    await db.close();
  });

  for (const spec of scoped) {
    describe(spec.name, () => {
      let bDoc: { _id: Types.ObjectId };
      let aDoc: { _id: Types.ObjectId };
      const M = () => spec.model;

      before(async () => {
        aDoc = await M().create(spec.sample(a, 1));
        bDoc = await M().create(spec.sample(b, 2));
      });

      it("refuses reads without a tenant: find, findOne, findById with a crafted id, count, distinct, estimatedDocumentCount", async () => {
        await rejects(() => M().find({}).exec());
        await rejects(() => M().findOne({ _id: bDoc._id }).exec());
        await rejects(() => M().findById(bDoc._id).exec());
        await rejects(() => M().exists({ _id: bDoc._id }));
        await rejects(() => M().countDocuments({}).exec());
        await rejects(() => M().distinct("_id").exec());
        await rejects(() => M().estimatedDocumentCount().exec());
        await rejects(() => M().find({ tenantId: { $ne: a } }).exec());
        await rejects(() => M().find({ $or: [{ tenantId: a }, { tenantId: b }] }).exec());
      });

      it("never shows tenant B's document to tenant A, even by B's id", async () => {
        assert.equal(await M().findOne({ tenantId: a, _id: bDoc._id }).exec(), null);
        const ids = (await M().find({ tenantId: a }).lean().exec()).map((d: any) => String(d._id));
        assert.deepEqual(ids, [String(aDoc._id)]);
        assert.equal(await M().countDocuments({ tenantId: a }).exec(), 1);
        assert.deepEqual((await M().distinct("_id", { tenantId: a }).exec()).map(String), [String(aDoc._id)]);
      });

      it("refuses writes without a tenant: update, replace, delete, findOneAnd*", async () => {
        const set = { $set: { [spec.field]: spec.field === "seq" ? 99 : "hacked" } };
        await rejects(() => M().updateOne({ _id: bDoc._id }, set).exec());
        await rejects(() => M().updateMany({}, set).exec());
        await rejects(() => M().replaceOne({ _id: bDoc._id }, spec.sample(b, 3)).exec());
        await rejects(() => M().deleteOne({ _id: bDoc._id }).exec());
        await rejects(() => M().deleteMany({}).exec());
        await rejects(() => M().findOneAndUpdate({ _id: bDoc._id }, set).exec());
        await rejects(() => M().findByIdAndUpdate(bDoc._id, set).exec());
        await rejects(() => M().findOneAndDelete({ _id: bDoc._id }).exec());
        await rejects(() => M().findByIdAndDelete(bDoc._id).exec());
        await rejects(() => M().findOneAndReplace({ _id: bDoc._id }, spec.sample(b, 4)).exec());
      });

      it("cannot change tenant B's document from tenant A with B's id", async () => {
        const before = await M().findOne({ tenantId: b, _id: bDoc._id }).lean().exec();
        const set = { $set: { [spec.field]: spec.field === "seq" ? 99 : "hacked" } };
        assert.equal((await M().updateOne({ tenantId: a, _id: bDoc._id }, set).exec()).modifiedCount, 0);
        assert.equal((await M().updateMany({ tenantId: a, _id: bDoc._id }, set).exec()).modifiedCount, 0);
        assert.equal(await M().findOneAndUpdate({ tenantId: a, _id: bDoc._id }, set).exec(), null);
        assert.equal(await M().findOneAndDelete({ tenantId: a, _id: bDoc._id }).exec(), null);
        assert.equal((await M().deleteOne({ tenantId: a, _id: bDoc._id }).exec()).deletedCount, 0);
        assert.equal((await M().deleteMany({ tenantId: a, _id: bDoc._id }).exec()).deletedCount, 0);
        assert.deepEqual(await M().findOne({ tenantId: b, _id: bDoc._id }).lean().exec(), before);
      });

      it("refuses to move a document to another tenant", async () => {
        await rejects(() => M().updateOne({ tenantId: a, _id: aDoc._id }, { $set: { tenantId: b } }).exec());
        await rejects(() => M().findOneAndUpdate({ tenantId: a, _id: aDoc._id }, { $set: { tenantId: b } }).exec());
        await rejects(() => M().replaceOne({ tenantId: a, _id: aDoc._id }, spec.sample(b, 5)).exec());
        const doc = await M().findOne({ tenantId: a, _id: aDoc._id }).exec();
        doc.tenantId = b; // immutable: ignored
        await doc.save();
        assert.equal(String((await M().findOne({ tenantId: a, _id: aDoc._id }).lean().exec())?.tenantId), String(a));
      });

      it("refuses aggregates that do not start with the tenant, or join around it", async () => {
        await rejects(() => M().aggregate([{ $match: {} }]).exec());
        await rejects(() => M().aggregate([{ $sort: { _id: 1 } }, { $match: { tenantId: a } }]).exec());
        await rejects(() =>
          M().aggregate([{ $match: { tenantId: a } }, { $lookup: { from: M().collection.name, localField: "_id", foreignField: "_id", as: "x" } }]).exec(),
        );
        await rejects(() =>
          M().aggregate([{ $match: { tenantId: a } }, { $unionWith: { coll: M().collection.name } }]).exec(),
        );
        const rows = await M().aggregate([{ $match: { tenantId: a } }, { $group: { _id: "$tenantId", n: { $sum: 1 } } }]).exec();
        assert.deepEqual(rows.map((r: any) => [String(r._id), r.n]), [[String(a), 1]]);
        const joined = await M()
          .aggregate([
            { $match: { tenantId: a } },
            { $lookup: { from: M().collection.name, pipeline: [{ $match: { tenantId: a } }], as: "same" } },
          ])
          .exec();
        assert.equal(joined[0].same.length, 1);
      });

      it("refuses bulk writes with an operation that lacks the tenant", async () => {
        await rejects(() => M().bulkWrite([{ insertOne: { document: { ...spec.sample(a, 6), tenantId: undefined } } }]));
        await rejects(() => M().bulkWrite([{ updateOne: { filter: { tenantId: a }, update: { $set: {} } } }, { deleteMany: { filter: {} } }]));
        await rejects(() => M().bulkWrite([{ updateOne: { filter: { tenantId: a, _id: aDoc._id }, update: { $set: { tenantId: b } } } }]));
        const res = await M().bulkWrite([{ deleteOne: { filter: { tenantId: a, _id: bDoc._id } } }]);
        assert.equal(res.deletedCount, 0);
        assert.ok(await M().findOne({ tenantId: b, _id: bDoc._id }).exec());
      });

      it("refuses to insert a document without a tenant", async () => {
        await assert.rejects(() => M().create({ ...spec.sample(a, 7), tenantId: undefined }), /tenantId/);
        await assert.rejects(() => M().insertMany([{ ...spec.sample(a, 8), tenantId: undefined }]), /tenantId/);
      });

      it("lets a loaded document save and delete itself within its tenant", async () => {
        const doc = await M().create(spec.sample(a, 10));
        const loaded = await M().findOne({ tenantId: a, _id: doc._id }).exec();
        loaded.set(spec.field, spec.field === "seq" ? 42 : "changed");
        await loaded.save();
        assert.equal((await M().findOne({ tenantId: a, _id: doc._id }).lean().exec())[spec.field], spec.field === "seq" ? 42 : "changed");
        await loaded.deleteOne();
        assert.equal(await M().findOne({ tenantId: a, _id: doc._id }).exec(), null);
      });

      it("allows platform jobs to span tenants only when they say crossTenant", async () => {
        const all = await M().find({}).setOptions({ crossTenant: true }).lean().exec();
        const tenants = new Set(all.map((d: any) => String(d.tenantId)));
        assert.ok(tenants.has(String(a)) && tenants.has(String(b)));
      });
    });
  }

  it("keeps the tenant wall on every model that stores tenantId", () => {
    for (const name of mongoose.modelNames()) {
      const model = mongoose.model(name);
      if (model.schema.path("tenantId")) {
        assert.equal((model.schema as any).options.shardKey?.tenantId, 1, `${name} is missing the tenantScoped plugin`);
      }
    }
  });
});
