/**
 * The store's business, wired: the ordering domain (orders, payments, delivery, SNK), its
 * payment gateways, its jobs, the sellers' alerts, customers' tickets with their SLA jobs,
 * and the flows customers and sellers talk to — built once per process and handed to the engine. `niaga start`, `niaga chat` and
 * the demo all build it here, so a purchase works the same in each.
 *
 * ```ts
 * const commerce = createCommerce({
 *   outbox,                                   // every send outside a turn, on any channel
 *   files: channels,                          // proofs and stock files, from any channel
 *   encryptionKey,
 *   payPageUrl: () => config.publicUrl,       // where customers open the simulator's pay page
 *   webhookUrl: () => localUrl,               // where that page calls the platform back
 *   agenda: scheduler.agenda,                 // per-order timers and the jobs; optional
 * });
 * const engine = createEngine({ ...commerce.flows, … });
 * ```
 *
 * In the platform process `wireCommerce` does this and more: the payment routes on the
 * HTTP server, the recurring jobs, and delivery of orders paid before a crash.
 */
import type { AddressInfo } from "node:net";
import type { Agenda, Job } from "agenda";
import type { ChannelAddress, ChannelCapabilities, FlowBundle, MembershipChange, Outbound, Outbox, SendOptions, UserFiles } from "../flows/engine/index.ts";
import { createBroadcasting, defineBroadcastJobs, type Broadcasting } from "../flows/broadcast/index.ts";
import { broadcastProgress } from "../flows/broadcast/progress-notices.ts";
import { defineOrderJobs, orderJobTimers, scheduleRecurringOrderJobs } from "../flows/ordering/order-jobs.ts";
import { createOrdering, type Ordering } from "../flows/ordering/ordering.ts";
import type { OrderingEvent } from "../flows/ordering/ordering-deps.ts";
import { gatewayMap } from "../flows/ordering/payments/gateway.ts";
import { manualGateway } from "../flows/ordering/payments/manual.ts";
import { paymentRoutes } from "../flows/ordering/payments/payment-webhooks.ts";
import { simulatorGateway, simulatorSecretFrom, type SimulatorGateway } from "../flows/ordering/payments/simulator.ts";
import { createPlatformFlows } from "../flows/platform.ts";
import { closingClaimTickets, openClaimTicket } from "../flows/ticketing/claim-tickets.ts";
import { createTicketing, defineTicketJobs, slaJobTimers, type Ticketing } from "../flows/ticketing/index.ts";
import { ticketTeamAlerts } from "../flows/ticketing/ticket-alerts.ts";
import { TicketEvents, type TicketListener } from "../flows/ticketing/ticket-events.ts";
import type { TicketDesk } from "../flows/ticketing/contract.ts";
import { checkLowStock, LOW_STOCK_JOB } from "../flows/tenant-admin/low-stock.ts";
import type { AdminServices, TeamOutbox } from "../flows/tenant-admin/admin-services.ts";
import type { PlatformOwners } from "../flows/tenant-admin/permissions.ts";
import { alertSellers, isSellerAlert } from "../flows/tenant-admin/seller-alerts.ts";
import type { RateLimiter } from "../storage/rate-limit.ts";
import type { SharedPace } from "../storage/shared-pace.ts";
import type { AlertSink } from "../admin-bot/owner-alerts.ts";
import type { PaymentRunThresholds } from "../flows/ordering/payments/payment-failure-runs.ts";
import { platformBroadcastLimits, requireEncryptionKey, type BroadcastConfig } from "./config.ts";
import { ownerBroadcastAlerts, ownerConcurrentEditAlerts, ownerOrderingAlerts } from "./store-alerts.ts";
import { discordLinkChanges, platformOwners, whatsappLinkingOf } from "./channels.ts";
import { discordInviteUrl } from "./discord.ts";
import { discordTeamRooms, discordTicketDesk } from "./discord-desk.ts";
import type { DomainWiring } from "./domain-wiring.ts";
import { logger } from "./logger.ts";

export interface CommerceOptions {
  /** Reaches customers and sellers outside a turn, on whatever channel they use (`platformOutbox`). */
  outbox: Pick<Outbox, "send"> & Partial<Pick<Outbox, "edit">>;
  /** The files users send (payment proofs, stock files), on whatever channel: `Channels`. */
  files?: UserFiles;
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
  limiter?: RateLimiter;
  platformOwners?: PlatformOwners;
  /** Hears of every member added, re-roled, removed or joined (channels with per-member menus update them): `Channels`. */
  onMembershipChanged?: (change: MembershipChange) => void | Promise<void>;
  /**
   * Adds "Pay now (simulator)" to the chat, which presses the pay page's button for the
   * customer: for a terminal, where nobody opens links. The demo only.
   */
  payInChat?: boolean;
  /** The platform owner's alerts: goods not delivered, runs of failed payments, two sellers editing one thing at once. */
  alerts?: AlertSink;
  /** When failed payments make a run the owner hears of (`ALERT_PAYMENT_*`). */
  paymentAlerts?: PaymentRunThresholds;
  /** The WhatsApp channel's linking, for the store owner's `/whatsapp` (a getter: the channels start after the flows). */
  whatsapp?: AdminServices["whatsapp"];
  /** A store's team rooms (its Discord staff channel): sellers' alerts go there once, with buttons (`TeamOutbox.teamRooms`). */
  teamRooms?: (tenantId: string) => Promise<ChannelAddress[]>;
  /** The store owner's `/discord`: the bot's invite link, and who hears of an unlink made there. */
  discord?: AdminServices["discord"];
  /**
   * Broadcasts: the pace per channel and the platform's limits per store (`BROADCAST_*`),
   * the budget shared with the other instances (`coordination.pace`), and what each channel
   * can show (its progress message is edited where it can be).
   */
  broadcast?: BroadcastConfig & { sharedPace?: SharedPace; capabilitiesOf?: (channel: string) => ChannelCapabilities | undefined };
}

export interface Commerce {
  readonly ordering: Ordering;
  readonly simulator: SimulatorGateway;
  /** Every flow of the platform, with the services above behind their actions. */
  readonly flows: Required<FlowBundle>;
  /** Customers' tickets (`/bantuan`, `/tiket`, claims), with their SLA jobs on `agenda`. */
  readonly tickets: Ticketing;
  /**
   * Adds a listener for every ticket event (a `TicketDesk`: the Discord staff channel);
   * returns how to remove it. Members with `tickets.handle` already hear new tickets in
   * their chat with the store's bot.
   */
  onTicketEvent(listener: TicketListener | TicketDesk): () => void;
  /**
   * Sellers' broadcasts (`/siaran`) and customers' opt-out; its runner sends only once
   * `broadcasts.start()` ran (`niaga start` after the channels started, the demo).
   */
  readonly broadcasts: Broadcasting;
}

export function createCommerce(opts: CommerceOptions): Commerce {
  const { agenda } = opts;
  const log = logger;
  const outbox: TeamOutbox = { send: (to, outbounds, options) => opts.outbox.send(to, outbounds, options), ...(opts.teamRooms && { teamRooms: opts.teamRooms }) };
  const simulator = simulatorGateway({
    secret: simulatorSecretFrom(opts.encryptionKey),
    publicUrl: opts.payPageUrl,
    callbackUrl: opts.webhookUrl ?? opts.payPageUrl,
  });

  const checkStockOf = async (event: OrderingEvent) => {
    for (const productId of event.productIds ?? []) {
      if (agenda) await agenda.now(LOW_STOCK_JOB, { tenantId: event.tenantId, productId });
      else await checkLowStock(event.tenantId, productId, outbox, log);
    }
  };
  const ticketEvents = new TicketEvents(log);
  const tickets = createTicketing({ outbox, log, onEvent: ticketEvents.emit, ...(agenda && { sla: slaJobTimers(agenda) }) });
  ticketEvents.add(ticketTeamAlerts(outbox, log));
  if (agenda) defineTicketJobs(agenda, tickets);

  const toOwner = opts.alerts && ownerOrderingAlerts({ alerts: opts.alerts, ...(opts.paymentAlerts && { thresholds: opts.paymentAlerts }) });
  const onEvent = (event: OrderingEvent) => {
    const work = isSellerAlert(event.type)
      ? alertSellers({ type: event.type, tenantId: event.tenantId, orderCode: event.orderCode }, outbox, log)
      : event.type === "order_placed"
        ? checkStockOf(event)
        : undefined;
    // A claim is a ticket too (once per order: a second call finds the first).
    const claimTicket = event.type === "claim_opened" ? openClaimTicket(tickets, event.tenantId, event.orderCode) : undefined;
    const followUp = (work: Promise<unknown> | undefined) =>
      work?.catch((error: unknown) => log.warn("an order event's follow-up failed", { event: event.type, orderCode: event.orderCode, error: (error as Error).message }));
    followUp(work);
    followUp(claimTicket);
    followUp(toOwner?.(event));
  };

  const ordering = createOrdering({
    outbox,
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
        await checkLowStock(job.attrs.data.tenantId, job.attrs.data.productId, outbox, log);
      },
      { removeOnComplete: true },
    );
  }

  const broadcasts = createBroadcastingFor(opts, outbox, agenda);

  const flows = createPlatformFlows({
    ordering,
    tickets,
    broadcasts,
    storefront: { ...(opts.files && { files: opts.files }), ...(opts.payInChat && { simulatePayment: ({ payUrl }) => pressPayButton(payUrl) }) },
    admin: {
      // Resolving a claim closes its ticket.
      ordering: closingClaimTickets(ordering, () => tickets, (error) => log.warn("a resolved claim's ticket was not closed", { error: (error as Error).message })),
      ...(opts.files && { files: opts.files }),
      outbox,
      ...(opts.limiter && { limiter: opts.limiter }),
      ...(opts.platformOwners && { platformOwners: opts.platformOwners }),
      ...(opts.onMembershipChanged && { onMembershipChanged: opts.onMembershipChanged }),
      ...(opts.alerts && { onConcurrentEdit: ownerConcurrentEditAlerts(opts.alerts) }),
      ...(opts.whatsapp && { whatsapp: opts.whatsapp }),
      ...(opts.discord && { discord: opts.discord }),
    },
  });
  return { ordering, simulator, flows, tickets, onTicketEvent: (listener) => ticketEvents.add(listener), broadcasts };
}

/**
 * Broadcasting over the platform's outbox, its start jobs on `agenda`, its events to the
 * seller's progress message and, when a channel restricts a store, to the owner.
 */
function createBroadcastingFor(opts: CommerceOptions, outbox: Pick<Outbox, "send">, agenda: Agenda | undefined): Broadcasting {
  const log = logger;
  const settings = opts.broadcast ?? {};
  // An outbox without edits (a test's) shows each progress as a new message, as the outbox does for a channel without them.
  const edit = opts.outbox.edit?.bind(opts.outbox) ?? ((to: ChannelAddress, _id: string, outbound: Outbound, options?: Pick<SendOptions, "locale">) => outbox.send(to, [outbound], options));
  // The listener reads the domain it hears from: it exists once `createBroadcasting` returned.
  const made: { broadcasts?: Broadcasting } = {};
  const progress = broadcastProgress({ send: outbox.send, edit }, () => made.broadcasts, log, { ...(settings.capabilitiesOf && { capabilitiesOf: settings.capabilitiesOf }) });
  const toOwner = opts.alerts && ownerBroadcastAlerts(opts.alerts);
  const broadcasts = createBroadcasting({
    outbox,
    log,
    ...(agenda && { agenda }),
    ...(settings.sharedPace && { sharedPace: settings.sharedPace }),
    ...(settings.pace && { pace: settings.pace }),
    defaults: platformBroadcastLimits(settings),
    onEvent: (event) => {
      progress(event);
      toOwner?.(event).catch((error: unknown) => log.warn("a broadcast's owner alert failed", { event: event.type, error: (error as Error).message }));
    },
  });
  made.broadcasts = broadcasts;
  if (agenda) defineBroadcastJobs(agenda, broadcasts);
  return broadcasts;
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
export const wireCommerce: DomainWiring = ({ config, coordination, http, channels, outbox, scheduler, alerts }) => {
  const local = () => localBaseUrl(http.server);
  const commerce = createCommerce({
    outbox,
    // The channels start after the engine: a file or a change before then finds none running.
    files: channels,
    encryptionKey: requireEncryptionKey(config),
    payPageUrl: () => config.publicUrl ?? local(),
    webhookUrl: local,
    agenda: scheduler.agenda,
    limiter: coordination.limiter,
    platformOwners: platformOwners(config),
    onMembershipChanged: (change) => channels.membershipChanged(change),
    // The store owner's /whatsapp, once a WhatsApp channel runs among them.
    whatsapp: () => whatsappLinkingOf(channels),
    // Sellers' alerts in the store's Discord staff channel, once a Discord channel runs among them.
    teamRooms: discordTeamRooms(channels),
    // The store owner's /discord: the bot's invite link, and an unlink there reaching the running Discord channel.
    discord: { ...(config.discordAppId !== undefined && { inviteUrl: discordInviteUrl(config.discordAppId) }), onLinkChanged: discordLinkChanges(channels, alerts) },
    alerts,
    // Broadcasts paced per channel within the budget the instances share (Redis), their progress edited where the channel can.
    broadcast: { ...config.broadcast, ...(coordination.pace && { sharedPace: coordination.pace }), capabilitiesOf: (name) => channels.get(name)?.capabilities },
    paymentAlerts: {
      ...(config.paymentFailuresInRow !== undefined && { inRow: config.paymentFailuresInRow }),
      ...(config.paymentFailureRatePercent !== undefined && { ratePercent: config.paymentFailureRatePercent }),
      ...(config.paymentFailureMinPayments !== undefined && { minPayments: config.paymentFailureMinPayments }),
      ...(config.paymentFailureWindowMs !== undefined && { windowMs: config.paymentFailureWindowMs }),
    },
  });
  http.register(paymentRoutes(commerce.ordering.deps, { simulator: commerce.simulator }));
  // Tickets as threads in the stores' Discord staff channels, once a Discord channel runs among them.
  commerce.onTicketEvent(discordTicketDesk(channels, () => commerce.tickets, logger));
  return {
    flows: commerce.flows,
    tickets: commerce.tickets,
    async started() {
      await scheduleRecurringOrderJobs(scheduler.agenda);
      // Orders paid before a crash; `recoverUndelivered` logs what it delivered.
      await commerce.ordering.recoverUndelivered();
      // Every instance sends: claims keep them apart, and a broadcast cut by a crash resumes here.
      commerce.broadcasts.start();
    },
    // Before the channels stop: sends under way finish, claims not yet sent go back to the queue.
    stop: (graceMs) => commerce.broadcasts.stop(graceMs),
  };
};
