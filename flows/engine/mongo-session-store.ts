// Sessions in MongoDB: one small document per (tenant, channel, chat), written with a
// version check so two processes can never both apply a step to the same conversation.
import { Schema, Types, model } from "mongoose";
import { pinsOneTenant, tenantScoped, TenantScopeError } from "../../storage/tenant-scope.ts";
import { chatKeyString, type ChatKey } from "./message.ts";
import { SESSION_RETENTION_MS, type Conversation, type SessionStore, type SessionWrite, type StoredSession } from "./session.ts";

const sessionSchema = new Schema(
  {
    /** The chat key itself (`tenantId:channel:chatId`): one session per chat, found by the cheapest lookup there is. */
    _id: { type: String, required: true },
    // Declared for the types; the tenantScoped plugin adds its index and the query wall.
    tenantId: { type: Schema.Types.ObjectId, required: true },
    channel: { type: String, required: true },
    chatId: { type: String, required: true },
    version: { type: Number, required: true, min: 1 },
    /** `null` while the chat is idle; otherwise the flow, step, data and return stack. */
    conversation: { type: Schema.Types.Mixed, default: null },
    /**
     * When the running conversation counts as abandoned (the flow's idle timeout). The TTL
     * index deletes the document a retention period later, so a user who comes back to an
     * abandoned conversation is told it expired instead of meeting silence.
     */
    expiresAt: { type: Date, required: true },
  },
  { collection: "conversation_sessions", versionKey: false, minimize: false },
);
sessionSchema.plugin(tenantScoped);
sessionSchema.index({ expiresAt: 1 }, { expireAfterSeconds: SESSION_RETENTION_MS / 1000 });

export const ConversationSession = model("ConversationSession", sessionSchema);

interface SessionDoc {
  version: number;
  conversation: Conversation | null;
  expiresAt: Date;
}

const DUPLICATE_KEY = 11000;

/** The session document's `_id`: the chat key, which already names tenant, channel and chat. */
export function sessionId(key: ChatKey): string {
  return chatKeyString(key);
}

/**
 * The filter of the two operations every message makes (read, versioned write). They go
 * to the driver directly: on this path mongoose's query machinery cost as much client time
 * as the round trip itself (see bench/engine.ts). The tenant wall stays: the filter must
 * pin one tenant, checked the way the `tenantScoped` plugin checks mongoose queries.
 */
function scopedFilter(key: ChatKey, extra: Record<string, unknown> = {}): { _id: never; tenantId: Types.ObjectId } & Record<string, unknown> {
  const filter = { _id: sessionId(key) as never, tenantId: new Types.ObjectId(key.tenantId), ...extra };
  if (!pinsOneTenant(filter)) throw new TenantScopeError("a session operation has no tenantId condition");
  return filter;
}

/** The `$set` of a turn's write: the whole conversation, or only the fields it changed. */
export function sessionWriteSet(write: SessionWrite): Record<string, unknown> {
  if ("replace" in write) return { conversation: write.replace };
  const { data, ...fields } = write.update;
  const set: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(fields)) set[`conversation.${field}`] = value;
  // Data fields are plain names (the flow schema and the engine refuse dots and `$`).
  for (const [field, value] of Object.entries(data)) set[`conversation.data.${field}`] = value;
  return set;
}

/**
 * The production session store. A step reads one document (by `_id`, within its tenant)
 * and writes back only what changed with `updateOne({ _id, tenantId, version })`; a write
 * that matches nothing lost a race and reports it. With the engine's session cache, a
 * step usually costs just that one write.
 * Needs the collection's indexes (`niaga migrate`, or `ensureIndexes()`).
 */
export class MongoSessionStore implements SessionStore {
  async load(key: ChatKey): Promise<StoredSession | null> {
    const doc = await ConversationSession.collection.findOne<SessionDoc>(scopedFilter(key), { projection: { _id: 0, version: 1, conversation: 1, expiresAt: 1 } });
    return doc ? { version: doc.version, conversation: doc.conversation ?? null, expiresAt: doc.expiresAt } : null;
  }

  async save(key: ChatKey, previous: StoredSession | null, write: SessionWrite, expiresAt: Date): Promise<boolean> {
    const expectedVersion = previous?.version ?? 0;
    if (expectedVersion === 0) {
      // Created only if absent: an upsert that finds a document lost the race to create it.
      const conversation = "replace" in write ? write.replace : null;
      try {
        const created = await ConversationSession.updateOne(
          { _id: sessionId(key), tenantId: key.tenantId },
          { $setOnInsert: { channel: key.channel, chatId: key.chatId, version: 1, conversation, expiresAt } },
          { upsert: true },
        ).exec();
        return created.upsertedCount === 1;
      } catch (err) {
        if ((err as { code?: number }).code === DUPLICATE_KEY) return false;
        throw err;
      }
    }
    const result = await ConversationSession.collection.updateOne(scopedFilter(key, { version: expectedVersion }), {
      $set: { version: expectedVersion + 1, expiresAt, ...sessionWriteSet(write) },
    });
    return result.matchedCount === 1;
  }

  /** Creates the TTL index and the tenant index (idempotent). */
  static async ensureIndexes(): Promise<void> {
    await ConversationSession.createIndexes();
  }
}
