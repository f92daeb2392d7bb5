// Broadcasts started from a test (or a benchmark) through the broadcast service, the way a
// seller's `/siaran` does, while a `niaga start` child process runs the runner that sends
// them; and the ledger as it stands, read straight from the database. Needs mongoose's
// default connection (`openTestDatabase`, or `connectMongo` in a benchmark).
//
// ```ts
// const broadcasts = openBroadcasts();
// const handle = await broadcasts.sendNow(store.tenantId, "Promo kilat hari ini");
// await eventually(async () => (await broadcasts.get(handle)).status === "done", "the broadcast");
// const ledger = await recipientsOf(handle);
// ```
import mongoose, { Types } from "mongoose";
import type { BroadcastActor, BroadcastService, BroadcastView, RecipientState } from "../../flows/broadcast/contract.ts";
import { createBroadcasting } from "../../flows/broadcast/index.ts";
import type { Outbox } from "../../flows/engine/index.ts";

export interface BroadcastHandle {
  tenantId: string;
  number: number;
  id: string;
}

export interface LedgerEntry {
  chatId: string;
  state: RecipientState;
  inDoubt?: boolean;
  claimedBy?: string;
  reason?: string;
}

export interface TestBroadcasts {
  /** A broadcast of `text` to every reachable customer of the store, sent now. */
  sendNow(tenantId: string, text: string): Promise<BroadcastHandle>;
  /** The broadcast as the service shows it (its counts from the ledger). */
  get(handle: BroadcastHandle): Promise<BroadcastView>;
  service: BroadcastService;
}

const SELLER: BroadcastActor = { channel: "console", userId: "penjual-uji", name: "Penjual Uji" };

// This process only writes broadcasts; the `niaga start` child sends them.
const noOutbox: Pick<Outbox, "send"> = {
  send: () => Promise.reject(new Error("the test process does not send broadcasts; the niaga start child does")),
};

export function openBroadcasts(): TestBroadcasts {
  const service: BroadcastService = createBroadcasting({ outbox: noOutbox });
  return {
    service,
    async sendNow(tenantId, text) {
      const draft = await service.saveDraft(tenantId, SELLER, { content: { text, buttons: [] }, audience: { kind: "all" } });
      if (!draft.ok) throw new Error(`the draft was refused: ${draft.reason}`);
      const started = await service.schedule(tenantId, draft.broadcast.number, SELLER, {});
      if (!started.ok) throw new Error(`sending was refused: ${started.reason} (limit ${started.limit}, size ${started.size})`);
      return { tenantId, number: started.broadcast.number, id: started.broadcast.id };
    },
    async get(handle) {
      const view = await service.get(handle.tenantId, handle.number);
      if (!view) throw new Error(`broadcast #${handle.number} is gone`);
      const counts = await service.counts(handle.tenantId, handle.number);
      return { ...view, ...(counts && { counts }) };
    },
  };
}

/** Every recipient of the broadcast as the ledger records them. */
export async function recipientsOf(handle: BroadcastHandle): Promise<LedgerEntry[]> {
  const rows = await mongoose.connection.db!.collection("broadcast_recipients")
    .find({ tenantId: new Types.ObjectId(handle.tenantId), broadcastId: new Types.ObjectId(handle.id) })
    .project<LedgerEntry>({ _id: 0, chatId: 1, state: 1, inDoubt: 1, claimedBy: 1, reason: 1 })
    .toArray();
  return rows;
}

/**
 * `niaga start`'s environment for a broadcast run: the database, the Bot API (the emulator),
 * the runner's pace; with `port`, a fixed HTTP port that is also the public URL (webhooks
 * reach the process again after a restart).
 */
export function broadcastPlatformEnv(run: { uri: string; key: Buffer; apiRoot: string; rate: number; port?: number; more?: Record<string, string> }): Record<string, string> {
  return {
    MONGODB_URI: run.uri,
    ENCRYPTION_KEY: run.key.toString("base64"),
    TELEGRAM_API_ROOT: run.apiRoot,
    HTTP_PORT: String(run.port ?? 0),
    ...(run.port !== undefined && { PUBLIC_URL: `http://127.0.0.1:${run.port}` }),
    RECONCILE_INTERVAL_MS: "1000",
    BROADCAST_RATE_TELEGRAM: String(run.rate),
    LOG_LEVEL: "info",
    NODE_ENV: "test",
    ...run.more,
  };
}
