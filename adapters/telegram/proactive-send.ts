/**
 * A batch of `Outbound`s for one chat outside a conversation turn, sent in order and
 * reported message by message. The batch stops at the first message that fails: the rest
 * are reported `skipped`, so a customer never gets a later message without an earlier one.
 * And an edit of one message sent earlier, reported the same way.
 */
import { GrammyError, HttpError } from "grammy";
import type { Message } from "grammy/types";
import { redactText } from "../../storage/secrets-redaction.ts";
import { notSent } from "../../flows/engine/index.ts";
import type { SendFailureReason, SendReport, SentOutbound } from "../../flows/engine/index.ts";
import type { Outbound } from "../../flows/engine/index.ts";
import { editOutbound, sendOutbound } from "./chat-replies.ts";
import type { ChatReplies } from "./chat-replies.ts";
import { NOT_COMMITTED } from "../../flows/engine/index.ts";
import { NotCommittedError, PacerClosedError } from "./outgoing-pacer.ts";

interface Failure {
  reason: SendFailureReason;
  detail: string;
  retryAfterSec?: number;
}

export async function sendBatch(chat: ChatReplies, replies: readonly Outbound[]): Promise<SendReport> {
  const messages: SentOutbound[] = [];
  let failure: Failure | undefined;
  for (const outbound of replies) {
    if (failure) {
      messages.push({ status: "skipped", messageIds: [], reason: failure.reason });
      continue;
    }
    const sent: Message[] = [];
    try {
      await sendOutbound(chat, outbound, sent);
      messages.push({ status: "sent", messageIds: idsOf(sent) });
    } catch (error) {
      failure = failureOf(error);
      messages.push({ status: "failed", messageIds: idsOf(sent), reason: failure.reason, detail: failure.detail });
    }
  }
  const sent = messages.filter((m) => m.status === "sent").length;
  if (!failure) return { ok: true, sent, messages };
  return {
    ok: false,
    sent,
    reason: failure.reason,
    detail: failure.detail,
    ...(failure.retryAfterSec !== undefined && { retryAfterSec: failure.retryAfterSec }),
    messages,
  };
}

/** Replaces one message the bot sent (see `editOutbound`), reported as a batch of one whose id is that message's. */
export async function editMessage(chat: ChatReplies, messageId: number, outbound: Outbound): Promise<SendReport> {
  try {
    await editOutbound(chat, messageId, outbound);
    return { ok: true, sent: 1, messages: [{ status: "sent", messageIds: [String(messageId)] }] };
  } catch (error) {
    const failure = failureOf(error);
    return notSent(1, failure.reason, failure.detail, failure.retryAfterSec);
  }
}

/** What a failed call means for the sender. */
export function failureOf(error: unknown): Failure {
  if (error instanceof PacerClosedError) return { reason: "shutting-down", detail: error.message };
  if (error instanceof NotCommittedError) return { reason: "failed", detail: NOT_COMMITTED };
  if (error instanceof GrammyError) {
    const detail = redactText(error.description);
    const code = error.error_code;
    if (code === 401) return { reason: "store-unavailable", detail: "Telegram rejected the store's bot token (401)" };
    if (code === 403) return { reason: /blocked by the user|user is deactivated/i.test(detail) ? "blocked" : "unreachable", detail };
    if (code === 400 && /chat not found|user not found|PEER_ID_INVALID/i.test(detail)) return { reason: "unreachable", detail };
    if (code === 429) {
      const retryAfter = error.parameters.retry_after;
      return { reason: "rate-limited", detail, ...(typeof retryAfter === "number" && { retryAfterSec: retryAfter }) };
    }
    return { reason: code >= 500 ? "failed" : "rejected", detail };
  }
  if (error instanceof HttpError) return { reason: "failed", detail: redactText(error.message) };
  return { reason: "failed", detail: redactText(error instanceof Error ? error.message : String(error)) };
}

function idsOf(messages: readonly Message[]): string[] {
  return messages.map((m) => String(m.message_id));
}
