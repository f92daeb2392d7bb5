// A MongoDB for one test file: the real server named by MONGODB_URI (with a fresh database
// that stop() drops), or else an embedded server on a free port with a fast TTL monitor.
import { randomBytes } from "node:crypto";
import { MongoClient } from "mongodb";
import { startEmbeddedServer } from "../../storage/embedded/index.ts";

export interface TestMongo {
  /** Connection string including the database name. */
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

export async function startTestMongo(dbName?: string): Promise<TestMongo> {
  const external = process.env.MONGODB_URI;
  if (external) {
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
  const server = await startEmbeddedServer({ ttlSweepMs: EMBEDDED_TTL_SWEEP_MS });
  return {
    uri: `${server.uri}/${dbName ?? "test"}`,
    stop: () => server.close(),
  };
}
