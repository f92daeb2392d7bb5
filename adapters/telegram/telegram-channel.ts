/**
 * Telegram as a channel of the platform: every store's bot (`StoreBots`) behind the
 * engine's `Channel` contract, so `bots/` starts, stops, sweeps and sends through it
 * without naming Telegram.
 *
 * ```ts
 * const telegram = new TelegramChannel({ engine, encryptionKey, apiRoot, publicUrl, http, log, logFor });
 * await telegram.start();                       // every active store's bot
 * await outbox.send({ tenantId, channel: "telegram", chatId }, [notice]);
 * await telegram.stores.suspend(tenantId);      // per-store operations, for the CLI
 * await telegram.stop(10_000);
 * ```
 *
 * `routes` is the webhook (`POST /telegram/:tenant`), which `bots/` registers on the platform's server.
 */
import type { FastifyPluginAsync } from "fastify";
import { FileFetchError } from "../../flows/engine/index.ts";
import type {
  Channel,
  ChannelAddress,
  ChannelCapabilities,
  ChannelStoresReport,
  MembershipChange,
  Outbound,
  SendOptions,
  SendReport,
  StoreChangeSet,
} from "../../flows/engine/index.ts";
import { StoreBotError } from "./bot-status.ts";
import { TELEGRAM_CHANNEL } from "./customer-records.ts";
import { TelegramFileError } from "./file-download.ts";
import { StoreBots } from "./store-bots.ts";
import type { StoreBotsOptions } from "./store-bots.ts";

/**
 * What a Telegram chat shows: inline buttons, edited messages, photos and documents, 4096
 * characters a message. The channel asks a sender's `committing` itself, after the bot's
 * flood-limit pacing.
 */
export const TELEGRAM_CAPABILITIES: ChannelCapabilities = { buttons: true, messageEdits: true, media: true, maxTextLength: 4096, commitsSends: true };

export class TelegramChannel implements Channel {
  readonly name = TELEGRAM_CHANNEL;
  readonly capabilities = TELEGRAM_CAPABILITIES;
  /** Each store's bot: start, stop, restart, retoken, suspend, resume, switchMode, reconcile, status. */
  readonly stores: StoreBots;

  constructor(options: StoreBotsOptions | StoreBots) {
    this.stores = options instanceof StoreBots ? options : new StoreBots(options);
  }

  get routes(): FastifyPluginAsync {
    return this.stores.routes;
  }

  async start(): Promise<ChannelStoresReport> {
    const report = await this.stores.startAll();
    return { started: report.started, stopped: [], failed: report.failed };
  }

  stop(graceMs: number): Promise<boolean> {
    return this.stores.close(graceMs);
  }

  async followStoreChanges(changes?: StoreChangeSet): Promise<ChannelStoresReport> {
    const { started, stopped, failed, checked } = await this.stores.reconcileChanged(changes);
    return { started, stopped, failed, checked };
  }

  send(to: ChannelAddress, outbounds: readonly Outbound[], options?: SendOptions): Promise<SendReport> {
    return this.stores.sendTo(to.tenantId, to.chatId, outbounds, options);
  }

  edit(to: ChannelAddress, messageId: string, outbound: Outbound, options: Pick<SendOptions, "locale"> = {}): Promise<SendReport> {
    return this.stores.edit(to.tenantId, to.chatId, messageId, outbound, options);
  }

  async fetchFile(tenantId: string, fileRef: string, options: { maxBytes: number }): Promise<Buffer> {
    try {
      return await this.stores.downloadFile(tenantId, fileRef, options);
    } catch (error) {
      if (error instanceof TelegramFileError) throw new FileFetchError(error.message, error.reason === "too-large" ? "too-large" : "not-found");
      if (error instanceof StoreBotError) throw new FileFetchError(error.message, "store-unavailable");
      throw new FileFetchError(error instanceof Error ? error.message : String(error), "failed");
    }
  }

  membershipChanged(change: MembershipChange): Promise<void> {
    return this.stores.memberChanged(change);
  }
}
