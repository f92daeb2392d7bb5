// A broadcast and its ledger.
//
// `broadcasts`: one document per broadcast, numbered per store, carrying its content (the
// image's bytes too, so every channel can upload them), its audience and where it is in
// its life (contract.ts). `broadcast_recipients`: once it starts, one document per
// recipient with their state (queued → claimed → sending → sent | failed | skipped).
// Every change to either is one conditional single-document update; the unique index on
// (broadcast, channel, chat) makes fixing the ledger twice (after a crash) add nobody twice.
import { Schema, model, type Types } from "mongoose";
import { tenantScoped } from "../../storage/tenant-scope.ts";
import { BROADCAST_STATUSES, RECIPIENT_STATES, type BroadcastAudience, type BroadcastButton, type BroadcastStatus, type RecipientState } from "./contract.ts";

/** The largest image a broadcast carries. */
export const MAX_IMAGE_BYTES = 5 * 1024 * 1024;

const actorSchema = new Schema(
  {
    channel: { type: String, required: true, maxlength: 32 },
    userId: { type: String, required: true, maxlength: 128 },
    name: { type: String, maxlength: 128 },
  },
  { _id: false },
);

const broadcastSchema = new Schema(
  {
    // Declared for the types; the tenantScoped plugin adds its index and the query wall.
    tenantId: { type: Schema.Types.ObjectId, required: true },
    /** Per store, from 1: `#3`. */
    number: { type: Number, required: true, min: 1 },
    status: { type: String, enum: BROADCAST_STATUSES, required: true, default: "draft" },
    content: {
      text: { type: String, required: true, maxlength: 3500 },
      image: {
        type: new Schema(
          {
            data: { type: Buffer, required: true },
            fileName: { type: String, required: true, maxlength: 128 },
            mime: { type: String, required: true, maxlength: 64 },
          },
          { _id: false },
        ),
        default: undefined,
      },
      buttons: { type: [Schema.Types.Mixed], default: () => [] },
    },
    /** contract.ts BroadcastAudience, as given (dates as dates). */
    audience: { type: Schema.Types.Mixed, required: true },
    createdBy: { type: actorSchema, required: true },
    /** When it starts (or started, for "now"); the day it counts against the store's daily limit. */
    scheduledAt: { type: Date },
    startedAt: { type: Date },
    finishedAt: { type: Date },
    cancelledAt: { type: Date },
    /** Why it was cancelled without a seller: the audience outgrew the limit at the start. */
    stopReason: { type: String, maxlength: 64 },
    pausedReason: { type: String, enum: ["seller", "restricted"] },
    /** Nobody sends before this, on any instance (a channel's retry_after). */
    holdUntil: { type: Date },
    /** Messages per second per channel, when slowed below the runner's pace (after a 429). */
    pace: { type: Schema.Types.Mixed },
    progressChat: {
      type: new Schema(
        {
          channel: { type: String, required: true, maxlength: 32 },
          chatId: { type: String, required: true, maxlength: 128 },
          locale: { type: String, enum: ["id", "en"] },
          messageId: { type: String, maxlength: 128 },
        },
        { _id: false },
      ),
      default: undefined,
    },
    /** The last progress event (any instance): spaces them out across instances. */
    lastProgressAt: { type: Date },
    /** Who is fixing the ledger, and until when: another instance takes over once it ran out. */
    preparingUntil: { type: Date },
    /** Recipients in the ledger, once fixed. */
    total: { type: Number },
  },
  { collection: "broadcasts", timestamps: true },
);
broadcastSchema.plugin(tenantScoped);
broadcastSchema.index({ tenantId: 1, number: 1 }, { unique: true });
// The store's lists, and today's count for the daily limit.
broadcastSchema.index({ tenantId: 1, status: 1, scheduledAt: -1 });
// The runners' look for work across stores.
broadcastSchema.index({ status: 1, scheduledAt: 1 });

export interface BroadcastRecord {
  _id: Types.ObjectId;
  tenantId: Types.ObjectId;
  number: number;
  status: BroadcastStatus;
  content: { text: string; image?: { data: Buffer | { buffer: ArrayBufferLike }; fileName: string; mime: string } | null; buttons: BroadcastButton[] };
  audience: BroadcastAudience;
  createdBy: { channel: string; userId: string; name?: string | null };
  createdAt: Date;
  updatedAt: Date;
  scheduledAt?: Date | null;
  startedAt?: Date | null;
  finishedAt?: Date | null;
  cancelledAt?: Date | null;
  stopReason?: string | null;
  pausedReason?: "seller" | "restricted" | null;
  holdUntil?: Date | null;
  pace?: Record<string, number> | null;
  progressChat?: { channel: string; chatId: string; locale?: "id" | "en" | null; messageId?: string | null } | null;
  lastProgressAt?: Date | null;
  preparingUntil?: Date | null;
  total?: number | null;
}

export const Broadcast = model("Broadcast", broadcastSchema);

const recipientSchema = new Schema(
  {
    tenantId: { type: Schema.Types.ObjectId, required: true },
    broadcastId: { type: Schema.Types.ObjectId, required: true },
    customerId: { type: Schema.Types.ObjectId, required: true },
    channel: { type: String, required: true, maxlength: 32 },
    chatId: { type: String, required: true, maxlength: 128 },
    locale: { type: String, enum: ["id", "en"] },
    state: { type: String, enum: RECIPIENT_STATES, required: true, default: "queued" },
    /** The claim's holder (an instance's runner) and its lease. */
    claimedBy: { type: String, maxlength: 128 },
    claimedUntil: { type: Date },
    attempts: { type: Number, default: 0 },
    /** Why it failed (`SendFailureReason`) or was skipped (`SkipReason`). */
    reason: { type: String, maxlength: 32 },
    detail: { type: String, maxlength: 300 },
    messageIds: { type: [String], default: undefined },
    sentAt: { type: Date },
    /** Recorded `sent` after a crash while on the wire: most likely delivered, never sent again. */
    inDoubt: { type: Boolean },
  },
  { collection: "broadcast_recipients" },
);
recipientSchema.plugin(tenantScoped);
recipientSchema.index({ broadcastId: 1, channel: 1, chatId: 1 }, { unique: true });
// Claiming (the next queued of a channel, in order) and the counts by state.
recipientSchema.index({ broadcastId: 1, state: 1, channel: 1, _id: 1 });

export interface RecipientRecord {
  _id: Types.ObjectId;
  tenantId: Types.ObjectId;
  broadcastId: Types.ObjectId;
  customerId: Types.ObjectId;
  channel: string;
  chatId: string;
  locale?: "id" | "en" | null;
  state: RecipientState;
  claimedBy?: string | null;
  claimedUntil?: Date | null;
  attempts: number;
  reason?: string | null;
  detail?: string | null;
  messageIds?: string[] | null;
  sentAt?: Date | null;
  inDoubt?: boolean | null;
}

export const BroadcastRecipient = model("BroadcastRecipient", recipientSchema);
