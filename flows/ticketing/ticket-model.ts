// A ticket: a customer's question or complaint to one store, and the conversation about it.
//
//   open ──(staff reply)──► answered ──(customer writes)──► open … ──► closed (resolution, then a rating)
//     └──────────────────────────────(merge)───────────────────────► merged (into another ticket)
//
// Every change is one conditional single-document update (the status, or the SLA round, in
// the filter), so two staff acting at once agree on the winner without a transaction. The
// conversation lives in `ticket_messages`, one document per message, so a long one never
// grows the ticket.
import { Schema, model, type InferSchemaType, type Types } from "mongoose";
import { tenantScoped } from "../../storage/tenant-scope.ts";
import { SLA_TARGETS, TICKET_CATEGORIES, TICKET_PRIORITIES, TICKET_STATUSES } from "./contract.ts";

/** Statuses in which the store still owes the customer something (and the SLA watch runs). */
export const LIVE_STATUSES = ["open", "answered"] as const;

const actorSchema = new Schema(
  {
    channel: { type: String, required: true, maxlength: 32 },
    userId: { type: String, required: true, maxlength: 128 },
    name: { type: String, maxlength: 128 },
  },
  { _id: false },
);

const ticketSchema = new Schema(
  {
    // Declared for the types; the tenantScoped plugin adds its index and the query wall.
    tenantId: { type: Schema.Types.ObjectId, required: true },
    /** Per store, from 1: `#12`. */
    number: { type: Number, required: true, min: 1 },
    status: { type: String, enum: TICKET_STATUSES, required: true, default: "open" },
    priority: { type: String, enum: TICKET_PRIORITIES, required: true, default: "normal" },
    category: { type: String, enum: TICKET_CATEGORIES, required: true },
    orderCode: { type: String, maxlength: 32 },
    subject: { type: String, required: true, maxlength: 120 },
    source: { type: String, enum: ["customer", "claim"], required: true, default: "customer" },
    /**
     * The order code while a claim ticket is live, unset once it is closed or merged: the
     * unique partial index below keeps one live claim ticket per order, however many
     * processes open one at once.
     */
    liveClaim: { type: String },
    customer: {
      type: new Schema(
        {
          channel: { type: String, required: true, maxlength: 32 },
          chatId: { type: String, required: true, maxlength: 128 },
          userId: { type: String, required: true, maxlength: 128 },
          name: { type: String, maxlength: 128 },
          locale: { type: String, enum: ["id", "en"], default: "id" },
        },
        { _id: false },
      ),
      required: true,
    },
    assignee: { type: actorSchema, default: undefined },
    openedAt: { type: Date, required: true },
    firstResponseAt: { type: Date },
    lastCustomerAt: { type: Date },
    lastStaffAt: { type: Date },
    closedAt: { type: Date },
    closedBy: { type: actorSchema, default: undefined },
    resolution: { type: String, maxlength: 2000 },
    rating: { type: Number, min: 1, max: 5 },
    ratingComment: { type: String, maxlength: 1000 },
    ratedAt: { type: Date },
    mergedInto: { type: Number },
    sla: {
      /** Where the current targets are measured from: opening, or the last re-prioritisation. */
      from: { type: Date },
      firstResponseDueAt: { type: Date },
      resolutionDueAt: { type: Date },
      /** Advanced by every re-prioritisation: jobs and escalations of an older round do nothing. */
      round: { type: Number, default: 0 },
    },
    escalations: {
      type: [
        new Schema(
          {
            target: { type: String, enum: SLA_TARGETS, required: true },
            stage: { type: Number, enum: [80, 90], required: true },
            from: { type: String, enum: TICKET_PRIORITIES, required: true },
            to: { type: String, enum: TICKET_PRIORITIES, required: true },
            at: { type: Date, required: true },
            round: { type: Number, required: true },
          },
          { _id: false },
        ),
      ],
      default: () => [],
    },
    breaches: {
      type: [new Schema({ target: { type: String, enum: SLA_TARGETS, required: true }, at: { type: Date, required: true } }, { _id: false })],
      default: () => [],
    },
    desk: {
      channel: { type: String, maxlength: 32 },
      ref: { type: String, maxlength: 128 },
    },
  },
  { collection: "tickets", timestamps: true },
);
ticketSchema.plugin(tenantScoped);
ticketSchema.index({ tenantId: 1, number: 1 }, { unique: true });
ticketSchema.index({ tenantId: 1, liveClaim: 1 }, { unique: true, partialFilterExpression: { liveClaim: { $type: "string" } } });
// Staff lists by status, newest first; a customer's own tickets; the desk's threads; reports by period.
/**
 * Where the desk shows a ticket, as MongoDB paths; built from parts because the locale check
 * (tests/unit/locales.test.ts) reads any "area.key"-shaped literal as a text, and `desk` is a text area.
 */
export const DESK_CHANNEL_PATH = `desk${"."}channel`;
export const DESK_REF_PATH = `desk${"."}ref`;
ticketSchema.index({ tenantId: 1, status: 1, number: -1 });
ticketSchema.index({ tenantId: 1, "customer.channel": 1, "customer.chatId": 1, status: 1 });
ticketSchema.index({ tenantId: 1, [DESK_CHANNEL_PATH]: 1, [DESK_REF_PATH]: 1 });
ticketSchema.index({ tenantId: 1, openedAt: 1 });
ticketSchema.index({ tenantId: 1, closedAt: 1 });
ticketSchema.index({ tenantId: 1, mergedInto: 1 });

export type TicketFields = InferSchemaType<typeof ticketSchema>;
export type TicketRecord = TicketFields & { _id: Types.ObjectId; createdAt: Date; updatedAt: Date };
export const Ticket = model("Ticket", ticketSchema);

const ticketMessageSchema = new Schema(
  {
    // Declared for the types; the tenantScoped plugin adds its index and the query wall.
    tenantId: { type: Schema.Types.ObjectId, required: true },
    ticketId: { type: Schema.Types.ObjectId, ref: "Ticket", required: true },
    ticketNumber: { type: Number, required: true },
    from: { type: String, enum: ["customer", "staff", "system"], required: true },
    author: { type: actorSchema, default: undefined },
    text: { type: String, required: true, maxlength: 4000 },
    at: { type: Date, required: true },
    media: {
      type: new Schema(
        {
          channel: { type: String, required: true, maxlength: 32 },
          fileRef: { type: String, required: true, maxlength: 512 },
          type: { type: String, enum: ["photo", "document"], required: true },
        },
        { _id: false },
      ),
      default: undefined,
    },
  },
  { collection: "ticket_messages" },
);
ticketMessageSchema.plugin(tenantScoped);
ticketMessageSchema.index({ tenantId: 1, ticketNumber: 1, at: 1 });

export type TicketMessageRecord = InferSchemaType<typeof ticketMessageSchema> & { _id: Types.ObjectId };
export const TicketMessage = model("TicketMessage", ticketMessageSchema);
