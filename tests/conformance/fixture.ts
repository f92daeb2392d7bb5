// Per-file fixture for the conformance suite: a MongoDB from the test harness (embedded, or
// the real one named by MONGODB_URI) and a mongoose connection to a fresh database on it.
import mongoose from "mongoose";
import type { Connection } from "mongoose";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { MIN_SUPPORTED_MONGODB, unsupportedMongoDb } from "../../storage/connection.ts";

/**
 * The oldest MongoDB the platform supports: mongoose 9 is compatible with MongoDB 6.0 and
 * newer (the driver alone would accept 4.4). The README's "Requirements" line says the same.
 */
export const MIN_SUPPORTED_SERVER = MIN_SUPPORTED_MONGODB;

/** maxWireVersion of MongoDB 7.0, where some commands changed behaviour (e.g. `create`). */
export const WIRE_VERSION_7_0 = 21;

export interface MongooseFixture {
  conn: Connection;
  db: TestDatabase;
  /** True for a replica set member or mongos, where multi-document transactions work. */
  supportsTransactions: boolean;
  /** The server's maxWireVersion: expectations that changed between versions follow it. */
  wireVersion: number;
  close(): Promise<void>;
}

/** Throws, naming the minimum, when the server is older than the platform supports. */
export function checkSupportedServer(server: { maxWireVersion: unknown; version: unknown }): void {
  const problem = unsupportedMongoDb(server);
  if (problem) throw new Error(`the conformance suite ${problem.replace(/\); this/, "), the platform's minimum; this")}`);
}

export async function openMongoose(dbName: string): Promise<MongooseFixture> {
  const db = await openTestDatabase(dbName, { connect: false });
  const conn = await mongoose.createConnection(db.uri, { serverSelectionTimeoutMS: 5000 }).asPromise();
  const admin = conn.db!.admin();
  const hello = await admin.command({ hello: 1 });
  try {
    checkSupportedServer({ maxWireVersion: hello.maxWireVersion, version: (await admin.buildInfo()).version });
  } catch (err) {
    await conn.close();
    await db.close();
    throw err;
  }
  return {
    conn,
    db,
    supportsTransactions: typeof hello.setName === "string" || hello.msg === "isdbgrid",
    wireVersion: hello.maxWireVersion,
    async close() {
      await conn.close();
      await db.close();
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
