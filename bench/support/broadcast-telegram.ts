// The Telegram side of `npm run bench:broadcast`, in its own process so its CPU is not the
// platform's: the Bot API emulator with Telegram's documented flood limits enforced (30
// messages/s per bot, 1/s per chat), the broadcast's audience (users with an open chat), and
// one customer who keeps talking to the store — `/katalog` a second after each answer, the
// time from sending it to the store's answer reaching the emulator recorded with the phase the
// coordinator says the run is in. Timestamps are wall-clock milliseconds, comparable with
// the coordinator's.
//
// Run by `bench/broadcast.ts` (`--role telegram`), asked over IPC:
//   setup {recipients, floodLimits}   → ready {apiRoot, token, audience, talker}
//   talk                              → talking           (the conversation starts)
//   phase {phase}                     → phased            (later samples carry it)
//   watch {marker}                    → progress {received}, every 200 ms from then on
//   report {marker}                   → report {…}        (everything counted)
//   stop                              → exits
import { performance } from "node:perf_hooks";
import type { Message } from "grammy/types";
import { openChats, tallyDeliveries } from "../../tests/support/broadcast-chats.ts";
import { startTelegramEmulator, type FloodLimits } from "../../tests/support/telegram-emulator.ts";

export interface Person {
  id: number;
  first_name: string;
}

export interface TalkSample {
  phase: string;
  /** When the customer wrote (wall clock, ms). */
  at: number;
  /** Until the store's greeting arrived; undefined when none came within the wait. */
  ms?: number;
}

export interface SideReport {
  /** Arrival times (wall clock, ms) of every broadcast message, in order. */
  arrivals: number[];
  reached: number;
  messages: number;
  missing: number;
  duplicated: number;
  strangers: number;
  /** Calls the emulator refused with 429 under its flood limits: broadcast messages and the rest. */
  refused: { broadcast: number; other: number };
  /** The first few refused calls: method, chat, when (wall clock, ms). */
  refusedSample: Array<{ method: string; chat: unknown; at: number }>;
  talk: TalkSample[];
}

export type ToSide =
  | { type: "setup"; recipients: number; floodLimits: FloodLimits }
  | { type: "talk" }
  | { type: "phase"; phase: string }
  | { type: "watch"; marker: string }
  | { type: "report"; marker: string }
  | { type: "stop" };

export type FromSide =
  | { type: "ready"; apiRoot: string; token: string; audience: Person[]; talker: Person }
  | { type: "talking" }
  | { type: "phased" }
  | { type: "progress"; received: number }
  | { type: "report"; report: SideReport };

/** A greeting slower than this counts as not answered (the platform was down). */
const REPLY_WAIT_MS = 30_000;
const TALK_EVERY_MS = 1000;
/**
 * The store has no products, so `/katalog` is answered with one message and no buttons: a
 * turn whose answer has buttons also takes the buttons off the previous answer (an edit in
 * the same chat at the same moment), which the emulator's strict one-a-second per chat
 * refuses with a 429 whether or not a broadcast runs.
 */
const TALK_COMMAND = "/katalog";

/** The emulator stamps calls with `performance.now()`; this clock's wall time for one of those stamps. */
const wallClock = (monotonic: number) => Date.now() - performance.now() + monotonic;
const words = (m: Message) => m.text ?? m.caption ?? "";

export async function runTelegramSide(): Promise<void> {
  const tg = await startTelegramEmulator();
  const { token } = tg.bot();
  const send = (message: FromSide) => process.send!(message);
  let audience: Person[] = [];
  let talker: Person | undefined;
  let phase = "baseline";
  let talking = false;
  const talk: TalkSample[] = [];

  const converse = async () => {
    while (talking) {
      const began = Date.now();
      const asked = await tg.sendCommand(token, talker as never, TALK_COMMAND);
      const sample: TalkSample = { phase, at: began };
      const answered = await tg.waitForSent(token, talker!.id, (m) => m.message_id > asked.message_id && words(m).length > 0, REPLY_WAIT_MS).catch(() => undefined);
      if (answered) sample.ms = Date.now() - began;
      talk.push(sample);
      // A second after the answer: two answers in the chat never come within Telegram's one a second.
      await new Promise((resolve) => setTimeout(resolve, TALK_EVERY_MS));
    }
  };

  const broadcastCalls = (marker: string) =>
    tg.calls(token).filter((c) => /^send/i.test(c.method) && String(c.params.text ?? c.params.caption ?? "").includes(marker));

  process.on("disconnect", () => process.exit(0));
  process.on("message", async (message: ToSide) => {
    if (message.type === "setup") {
      audience = openChats(tg, token, message.recipients).map((u) => ({ id: u.id, first_name: u.first_name }));
      const user = tg.user({ first_name: "Pelanggan Ngobrol", language_code: "id" });
      talker = { id: user.id, first_name: user.first_name };
      tg.openChat(token, user);
      tg.enforceFloodLimits(message.floodLimits);
      send({ type: "ready", apiRoot: tg.apiRoot, token, audience, talker });
    } else if (message.type === "talk") {
      talking = true;
      void converse();
      send({ type: "talking" });
    } else if (message.type === "phase") {
      phase = message.phase;
      send({ type: "phased" });
    } else if (message.type === "watch") {
      const tell = () => send({ type: "progress", received: broadcastCalls(message.marker).filter((c) => c.response?.ok === true).length });
      tell();
      setInterval(tell, 200).unref();
    } else if (message.type === "report") {
      talking = false;
      const calls = broadcastCalls(message.marker);
      const arrivals = calls.filter((c) => c.response?.ok === true).map((c) => wallClock(c.receivedAt)).sort((a, b) => a - b);
      const refusedBroadcast = calls.filter((c) => c.floodRefused).length;
      const tally = tallyDeliveries(tg.sent(token), audience, (m) => words(m).includes(message.marker));
      send({
        type: "report",
        report: {
          arrivals, reached: tally.reached, messages: tally.messages, missing: tally.missing.length,
          duplicated: tally.duplicated.length, strangers: tally.strangers.length,
          refused: { broadcast: refusedBroadcast, other: tg.floodRefusals(token).length - refusedBroadcast },
          refusedSample: tg.floodRefusals(token).slice(0, 10).map((c) => ({ method: c.method, chat: c.params.chat_id, at: wallClock(c.receivedAt) })),
          talk,
        },
      });
    } else if (message.type === "stop") {
      talking = false;
      await tg.stop();
      process.exit(0);
    }
  });
}

const role = process.argv[process.argv.indexOf("--role") + 1];
if (role === "telegram") await runTelegramSide();
