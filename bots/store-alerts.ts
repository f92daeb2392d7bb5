/**
 * What the ordering domain tells the platform owner, naming the store: goods that could not
 * be delivered (one alert per order, resolved when that order is delivered after all) and
 * runs of failed payments per store and gateway (`recordPaymentOutcome`, resolved at the
 * next successful payment) — and two members editing one product or the SNK at once, and a
 * broadcast stopped by a channel's restriction. Sellers hear about their orders through
 * `alertSellers`; this is the owner's side.
 *
 * ```ts
 * const toOwner = ownerOrderingAlerts({ alerts, thresholds: { inRow: 3 } });
 * createOrdering({ …, onEvent: (event) => void toOwner(event) });
 * ```
 */
import { alertKey, type AlertSink, type AlertStore } from "../admin-bot/owner-alerts.ts";
import type { BroadcastEvent } from "../flows/broadcast/index.ts";
import type { OrderingEvent } from "../flows/ordering/ordering-deps.ts";
import type { OnConcurrentEdit } from "../flows/tenant-admin/admin-services.ts";
import { recordPaymentOutcome, type PaymentRunThresholds } from "../flows/ordering/payments/payment-failure-runs.ts";
import { OwnerAlertRecord, Tenant } from "../storage/models/index.ts";

export interface OwnerOrderingAlertsOptions {
  alerts: AlertSink;
  thresholds?: PaymentRunThresholds;
}

/** The store an alert names, by its id: slug and `bot_store_name`. */
export async function alertStoreOf(tenantId: string): Promise<AlertStore> {
  const tenant = await Tenant.findById(tenantId, { slug: 1, name: 1 }).lean().exec();
  return { tenantId, slug: tenant?.slug ?? tenantId, name: tenant?.name ?? tenantId };
}

/** Two members edited one product or setting at once (`AdminServices.onConcurrentEdit`): the owner hears who and what. */
export function ownerConcurrentEditAlerts(alerts: AlertSink): OnConcurrentEdit {
  return async (edit) => {
    const store = await alertStoreOf(edit.tenantId);
    await alerts.raise({
      kind: "concurrent-edit", store, key: alertKey("concurrent-edit", store.slug, `${edit.target.type}:${edit.target.id}`),
      params: { first: edit.first, second: edit.second, target: edit.target.label },
      details: { saved: edit.first, stopped: edit.second },
    });
  };
}

/**
 * A channel restricted a store while it broadcast (a long flood wait, a restricted number):
 * the broadcast is paused and the owner hears it, once per broadcast; the alert recovers when
 * the broadcast is resumed or cancelled. Rejects only when MongoDB does (the caller logs it).
 */
export function ownerBroadcastAlerts(alerts: AlertSink): (event: BroadcastEvent) => Promise<void> {
  return async (event) => {
    if (event.type !== "restricted" && event.type !== "resumed" && event.type !== "cancelled") return;
    const store = await alertStoreOf(event.tenantId);
    const key = alertKey("broadcast-restricted", store.slug, `#${event.broadcast.number}`);
    if (event.type !== "restricted") return alerts.resolve(key, { number: event.broadcast.number, by: event.type });
    await alerts.raise({
      kind: "broadcast-restricted", store, key,
      params: { number: event.broadcast.number, channel: event.channel, detail: event.detail, setting: `BROADCAST_RATE_${event.channel.toUpperCase()}` },
      details: { broadcast: `#${event.broadcast.number}`, channel: event.channel },
    });
  };
}

/** Handles one ordering event for the owner; rejects only when MongoDB does (the caller logs it). */
export function ownerOrderingAlerts({ alerts, thresholds }: OwnerOrderingAlertsOptions): (event: OrderingEvent) => Promise<void> {
  return async (event) => {
    switch (event.type) {
      case "delivery_failed": {
        const store = await alertStoreOf(event.tenantId);
        await alerts.raise({ kind: "delivery-failed", store, params: { orderCode: event.orderCode }, key: alertKey("delivery-failed", store.slug, event.orderCode) });
        return;
      }
      case "order_delivered": {
        // Only a delivery after a failure can have an alert to resolve: no reads for the others.
        if (!event.afterFailure) return;
        const store = await alertStoreOf(event.tenantId);
        await alerts.resolve(alertKey("delivery-failed", store.slug, event.orderCode), { orderCode: event.orderCode });
        return;
      }
      case "payment_failed":
      case "order_paid": {
        if (!event.gateway) return;
        const change = await recordPaymentOutcome({ tenantId: event.tenantId, method: event.gateway, ok: event.type === "order_paid" }, thresholds);
        if (!change) return;
        const store = await alertStoreOf(event.tenantId);
        const key = alertKey("payments-failing", store.slug, change.method);
        if (change.change === "recovered") {
          await alerts.resolve(key, { orderCode: event.orderCode });
          return;
        }
        await alerts.raise({
          kind: "payments-failing", store, key,
          params: { count: change.failed, total: change.total, inRow: change.inRow, gateway: change.method },
          details: { lastOrder: event.orderCode },
        });
        return;
      }
      default:
        return;
    }
  };
}

/**
 * Resolves the open "token revoked" alerts of stores that have a token Telegram has not revoked
 * again: a token set by `niaga tenant set` or another instance while the one that saw the
 * revocation was gone. Returns the slugs it resolved.
 */
export async function resolveReplacedTokens(alerts: AlertSink): Promise<string[]> {
  const open = await OwnerAlertRecord.find({ kind: "token-revoked", state: "open" }, { key: 1, store: 1 }).lean().exec();
  const resolved: string[] = [];
  for (const alert of open) {
    const tenantId = alert.store?.tenantId;
    if (!tenantId) continue;
    const tenant = await Tenant.findById(tenantId, { slug: 1, "channels.telegram": 1 }).lean<{ slug: string; channels?: { telegram?: { revokedAt?: Date; token?: unknown } } }>().exec();
    const telegram = tenant?.channels?.telegram;
    if (!tenant || !telegram?.token || telegram.revokedAt) continue;
    await alerts.resolve(alert.key, { by: "a new bot token" });
    resolved.push(tenant.slug);
  }
  return resolved;
}
