// The seller's view of a running broadcast, from its events: one progress message sent when
// it starts and edited in place as it goes (sent, failed, remaining, estimated finish), a
// word when it is paused, resumed, cancelled or stopped by the channel, and the final report
// as a new message. On a channel that cannot edit, the outbox sends each update as a new
// message, so there only the quarters (25/50/75 %) are told.
import type { ChannelAddress, ChannelCapabilities, EngineLog, Outbound, Outbox } from "../engine/index.ts";
import { commandChoice } from "../engine/command-choice.ts";
import type { Locale } from "../engine/message.ts";
import { t } from "../../locales/i18n.ts";
import { formatWhen } from "../../locales/format-when.ts";
import { storeSettings } from "../ordering/store-settings.ts";
import { BROADCAST_COMMANDS, type BroadcastCounts, type BroadcastEvent, type BroadcastService, type BroadcastView, type ProgressChat } from "./contract.ts";
import { channelName, countsText, formatCount, remainingOf } from "./broadcast-lines.ts";

export interface ProgressOptions {
  /** What a channel can do (`(name) => channels.get(name)?.capabilities`); without it, learnt from the first edit's report. */
  capabilitiesOf?: (channel: string) => ChannelCapabilities | undefined;
  /** Edits closer together than this are left out (the next one carries the counts). Default 3 s. */
  minEditIntervalMs?: number;
  now?: () => Date;
}

interface Tracked {
  messageId?: string;
  lastEditAt?: number;
  /** The last quarter told on a channel without edits (0–3). */
  quarter: number;
  /** Events of one broadcast are handled in order. */
  queue: Promise<void>;
}

const QUARTERS = 4;

/**
 * The listener the broadcast runner's events go to: `broadcasting.on(broadcastProgress(outbox, broadcasts, log))`.
 * Never throws and never blocks the runner: each event is handled in the background, in
 * order per broadcast, and a failed send is only logged.
 */
export function broadcastProgress(
  outbox: Pick<Outbox, "send" | "edit">,
  broadcasts: BroadcastService | (() => BroadcastService | undefined),
  log: EngineLog,
  options: ProgressOptions = {},
): (event: BroadcastEvent) => void {
  const domain = () => (typeof broadcasts === "function" ? broadcasts() : broadcasts);
  const now = options.now ?? (() => new Date());
  const minEditIntervalMs = options.minEditIntervalMs ?? 3_000;
  const tracked = new Map<string, Tracked>();
  /** Channels seen to answer an edit with a new message. */
  const noEdits = new Set<string>();
  const canEdit = (channel: string) => !noEdits.has(channel) && (options.capabilitiesOf?.(channel)?.messageEdits ?? true);

  const trackedOf = (broadcast: BroadcastView): Tracked => {
    let entry = tracked.get(broadcast.id);
    if (!entry) {
      entry = { quarter: 0, queue: Promise.resolve(), ...(broadcast.progressChat?.messageId && { messageId: broadcast.progressChat.messageId }) };
      tracked.set(broadcast.id, entry);
    }
    return entry;
  };

  const addressOf = (broadcast: BroadcastView, chat: ProgressChat): ChannelAddress => ({ tenantId: broadcast.tenantId, channel: chat.channel, chatId: chat.chatId });

  const send = async (broadcast: BroadcastView, chat: ProgressChat, outbound: Outbound): Promise<string | undefined> => {
    const report = await outbox.send(addressOf(broadcast, chat), [outbound], { locale: chat.locale ?? "id" });
    if (!report.ok) log.warn("broadcast notice not sent", { broadcast: broadcast.number, reason: report.reason });
    return report.messages[0]?.messageIds[0];
  };

  const startProgress = async (broadcast: BroadcastView, chat: ProgressChat, entry: Tracked, counts: BroadcastCounts | undefined) => {
    const messageId = await send(broadcast, chat, await progressMessage(broadcast, chat.locale ?? "id", counts, undefined, now()));
    if (messageId === undefined) return;
    entry.messageId = messageId;
    entry.lastEditAt = now().getTime();
    await domain()?.setProgressMessage(broadcast.tenantId, broadcast.number, messageId);
  };

  const updateProgress = async (broadcast: BroadcastView, chat: ProgressChat, entry: Tracked, counts: BroadcastCounts, etaSec: number | undefined) => {
    if (entry.messageId === undefined) return startProgress(broadcast, chat, entry, counts);
    const locale = chat.locale ?? "id";
    if (!canEdit(chat.channel)) {
      const quarter = counts.total > 0 ? Math.floor(((counts.total - remainingOf(counts)) / counts.total) * QUARTERS) : 0;
      if (quarter <= entry.quarter || quarter >= QUARTERS) return;
      entry.quarter = quarter;
      await send(broadcast, chat, await progressMessage(broadcast, locale, counts, etaSec, now()));
      return;
    }
    const at = now().getTime();
    if (entry.lastEditAt !== undefined && at - entry.lastEditAt < minEditIntervalMs) return;
    entry.lastEditAt = at;
    const report = await outbox.edit(addressOf(broadcast, chat), entry.messageId, await progressMessage(broadcast, locale, counts, etaSec, now()), { locale });
    if (!report.ok) log.warn("broadcast progress not updated", { broadcast: broadcast.number, reason: report.reason });
    // The outbox sent a new message: this channel cannot edit, so from now on only the quarters.
    const id = report.messages[0]?.messageIds[0];
    if (report.ok && id !== undefined && id !== entry.messageId) noEdits.add(chat.channel);
  };

  const handle = async (event: BroadcastEvent) => {
    const { broadcast } = event;
    const chat = broadcast.progressChat;
    if (!chat) return;
    const entry = trackedOf(broadcast);
    const locale = chat.locale ?? "id";
    switch (event.type) {
      case "started":
        if (entry.messageId === undefined) await startProgress(broadcast, chat, entry, broadcast.counts);
        return;
      case "progress":
        return updateProgress(broadcast, chat, entry, event.counts, event.etaSec);
      case "finished":
        tracked.delete(broadcast.id);
        await send(broadcast, chat, finalReport(broadcast, locale, event.counts));
        return;
      case "paused":
      case "resumed":
      case "cancelled":
        if (event.type === "cancelled") tracked.delete(broadcast.id);
        await send(broadcast, chat, stateNotice(event.type, broadcast, locale, event.by?.name));
        return;
      case "restricted":
        await send(broadcast, chat, restrictedNotice(broadcast, locale, event.channel));
        return;
    }
  };

  return (event) => {
    const entry = trackedOf(event.broadcast);
    entry.queue = entry.queue.then(
      () => handle(event),
    ).catch((error: unknown) => {
      log.error("broadcast notice failed", { broadcast: event.broadcast.number, event: event.type, error: error instanceof Error ? error.message : String(error) });
    });
  };
}

async function progressMessage(broadcast: BroadcastView, locale: Locale, counts: BroadcastCounts | undefined, etaSec: number | undefined, now: Date): Promise<Outbound> {
  const timeZone = (await storeSettings(broadcast.tenantId))?.timezone ?? "Asia/Jakarta";
  const eta = etaSec === undefined ? t(locale, "broadcast.progress.eta_unknown") : formatWhen(new Date(now.getTime() + etaSec * 1000), { locale, timeZone });
  const shown = counts ?? broadcast.counts;
  return {
    text: {
      key: "broadcast.progress.running",
      params: { number: broadcast.number, counts: shown ? countsText(locale, shown) : t(locale, "broadcast.progress.preparing"), eta },
    },
    choices: [commandChoice({ key: "broadcast.action.pause" }, BROADCAST_COMMANDS.compose, broadcast.number, "jeda")],
  };
}

/** "diblokir 3 · tidak terjangkau 1", or "-". */
function byReason(locale: Locale, tally: Record<string, number>, area: "reason" | "skip"): string {
  const parts = Object.entries(tally)
    .filter(([, count]) => count > 0)
    .map(([reason, count]) => {
      const key = `broadcast.${area}.${reason}`;
      const word = t(locale, key);
      return `${word === key ? reason : word} ${formatCount(locale, count)}`;
    });
  return parts.length > 0 ? parts.join(" · ") : "-";
}

function finalReport(broadcast: BroadcastView, locale: Locale, counts: BroadcastCounts): Outbound {
  const lines = [
    t(locale, "broadcast.report.title", { number: broadcast.number }),
    t(locale, "broadcast.report.delivered", { sent: formatCount(locale, counts.sent), total: formatCount(locale, counts.total) }),
    t(locale, "broadcast.report.failed", { failed: formatCount(locale, counts.failed), reasons: byReason(locale, counts.failedBy, "reason") }),
    t(locale, "broadcast.report.skipped", { skipped: formatCount(locale, counts.skipped), reasons: byReason(locale, counts.skippedBy, "skip") }),
  ];
  if (broadcast.optedOutSince) lines.push(t(locale, "broadcast.report.opted_out_since", { count: formatCount(locale, broadcast.optedOutSince) }));
  if (counts.inDoubt > 0) lines.push(t(locale, "broadcast.report.in_doubt", { count: formatCount(locale, counts.inDoubt) }));
  return { text: { inline: { [locale]: lines.join("\n") } } };
}

function stateNotice(type: "paused" | "resumed" | "cancelled", broadcast: BroadcastView, locale: Locale, by: string | undefined): Outbound {
  const params = { number: broadcast.number, by: by ?? t(locale, "broadcast.progress.someone"), command: BROADCAST_COMMANDS.compose };
  const choices =
    type === "paused"
      ? [commandChoice({ key: "broadcast.action.resume" }, BROADCAST_COMMANDS.compose, broadcast.number, "lanjut")]
      : type === "resumed"
        ? [commandChoice({ key: "broadcast.action.pause" }, BROADCAST_COMMANDS.compose, broadcast.number, "jeda")]
        : [];
  const counts = broadcast.counts ? `\n${countsText(locale, broadcast.counts)}` : "";
  return { text: { inline: { [locale]: t(locale, `broadcast.progress.${type}`, params) + counts } }, choices };
}

function restrictedNotice(broadcast: BroadcastView, locale: Locale, channel: string): Outbound {
  return {
    text: { key: "broadcast.progress.restricted", params: { number: broadcast.number, channel: channelName(locale, channel), command: BROADCAST_COMMANDS.compose } },
    choices: [commandChoice({ key: "broadcast.action.resume" }, BROADCAST_COMMANDS.compose, broadcast.number, "lanjut")],
  };
}
