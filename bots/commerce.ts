/**
 * The store's business, wired: the ordering domain (orders, payments, delivery, SNK), its
 * payment gateways, its jobs, the sellers' alerts, and the flows customers and sellers talk
 * to — built once per process and handed to the engine. `niaga start`, `niaga chat` and
 * the demo all build it here, so a purchase works the same in each.
 *
 * ```ts
 * const commerce = createCommerce({
 *   messages,                                 // CustomerMessages: Telegram, console, …
 *   encryptionKey,
 *   payPageUrl: () => config.publicUrl,       // where customers open the simulator's pay page
 *   webhookUrl: () => localUrl,               // where that page calls the platform back
 *   agenda: scheduler.agenda,                 // per-order timers and the jobs; optional
 *   files: { telegram: (tenantId, ref, opts) => telegram.downloadFile(tenantId, ref, opts) },
 * });
 * const engine = createEngine({ ...commerce.flows, … });
 * ```
 *
 * In the platform process `wireCommerce` does this and more: the payment routes on the
 * HTTP server, the recurring jobs, and delivery of orders paid before a crash.
 */
import { open } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import type { Agenda, Job } from "agenda";
import type { FlowBundle } from "../flows/engine/flow-bundle.ts";
import { defineOrderJobs, orderJobTimers, scheduleRecurringOrderJobs } from "../flows/ordering/order-jobs.ts";
import { createOrdering, type Ordering } from "../flows/ordering/ordering.ts";
import type { OrderingEvent } from "../flows/ordering/ordering-deps.ts";
import { gatewayMap } from "../flows/ordering/payments/gateway.ts";
import { manualGateway } from "../flows/ordering/payments/manual.ts";
import { paymentRoutes } from "../flows/ordering/payments/payment-webhooks.ts";
import { simulatorGateway, simulatorSecretFrom, type SimulatorGateway } from "../flows/ordering/payments/simulator.ts";
import { createPlatformFlows, platformFlows } from "../flows/platform.ts";
import type { AdminServices, FileFetcher, SellerNotifier } from "../flows/tenant-admin/admin-services.ts";
import { checkLowStock, LOW_STOCK_JOB } from "../flows/tenant-admin/low-stock.ts";
import type { PlatformOwnerIds } from "../flows/tenant-admin/permissions.ts";
import { alertSellers, isSellerAlert } from "../flows/tenant-admin/seller-alerts.ts";
import type { RateLimiter } from "../storage/rate-limit.ts";
import type { ConsoleOutbox } from "../adapters/console/console-outbox.ts";
import { requireEncryptionKey, type Config } from "./config.ts";
import { CustomerMessages } from "./customer-messages.ts";
import { customerDeliverySink } from "./delivery-sink.ts";
import { logger } from "./logger.ts";
import type { DomainWiring, PlatformServices } from "./platform-process.ts";

/** Fetches a file a user sent on one channel, by that channel's reference. */
export type ChannelFileFetcher = (tenantId: string, fileRef: string, options: { maxBytes: number }) => Promise<Buffer>;

export interface CommerceOptions {
  /** Reaches customers and sellers outside a turn, on whatever channel they use. */
  messages: CustomerMessages;
  /** `ENCRYPTION_KEY`; the simulator's webhook secret is derived from it. */
  encryptionKey: Buffer;
  /** The base URL customers open pay pages at (`PUBLIC_URL`); read at each payment. */
  payPageUrl: () => string;
  /** The base URL the pay page calls the webhook at; by default `payPageUrl`. */
  webhookUrl?: () => string;
  /**
   * The platform's Agenda: per-order expiry and SNK jobs, low-stock checks. Without it
   * (a `niaga chat` beside a running platform, the demo) the platform's sweeps do that work.
   */
  agenda?: Agenda;
  /** Per channel, how to fetch a file a user sent (payment proofs, stock files). */
  files?: Readonly<Record<string, ChannelFileFetcher>>;
  limiter?: RateLimiter;
  ownerChatIds?: PlatformOwnerIds;
  /** Hears of every member added, re-roled, removed or joined (Telegram updates their command menu). */
  onMembershipChanged?: AdminServices["onMembershipChanged"];
  /**
   * Adds "Pay now (simulator)" to the chat, which presses the pay page's button for the
   * customer: for a terminal, where nobody opens links. The demo only.
   */
  payInChat?: boolean;
}

export interface Commerce {
  readonly ordering: Ordering;
  readonly simulator: SimulatorGateway;
  /** Tells a store's member something in their private chat. */
  readonly notifier: SellerNotifier;
  /** Every flow of the platform, with the services above behind their actions. */
  readonly flows: Required<FlowBundle>;
}

export function createCommerce(opts: CommerceOptions): Commerce {
  const { messages, agenda } = opts;
  const log = logger;
  const simulator = simulatorGateway({
    secret: simulatorSecretFrom(opts.encryptionKey),
    publicUrl: opts.payPageUrl,
    callbackUrl: opts.webhookUrl ?? opts.payPageUrl,
  });
  const notifier = sellerNotifier(messages);

  const checkStockOf = async (event: OrderingEvent) => {
    for (const productId of event.productIds ?? []) {
      if (agenda) await agenda.now(LOW_STOCK_JOB, { tenantId: event.tenantId, productId });
      else await checkLowStock(event.tenantId, productId, notifier, log);
    }
  };
  const onEvent = (event: OrderingEvent) => {
    const work = isSellerAlert(event.type)
      ? alertSellers({ type: event.type, tenantId: event.tenantId, orderCode: event.orderCode }, notifier, log)
      : event.type === "order_placed"
        ? checkStockOf(event)
        : undefined;
    work?.catch((error: unknown) => log.warn("an order event's follow-up failed", { event: event.type, orderCode: event.orderCode, error: (error as Error).message }));
  };

  const ordering = createOrdering({
    sink: customerDeliverySink(messages),
    gateways: gatewayMap(manualGateway(), simulator),
    ...(agenda && { timers: orderJobTimers(agenda) }),
    log,
    onEvent,
  });
  if (agenda) {
    defineOrderJobs(agenda, ordering);
    agenda.define<{ tenantId: string; productId: string }>(
      LOW_STOCK_JOB,
      async (job: Job<{ tenantId: string; productId: string }>) => {
        await checkLowStock(job.attrs.data.tenantId, job.attrs.data.productId, notifier, log);
      },
      { removeOnComplete: true },
    );
  }

  const fetchFile: FileFetcher = (tenantId, fileRef, { maxBytes, channel }) => {
    const fetcher = opts.files?.[channel];
    if (!fetcher) return Promise.reject(new Error(`files sent on ${channel} cannot be fetched in this process`));
    return fetcher(tenantId, fileRef, { maxBytes });
  };
  const flows = createPlatformFlows({
    ordering,
    storefront: { fetchProof: fetchFile, ...(opts.payInChat && { simulatePayment: ({ payUrl }) => pressPayButton(payUrl) }) },
    admin: {
      fileFetcher: fetchFile,
      notifier,
      ...(opts.limiter && { limiter: opts.limiter }),
      ...(opts.ownerChatIds && { ownerChatIds: opts.ownerChatIds }),
      ...(opts.onMembershipChanged && { onMembershipChanged: opts.onMembershipChanged }),
    },
  });
  return { ordering, simulator, notifier, flows };
}

/** A member's private chat, through the same channel adapters customers are reached by. */
export function sellerNotifier(messages: CustomerMessages): SellerNotifier {
  return {
    async notify(to, message) {
      const report = await messages.send({ tenantId: to.tenantId, channel: to.channel, chatId: to.userId }, [message], { locale: to.locale });
      if (!report.ok) throw new Error(`not sent: ${report.reason ?? "failed"}`);
    },
  };
}

/**
 * What a person pressing "Pay" on the simulator's pay page does: posts its form. The page
 * then calls the platform's webhook, signed, exactly as for a browser.
 */
async function pressPayButton(payUrl: string): Promise<boolean> {
  if (!payUrl) return false;
  try {
    const answer = await fetch(payUrl, { method: "POST", redirect: "manual", signal: AbortSignal.timeout(30_000) });
    await answer.body?.cancel();
    const location = answer.headers.get("location") ?? "";
    return answer.status === 303 && new URL(location, payUrl).searchParams.get("r") === "paid";
  } catch (error) {
    logger.warn("the simulator's pay page did not answer", { error: (error as Error).message });
    return false;
  }
}

/**
 * A file on this machine, for the console channel (`!document ./stok.txt` in `niaga chat`):
 * the person at the terminal is the operator, so their paths are theirs to read.
 */
export async function readLocalFile(_tenantId: string, path: string, { maxBytes }: { maxBytes: number }): Promise<Buffer> {
  const file = await open(path, "r");
  try {
    const { size } = await file.stat();
    if (size > maxBytes) throw Object.assign(new Error(`the file is ${size} bytes; at most ${maxBytes} are accepted`), { reason: "too-large" });
    return await file.readFile();
  } finally {
    await file.close();
  }
}

/**
 * The flows of a `niaga chat` session, with the store's business behind them. Buying works;
 * the pay link points at the platform's pay pages (`PUBLIC_URL`, else this machine's
 * `HTTP_PORT`), which a running `niaga start` serves; expiry and reminders are that
 * platform's jobs. Without `ENCRYPTION_KEY` the chat can browse but not buy.
 */
export function chatCommerce({ config, outbox }: { config: Config; outbox: ConsoleOutbox }): FlowBundle {
  if (!config.encryptionKey) return platformFlows;
  const messages = new CustomerMessages({ console: outbox });
  return createCommerce({
    messages,
    encryptionKey: config.encryptionKey,
    payPageUrl: () => config.publicUrl ?? `http://127.0.0.1:${config.httpPort}`,
    files: { console: readLocalFile },
    ownerChatIds: config.ownerChatIds,
  }).flows;
}

/** The platform's HTTP server as this machine reaches it, once it listens. */
function localBaseUrl(server: { address(): AddressInfo | string | null }): string {
  const address = server.address();
  return typeof address === "object" && address ? `http://127.0.0.1:${address.port}` : "http://127.0.0.1";
}

/**
 * The platform's commerce (`niaga start`): ordering with the manual and simulator gateways,
 * Agenda jobs, payment webhooks and pay pages on the HTTP server, sellers' alerts, and — once
 * the bots run — delivery of whatever was paid but not delivered before a crash.
 */
export const wireCommerce: DomainWiring = ({ config, coordination, http, messages, scheduler }) => {
  const local = () => localBaseUrl(http.server);
  let telegram: PlatformServices["telegram"] | undefined;
  const commerce = createCommerce({
    messages,
    encryptionKey: requireEncryptionKey(config),
    payPageUrl: () => config.publicUrl ?? local(),
    webhookUrl: local,
    agenda: scheduler.agenda,
    files: {
      telegram: (tenantId, fileRef, options) => {
        if (!telegram) return Promise.reject(new Error("the Telegram bots are not running yet"));
        return telegram.downloadFile(tenantId, fileRef, options);
      },
    },
    limiter: coordination.limiter,
    ownerChatIds: config.ownerChatIds,
    // The bots start after the engine: a change before then reaches them at their start.
    onMembershipChanged: (change) => telegram?.memberChanged(change),
  });
  http.register(paymentRoutes(commerce.ordering.deps, { simulator: commerce.simulator }));
  return {
    flows: commerce.flows,
    // Not at `started`: by then the first stores' bots have been taking updates (and proofs) for a while.
    botsCreated(bots) {
      telegram = bots;
    },
    async started() {
      await scheduleRecurringOrderJobs(scheduler.agenda);
      // Orders paid before a crash; `recoverUndelivered` logs what it delivered.
      await commerce.ordering.recoverUndelivered();
    },
  };
};
