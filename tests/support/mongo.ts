// The one way a test opens its database: the real server named by MONGODB_URI (with a fresh
// database that close() drops), or else an embedded server on a free port with a fast TTL
// monitor (always the embedded one when a test asks for embedded-server options, such as
// its replica-set mode); mongoose's default connection connected to it, indexes synced, and
// the encryption key set.
import { randomBytes } from "node:crypto";
import { after, before } from "node:test";
import { MongoClient } from "mongodb";
import { connectMongo, disconnectMongo, syncAllIndexes } from "../../storage/connection.ts";
import { configureEncryption } from "../../storage/crypto.ts";
import { startEmbeddedServer } from "../../storage/embedded/index.ts";
import type { EmbeddedServerOptions } from "../../storage/embedded/index.ts";

interface TestMongo {
  uri: string;
  stop(): Promise<void>;
}

/** The embedded TTL monitor runs this often in tests (mongod's runs every 60 s). */
export const EMBEDDED_TTL_SWEEP_MS = 200;

function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;
}

/** Puts `dbName` into a connection string, keeping hosts and query options. */
export function withDatabase(uri: string, dbName: string): string {
  // Not `new URL`: seed lists (`mongodb://a:1,b:2/`) are not URLs.
  const m = /^(mongodb(?:\+srv)?:\/\/[^/?]+)(?:\/[^?]*)?(\?.*)?$/.exec(uri);
  if (!m) throw new Error(`MONGODB_URI is not a MongoDB connection string: ${uri}`);
  return `${m[1]}/${dbName}${m[2] ?? ""}`;
}

async function startTestMongo(dbName?: string, embedded?: EmbeddedServerOptions): Promise<TestMongo> {
  const external = process.env.MONGODB_URI;
  if (external && !embedded) {
    const name = uniqueName(dbName ?? "test");
    return {
      uri: withDatabase(external, name),
      async stop() {
        const client = new MongoClient(external, { serverSelectionTimeoutMS: 5000 });
        try {
          await client.connect();
          await client.db(name).dropDatabase();
        } finally {
          await client.close();
        }
      },
    };
  }
  const server = await startEmbeddedServer({ ttlSweepMs: EMBEDDED_TTL_SWEEP_MS, ...embedded });
  return {
    uri: `${server.uri}/${dbName ?? "test"}`,
    stop: () => server.close(),
  };
}

export interface TestDatabase {
  /** Connection string including the database name: for child processes, or a connection of one's own. */
  uri: string;
  /** The key store secrets and stock are sealed with, set in this process (`configureEncryption`). */
  encryptionKey: Buffer;
  /** Disconnects mongoose's default connection, then drops the database (or stops the embedded server). */
  close(): Promise<void>;
}

export interface OpenTestDatabaseOptions {
  /** Connect mongoose's default connection (default true); off when only the URI is wanted. */
  connect?: boolean;
  /** Create every registered model's collection and indexes once connected (default true). */
  indexes?: boolean;
  /** The sealing key; random unless a test shares it with a child process. */
  encryptionKey?: Buffer;
  /** Options of the embedded server (e.g. `{ replicaSet: "rs0" }`); given, the embedded server is used even with MONGODB_URI set. */
  embedded?: EmbeddedServerOptions;
}

/**
 * A fresh database for one test file.
 *
 * ```ts
 * let db: TestDatabase;
 * before(async () => (db = await openTestDatabase("ordering_jobs")));
 * after(() => db.close());
 * ```
 *
 * `useTestDatabase` does the same with the hooks included.
 */
export async function openTestDatabase(name = "test", { connect = true, indexes = true, encryptionKey = randomBytes(32), embedded }: OpenTestDatabaseOptions = {}): Promise<TestDatabase> {
  configureEncryption(encryptionKey);
  const mongo = await startTestMongo(name, embedded);
  if (connect) {
    try {
      await connectMongo(mongo.uri, { attempts: 1 });
      if (indexes) await syncAllIndexes();
    } catch (error) {
      await disconnectMongo();
      await mongo.stop();
      throw error;
    }
  }
  return {
    uri: mongo.uri,
    encryptionKey,
    async close() {
      await disconnectMongo();
      await mongo.stop();
    },
  };
}

/** Opens a database before this file's tests and closes it after them; call the result for it. */
export function useTestDatabase(name: string, options: OpenTestDatabaseOptions = {}): () => TestDatabase {
  let db: TestDatabase | undefined;
  before(async () => {
    db = await openTestDatabase(name, options);
  });
  after(() => db?.close());
  return () => {
    if (!db) throw new Error("the test database is opened in before(); use it inside a test or hook");
    return db;
  };
}
