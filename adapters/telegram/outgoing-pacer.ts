/**
 * Keeps one bot's outgoing messages inside Telegram's flood limits: about one message per
 * second in a chat, about thirty per second for the whole bot, and after a 429 nothing at
 * all until its `retry_after` has passed — a flood wait holds the whole bot, not one chat.
 * A grammY transformer, installed under `resilientCalls` so that its retries are paced too:
 *
 * ```ts
 * const pacer = new OutgoingPacer();                 // one per bot, shared by every Api of that token
 * bot.api.config.use(pacer.transformer());
 * bot.api.config.use(resilientCalls({ … }));
 * await sendingProactively(() => bot.api.sendMessage(chatId, "Pesananmu sudah dikirim"));
 * ```
 *
 * Three kinds of sends share the bot's budget, each going only when none of the kinds
 * before it waits. Replies within a conversation go first and are not spaced within their
 * chat (a turn's two or three messages are a burst Telegram tolerates); they are counted,
 * though. Sends made inside `sendingProactively` — deliveries, reminders — come next, and
 * bulk ones (`{ bulk: true }`: broadcasts) last; both are spaced per chat as well, in the
 * order they were asked for.
 *
 * A proactive batch may carry the sender's last word (`committing`): asked once, when the
 * batch's first call has been admitted — by this pacer and by the shared window — and is
 * about to go on the wire; a retry of that call, and the batch's later calls, do not ask
 * again. When it answers `false` nothing goes out: the call fails with `NotCommittedError`.
 *
 * A call's slot is counted from when it is sent until a window after its answer arrived,
 * so however slow the network, Telegram never sees more than the limit in any window; the
 * price is a little throughput (30 per 1 s + one round trip).
 *
 * Several instances sending for one bot share its budget through `shared` (a Redis
 * window, `storage/shared-pace.ts`): a call admitted here also takes a slot of the bot's
 * window there, and a 429 seen by one instance holds the bot on every instance. Without
 * it the limits hold within this process only.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { performance } from "node:perf_hooks";
import type { Transformer } from "grammy";
import type { ApiError } from "grammy/types";
import type { SharedPace } from "../../storage/shared-pace.ts";
import type { CallSignal } from "./api-resilience.ts";

export interface OutgoingLimits {
  /** Messages in one chat per window, for proactive sends. Default 1. */
  perChat?: number;
  /** Messages of the whole bot per window. Default 30. */
  perBot?: number;
  /** Default 1000 ms. */
  windowMs?: number;
  /**
   * The longest flood wait (a 429's `retry_after`) queued sends sit out. When Telegram asks
   * for longer, they fail at once with a 429 of the same `retry_after`, without reaching
   * Telegram. Default 30 s, what `resilientCalls` waits for at most.
   */
  maxFloodWaitSec?: number;
  /** Milliseconds from a monotonic clock; tests may pass their own. */
  now?: () => number;
  /** The bot's budget shared with the other instances, under `key` (not a secret: the store's id). */
  shared?: { pace: SharedPace; key: string };
}

/** The pacer was closed (the process is shutting down) while the call waited for its turn. */
export class PacerClosedError extends Error {
  override name = "PacerClosedError";
  constructor() {
    super("the bot is shutting down; the message was not sent");
  }
}

/** The sender of a batch said not to send it (it lost its claim): nothing went out. */
export class NotCommittedError extends Error {
  override name = "NotCommittedError";
  constructor() {
    super("the sender withdrew the message before it went out");
  }
}

type Kind = "reply" | "proactive" | "bulk";
const KINDS: readonly Kind[] = ["reply", "proactive", "bulk"];

interface Sending {
  kind: Kind;
  committing?: () => Promise<boolean>;
  /** The sender's answer, asked once for the whole batch. */
  committed?: Promise<boolean>;
}
const sending = new AsyncLocalStorage<Sending>();

/**
 * Runs `work` with its Bot API calls paced as proactive sends: behind replies (and, with
 * `bulk`, behind other proactive sends too), spaced per chat. `committing` is asked once,
 * right before the first of them goes on the wire.
 */
export function sendingProactively<T>(work: () => Promise<T>, opts: { bulk?: boolean; committing?: () => Promise<boolean> } = {}): Promise<T> {
  return sending.run({ kind: opts.bulk ? "bulk" : "proactive", ...(opts.committing && { committing: opts.committing }) }, work);
}

/** Asks the batch's sender, the first time only; throws `NotCommittedError` when it says no. */
async function commit(batch: Sending | undefined): Promise<void> {
  if (!batch?.committing) return;
  batch.committed ??= batch.committing();
  if (!(await batch.committed)) throw new NotCommittedError();
}

/** What Telegram's flood limits count: calls that put or change a message in a chat. */
export function countsAsMessage(method: string): boolean {
  return /^(send|copy|forward|edit)/i.test(method) && method.toLowerCase() !== "sendchataction";
}

interface ChatTraffic {
  inFlight: number;
  /** When this chat's recent calls were answered, oldest first. */
  answered: number[];
}

interface Waiter {
  chat: string | undefined;
  admit(): void;
  refuse(outcome: ApiError | PacerClosedError): void;
}

export class OutgoingPacer {
  readonly #perChat: number;
  readonly #perBot: number;
  readonly #windowMs: number;
  readonly #maxFloodWaitMs: number;
  readonly #now: () => number;
  readonly #shared: OutgoingLimits["shared"];
  #inFlight = 0;
  /** When the bot's recent calls were answered, oldest first. */
  #answered: number[] = [];
  readonly #chats = new Map<string, ChatTraffic>();
  readonly #queues: Record<Kind, Waiter[]> = { reply: [], proactive: [], bulk: [] };
  #blockedUntil = 0;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #lastSweep = 0;
  #closed = false;

  constructor(limits: OutgoingLimits = {}) {
    this.#perChat = Math.max(1, limits.perChat ?? 1);
    this.#perBot = Math.max(1, limits.perBot ?? 30);
    this.#windowMs = limits.windowMs ?? 1000;
    this.#maxFloodWaitMs = (limits.maxFloodWaitSec ?? 30) * 1000;
    this.#now = limits.now ?? (() => performance.now());
    this.#shared = limits.shared;
  }

  /** Calls waiting for their turn. */
  get queued(): number {
    return KINDS.reduce((sum, kind) => sum + this.#queues[kind].length, 0);
  }

  /** Seconds left of the flood wait Telegram imposed on the bot (0 when none). */
  get floodWaitSec(): number {
    return Math.max(0, Math.ceil((this.#blockedUntil - this.#now()) / 1000));
  }

  transformer(): Transformer {
    return async (prev, method, payload, signal) => {
      if (!countsAsMessage(method)) return prev(method, payload, signal);
      const chat = chatOf(payload);
      const batch = sending.getStore();
      const refused = await this.#turn(chat, batch?.kind ?? "reply", signal as CallSignal | undefined);
      if (refused === "aborted") return prev(method, payload, signal);
      if (refused) return refused;
      try {
        const shared = await this.#sharedSlot(signal as CallSignal | undefined);
        if (shared && "ok" in shared) return shared;
        const result = await commit(batch).then(() => prev(method, payload, signal)).finally(() => {
          if (shared?.slot && this.#shared) void this.#shared.pace.answered(this.#shared.key, shared.slot, this.#windowMs).catch(() => undefined);
        });
        const retryAfter = result.ok ? undefined : result.parameters?.retry_after;
        if (!result.ok && result.error_code === 429 && typeof retryAfter === "number") {
          this.#floodWait(retryAfter);
          if (this.#shared) void this.#shared.pace.hold(this.#shared.key, retryAfter * 1000).catch(() => undefined);
        }
        return result;
      } finally {
        this.#done(chat);
      }
    };
  }

  /** Refuses every call still waiting, and any later one. For shutdown, after the replies under way are out. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timerAt = Infinity;
    for (const waiter of this.#takeAll()) waiter.refuse(new PacerClosedError());
  }

  // ---------------------------------------------------------------- internals

  /**
   * Waits for a slot of the bot's budget shared with the other instances (none without
   * `shared`); a wait longer than `maxFloodWaitSec` is refused as a local flood wait.
   */
  async #sharedSlot(signal: CallSignal | undefined): Promise<ApiError | { slot?: string } | undefined> {
    if (!this.#shared) return undefined;
    const { pace, key } = this.#shared;
    for (;;) {
      const { waitMs, slot } = await pace.take(key, this.#perBot, this.#windowMs).catch(() => ({ waitMs: 0, slot: undefined }));
      if (waitMs <= 0) return { ...(slot !== undefined && { slot }) };
      if (signal?.aborted) return undefined;
      if (waitMs > this.#maxFloodWaitMs) return localFloodWait(waitMs);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, waitMs);
        function done() {
          clearTimeout(timer);
          signal?.removeEventListener("abort", done);
          resolve();
        }
        signal?.addEventListener("abort", done, { once: true });
      });
    }
  }

  /** Resolves when the call may go: undefined, or why it must not ("aborted": go unpaced, to fail as aborted). */
  #turn(chat: string | undefined, kind: Kind, signal: CallSignal | undefined): Promise<ApiError | "aborted" | undefined> {
    if (this.#closed) return Promise.reject(new PacerClosedError());
    const wait = this.#blockedUntil - this.#now();
    if (wait > this.#maxFloodWaitMs) return Promise.resolve(localFloodWait(wait));
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const queue = this.#queues[kind];
        const index = queue.indexOf(waiter);
        if (index >= 0) queue.splice(index, 1);
        resolve("aborted");
      };
      const waiter: Waiter = {
        chat,
        admit: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve(undefined);
        },
        refuse: (outcome) => {
          signal?.removeEventListener("abort", onAbort);
          if (outcome instanceof PacerClosedError) reject(outcome);
          else resolve(outcome);
        },
      };
      if (signal?.aborted) return resolve("aborted");
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#queues[kind].push(waiter);
      this.#pump();
    });
  }

  #takeAll(): Waiter[] {
    return KINDS.flatMap((kind) => this.#queues[kind].splice(0));
  }

  #done(chat: string | undefined): void {
    const now = this.#now();
    this.#inFlight -= 1;
    this.#answered.push(now);
    if (chat !== undefined) {
      const traffic = this.#chats.get(chat);
      if (traffic) {
        traffic.inFlight -= 1;
        traffic.answered.push(now);
      }
    }
    this.#pump();
  }

  #floodWait(retryAfterSec: number): void {
    this.#blockedUntil = Math.max(this.#blockedUntil, this.#now() + retryAfterSec * 1000);
    this.#pump();
  }

  /** Admits every waiter that may go now, in order, and sets a timer for the next one. */
  #pump(): void {
    if (this.#closed) return;
    const now = this.#now();
    this.#forgetBefore(now - this.#windowMs);
    let wakeAt = Infinity;
    const blocked = this.#blockedUntil - now;
    if (blocked > 0) {
      if (blocked > this.#maxFloodWaitMs) {
        for (const waiter of this.#takeAll()) waiter.refuse(localFloodWait(blocked));
        return;
      }
      wakeAt = this.#blockedUntil;
    } else {
      for (;;) {
        const botFreeAt = this.#freeAt(this.#inFlight, this.#answered, this.#perBot);
        if (botFreeAt > now) {
          wakeAt = botFreeAt;
          break;
        }
        let next = this.#queues.reply.shift();
        let chatFreeAt = Infinity;
        for (const kind of ["proactive", "bulk"] as const) {
          if (next) break;
          const queue = this.#queues[kind];
          const index = queue.findIndex((waiter) => {
            const freeAt = this.#chatFreeAt(waiter.chat, now);
            if (freeAt <= now) return true;
            chatFreeAt = Math.min(chatFreeAt, freeAt);
            return false;
          });
          if (index >= 0) next = queue.splice(index, 1)[0];
        }
        if (!next) {
          wakeAt = chatFreeAt;
          break;
        }
        this.#inFlight += 1;
        if (next.chat !== undefined) {
          let traffic = this.#chats.get(next.chat);
          if (!traffic) this.#chats.set(next.chat, (traffic = { inFlight: 0, answered: [] }));
          traffic.inFlight += 1;
        }
        next.admit();
      }
    }
    if (this.queued === 0) return;
    this.#wakeAt(wakeAt);
  }

  /** When one more call fits: now-ish when it does, Infinity when only an answer can free a slot. */
  #freeAt(inFlight: number, answered: number[], limit: number): number {
    const over = inFlight + answered.length - limit;
    if (over < 0) return -Infinity;
    if (inFlight >= limit) return Infinity;
    return answered[over] + this.#windowMs;
  }

  #chatFreeAt(chat: string | undefined, now: number): number {
    const traffic = chat === undefined ? undefined : this.#chats.get(chat);
    if (!traffic) return -Infinity;
    dropUntil(traffic.answered, now - this.#windowMs);
    return this.#freeAt(traffic.inFlight, traffic.answered, this.#perChat);
  }

  #forgetBefore(cutoff: number): void {
    dropUntil(this.#answered, cutoff);
    // Chats nobody waits for are dropped once idle, so memory follows the chats written to lately.
    if (cutoff - this.#lastSweep >= this.#windowMs) {
      this.#lastSweep = cutoff;
      for (const [chat, traffic] of this.#chats) {
        dropUntil(traffic.answered, cutoff);
        if (traffic.inFlight === 0 && traffic.answered.length === 0) this.#chats.delete(chat);
      }
    }
  }

  #wakeAt(at: number): void {
    if (at === Infinity || at >= this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#pump();
    }, Math.max(1, Math.ceil(at - this.#now())));
  }
}

function dropUntil(times: number[], cutoff: number): void {
  let expired = 0;
  while (expired < times.length && times[expired] <= cutoff) expired += 1;
  if (expired > 0) times.splice(0, expired);
}

function chatOf(payload: unknown): string | undefined {
  const id = (payload as { chat_id?: unknown } | undefined)?.chat_id;
  return typeof id === "number" || typeof id === "string" ? String(id) : undefined;
}

function localFloodWait(ms: number): ApiError {
  const retryAfter = Math.max(1, Math.ceil(ms / 1000));
  return {
    ok: false,
    error_code: 429,
    description: `Too Many Requests: retry after ${retryAfter} (held back here: the bot is waiting out a flood limit)`,
    parameters: { retry_after: retryAfter },
  };
}
