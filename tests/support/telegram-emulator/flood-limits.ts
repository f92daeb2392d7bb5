// Telegram's flood control, as the emulator enforces it when a test asks: at most
// `perChatPerSecond` messages in one chat and `perBotPerSecond` for the whole bot in any
// one-second window; over that, 429 "Too Many Requests: retry after N" with
// `parameters.retry_after` = the seconds until the window has room again. Counted: calls
// that put or change a message in a chat (send*, copy*, forward*, edit*; not
// sendChatAction), at the moment the emulator receives them; refused calls do not count.
// Telegram's real limits are fuzzier; these are the ones it documents.
import { performance } from "node:perf_hooks";

export interface FloodLimits {
  /** Messages in one chat per second. */
  readonly perChatPerSecond?: number;
  /** Messages of the whole bot per second. */
  readonly perBotPerSecond?: number;
}

const WINDOW_MS = 1000;

export function countsAsMessage(method: string): boolean {
  return /^(send|copy|forward|edit)/i.test(method) && method.toLowerCase() !== "sendchataction";
}

/** One bot's recent messages, to hold against the limits. */
export class FloodWindows {
  private botTimes: number[] = [];
  private readonly chatTimes = new Map<string, number[]>();

  /** Admits a message into `chat` now, or returns the `retry_after` seconds to refuse it with. */
  admit(limits: FloodLimits, chat: string | undefined, now = performance.now()): number | undefined {
    const cutoff = now - WINDOW_MS;
    this.botTimes = this.botTimes.filter((t) => t > cutoff);
    const chatTimes = chat === undefined ? [] : (this.chatTimes.get(chat) ?? []).filter((t) => t > cutoff);
    const waits = [
      waitFor(this.botTimes, limits.perBotPerSecond, now),
      chat === undefined ? undefined : waitFor(chatTimes, limits.perChatPerSecond, now),
    ].filter((w): w is number => w !== undefined);
    if (waits.length > 0) return Math.max(1, Math.ceil(Math.max(...waits) / 1000));
    this.botTimes.push(now);
    if (chat !== undefined) {
      chatTimes.push(now);
      this.chatTimes.set(chat, chatTimes);
    }
    return undefined;
  }
}

/** Milliseconds until `times` (within the window, oldest first) has room for one more, or undefined when it has. */
function waitFor(times: number[], limit: number | undefined, now: number): number | undefined {
  if (limit === undefined || times.length < limit) return undefined;
  return times[times.length - limit] + WINDOW_MS - now;
}
