import mongoose from "mongoose";

/** MongoDB did not answer within the retry budget. The message is safe to show an operator. */
export class DatabaseUnreachableError extends Error {
  override name = "DatabaseUnreachableError";
}

export interface ConnectOptions {
  attempts?: number;
  /** First back-off; doubles each attempt. */
  delayMs?: number;
  serverSelectionTimeoutMS?: number;
  onRetry?: (attempt: number, reason: string) => void;
}

/** The oldest MongoDB the platform runs on (mongoose 9's own floor); older ones are refused at connect. */
export const MIN_SUPPORTED_MONGODB = { version: "6.0", wireVersion: 17 } as const;

/** The refusal for a server older than the minimum, or undefined when it is new enough. */
export function unsupportedMongoDb(server: { maxWireVersion: unknown; version: unknown }): string | undefined {
  if (Number(server.maxWireVersion) >= MIN_SUPPORTED_MONGODB.wireVersion) return undefined;
  return `needs MongoDB ${MIN_SUPPORTED_MONGODB.version} or newer (wire version ${MIN_SUPPORTED_MONGODB.wireVersion}); this server is MongoDB ${String(server.version)} (wire version ${String(server.maxWireVersion)})`;
}

/** Longer than any single read or write the platform makes; a stuck one fails after it. */
export const MONGODB_SOCKET_TIMEOUT_MS = 20_000;

// What the driver throws when the server did not answer (as opposed to answering "no"): a
// lost or timed-out connection, no server to select, a pool cleared after a network error,
// mongoose's own buffering timeout while disconnected.
const OUTAGE_ERRORS = new Set([
  "MongoNetworkError",
  "MongoNetworkTimeoutError",
  "MongoServerSelectionError",
  "MongooseServerSelectionError",
  "MongoTimeoutError",
  "MongoOperationTimeoutError",
  "MongoPoolClearedError",
  "MongoNotConnectedError",
  "MongoTopologyClosedError",
]);

/** Whether `error` means MongoDB did not answer (so the work may succeed once it is back). */
export function isDatabaseOutage(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (OUTAGE_ERRORS.has(error.name)) return true;
  return error.name === "MongooseError" && /buffering timed out/.test(error.message);
}

/** Asks MongoDB whether it answers; for the dependency probe. */
export async function pingMongo(): Promise<void> {
  const db = mongoose.connection.db;
  if (!db) throw new Error("not connected");
  await db.admin().ping();
}

/** Hides the password of a `mongodb://user:pass@host` URI. */
export function describeMongoUri(uri: string): string {
  return uri.replace(/(\/\/[^:/@]+):[^@/]*@/, "$1:***@");
}

/**
 * Connects the default mongoose connection, retrying a bounded number of times with
 * back-off, then failing with one clear line naming the (password-masked) URI.
 */
export async function connectMongo(uri: string, opts: ConnectOptions = {}): Promise<typeof mongoose> {
  const attempts = opts.attempts ?? 5;
  let delay = opts.delayMs ?? 500;
  let lastReason = "";
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let connected: typeof mongoose;
    try {
      connected = await mongoose.connect(uri, {
        serverSelectionTimeoutMS: opts.serverSelectionTimeoutMS ?? 5000,
        // A server that stops answering without closing its sockets (frozen, or a dead network
        // path) must not hold a turn for ever: a socket read gives up after this long, and the
        // driver's own monitor notices a dead server within `connectTimeoutMS`.
        socketTimeoutMS: MONGODB_SOCKET_TIMEOUT_MS,
        connectTimeoutMS: 5000,
        autoIndex: false,
        autoCreate: false,
      });
      await refuseUnsupportedServer(uri);
      return connected;
    } catch (err) {
      if (err instanceof UnsupportedDatabaseError) throw err;
      lastReason = (err as Error).message.split("\n")[0].replace(uri, describeMongoUri(uri));
      await mongoose.disconnect().catch(() => undefined);
      if (attempt < attempts) {
        opts.onRetry?.(attempt, lastReason);
        await new Promise((r) => setTimeout(r, delay));
        delay *= 2;
      }
    }
  }
  throw new DatabaseUnreachableError(
    `MongoDB at ${describeMongoUri(uri)} is unreachable after ${attempts} attempts (${lastReason}); ` +
      "check MONGODB_URI, or run `niaga db` for the embedded server",
  );
}

/** The server is older than {@link MIN_SUPPORTED_MONGODB}; retrying will not help. */
export class UnsupportedDatabaseError extends DatabaseUnreachableError {
  override name = "UnsupportedDatabaseError";
}

async function refuseUnsupportedServer(uri: string): Promise<void> {
  const admin = mongoose.connection.db!.admin();
  const hello = await admin.command({ hello: 1 });
  const problem = unsupportedMongoDb({ maxWireVersion: hello.maxWireVersion, version: (await admin.buildInfo()).version });
  if (!problem) return;
  await mongoose.disconnect().catch(() => undefined);
  throw new UnsupportedDatabaseError(`MongoDB at ${describeMongoUri(uri)}: Niaga ${problem}`);
}

export async function disconnectMongo(): Promise<void> {
  await mongoose.disconnect();
}

/** Creates collections and syncs the indexes every model declares (`niaga migrate`). */
export async function syncAllIndexes(): Promise<Record<string, string[]>> {
  const dropped: Record<string, string[]> = {};
  for (const name of mongoose.modelNames()) {
    const model = mongoose.model(name);
    await model.createCollection().catch((err: { code?: number }) => {
      if (err.code !== 48) throw err;
    });
    dropped[name] = await model.syncIndexes();
  }
  return dropped;
}
