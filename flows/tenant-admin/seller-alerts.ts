// What a store's team hears as it happens, in their private chat with the store's bot:
// a transfer proof waiting to be checked, a customer's claim, goods that could not be
// delivered, money for an order that had already expired. Each goes to the members whose
// role may act on it (the same permissions the admin commands check), in the store's
// language, with the command that handles it.
//
// The ordering domain emits the events (`OrderingDeps.onEvent`); the composition root
// passes them here. Nothing here throws: an alert that cannot be sent is logged, and the
// order it is about has already changed and stands.
import type { EngineLog } from "../engine/actions.ts";
import { Member, type Role } from "../../storage/models/index.ts";
import type { Outbound } from "../engine/message.ts";
import { storeSettings, type StoreSettings } from "../ordering/store-settings.ts";
import type { TeamOutbox } from "./admin-services.ts";
import { ROLE_PERMISSIONS, type Permission } from "./permissions.ts";

/** The events a seller acts on, with the permission acting needs and the text that says so. */
const ALERTS = {
  proof_submitted: { permission: "orders.approve", key: "admin.order_alert.proof_submitted" },
  claim_opened: { permission: "orders.refund", key: "admin.order_alert.claim_opened" },
  delivery_failed: { permission: "orders.read", key: "admin.order_alert.delivery_failed" },
  late_payment: { permission: "orders.refund", key: "admin.order_alert.late_payment" },
} as const satisfies Record<string, { permission: Permission; key: string }>;

export type SellerAlertEvent = keyof typeof ALERTS;

export function isSellerAlert(type: string): type is SellerAlertEvent {
  return Object.hasOwn(ALERTS, type);
}

/** The roles holding `permission`: who an alert about it goes to. */
export function rolesWith(permission: Permission): Role[] {
  return (Object.keys(ROLE_PERMISSIONS) as Role[]).filter((role) => ROLE_PERMISSIONS[role].has(permission));
}

/**
 * Tells a store's members in `roles` one message each, in the store's language, built from
 * the store's settings. Returns how many were told; a member whose chat refuses is logged
 * and skipped, so the others still hear it.
 */
export async function tellTeam(
  tenantId: string,
  roles: readonly Role[],
  message: (store: StoreSettings) => Outbound,
  outbox: TeamOutbox,
  log: EngineLog | undefined,
  what: string,
): Promise<number> {
  const store = await storeSettings(tenantId);
  if (!store) return 0;
  const members = await Member.find({ tenantId: store.tenantId, role: { $in: roles } } as never, { channel: 1, channelUserId: 1 })
    .lean<{ channel: string; channelUserId: string }[]>()
    .exec();
  if (members.length === 0) log?.warn("nobody in the store to tell", { alert: what });
  let told = 0;
  for (const member of members) {
    const report = await outbox.send({ tenantId, channel: member.channel, chatId: member.channelUserId }, [message(store)], { locale: store.locale });
    if (report.ok) told++;
    else log?.warn("alert not delivered to a member", { alert: what, channel: member.channel, error: report.detail ? `${report.reason}: ${report.detail}` : report.reason });
  }
  return told;
}

/**
 * Tells the members who may act on it that something happened to an order. Returns how
 * many members were told.
 */
export function alertSellers(
  event: { type: SellerAlertEvent; tenantId: string; orderCode: string },
  outbox: TeamOutbox,
  log?: EngineLog,
): Promise<number> {
  const alert = ALERTS[event.type];
  return tellTeam(event.tenantId, rolesWith(alert.permission), (store) => ({ text: { key: alert.key, params: { code: event.orderCode, store: store.name } } }), outbox, log, event.type);
}
