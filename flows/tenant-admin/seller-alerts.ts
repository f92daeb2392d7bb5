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
import { storeSettings } from "../ordering/store-settings.ts";
import type { SellerNotifier } from "./admin-services.ts";
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

function rolesWith(permission: Permission): Role[] {
  return (Object.keys(ROLE_PERMISSIONS) as Role[]).filter((role) => ROLE_PERMISSIONS[role].has(permission));
}

/**
 * Tells the members who may act on it that something happened to an order. Returns how
 * many members were told.
 */
export async function alertSellers(
  event: { type: SellerAlertEvent; tenantId: string; orderCode: string },
  notifier: SellerNotifier,
  log?: EngineLog,
): Promise<number> {
  const alert = ALERTS[event.type];
  const store = await storeSettings(event.tenantId);
  if (!store) return 0;
  const members = await Member.find({ tenantId: store.tenantId, role: { $in: rolesWith(alert.permission) } } as never, { channel: 1, channelUserId: 1 })
    .lean<{ channel: string; channelUserId: string }[]>()
    .exec();
  let told = 0;
  for (const member of members) {
    try {
      await notifier.notify(
        { tenantId: event.tenantId, channel: member.channel, userId: member.channelUserId, locale: store.locale },
        { text: { key: alert.key, params: { code: event.orderCode, store: store.name } } },
      );
      told++;
    } catch (error) {
      // One member's blocked chat must not keep the others from hearing it.
      log?.warn("seller alert not delivered to a member", { alert: event.type, channel: member.channel, error: (error as Error).name });
    }
  }
  if (members.length === 0) log?.warn("nobody in the store may act on this; alert not sent", { alert: event.type, orderCode: event.orderCode });
  return told;
}
