// Per-file fixture for the conformance suite: a MongoDB from the test harness (embedded, or
// the real one named by MONGODB_URI) and a mongoose connection to a fresh database on it.
import mongoose from "mongoose";
import type { Connection } from "mongoose";
import { startTestMongo } from "../support/mongo.ts";
import type { TestMongo } from "../support/mongo.ts";

/** maxWireVersion of MongoDB 7.0, where some commands changed behaviour (e.g. `create`). */
export const WIRE_VERSION_7_0 = 21;

export interface MongooseFixture {
  conn: Connection;
  mongo: TestMongo;
  /** True for a replica set member or mongos, where multi-document transactions work. */
  supportsTransactions: boolean;
  /** The server's maxWireVersion: expectations that changed between versions follow it. */
  wireVersion: number;
  close(): Promise<void>;
}

export async function openMongoose(dbName: string): Promise<MongooseFixture> {
  const mongo = await startTestMongo(dbName);
  const conn = await mongoose.createConnection(mongo.uri, { serverSelectionTimeoutMS: 5000 }).asPromise();
  const hello = await conn.db!.admin().command({ hello: 1 });
  return {
    conn,
    mongo,
    supportsTransactions: typeof hello.setName === "string" || hello.msg === "isdbgrid",
    wireVersion: hello.maxWireVersion,
    async close() {
      await conn.close();
      await mongo.stop();
    },
  };
}

/** Runs a promise that must fail and returns what it threw. */
export async function rejection(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected the operation to fail, but it succeeded");
}
