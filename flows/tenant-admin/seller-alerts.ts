// What a store's team hears as it happens, in their private chat with the store's bot:
// a transfer proof waiting to be checked, a customer's claim, goods that could not be
// delivered, money for an order that had already expired. Each goes to the members whose
// role may act on it (the same permissions the admin commands check), in the store's
// language, with the command that handles it.
//
// A store with a team room (its Discord staff channel, `TeamOutbox.teamRooms`) gets each
// alert there once, for the whole team, with buttons that run the commands (command
// choices: a press runs the command as the person pressing, checked like a typed one, so
// seeing the alert is not acting on it). Members on the room's channel are then not told
// one by one; everyone else still is, as before.
//
// The ordering domain emits the events (`OrderingDeps.onEvent`); the composition root
// passes them here. Nothing here throws: an alert that cannot be sent is logged, and the
// order it is about has already changed and stands.
import type { EngineLog } from "../engine/actions.ts";
import { Member, type Role } from "../../storage/models/index.ts";
import { commandChoiceId } from "../engine/command-choice.ts";
import type { ChoiceView, Outbound } from "../engine/message.ts";
import { storeSettings, type StoreSettings } from "../ordering/store-settings.ts";
import type { TeamOutbox } from "./admin-services.ts";
import { ROLE_PERMISSIONS, type Permission } from "./permissions.ts";

/** The events a seller acts on, with the permission acting needs and the text that says so. */
const ALERTS = {
  proof_submitted: { permission: "orders.approve", key: "admin.order_alert.proof_submitted", actions: ["approve", "reject", "details"] },
  claim_opened: { permission: "orders.refund", key: "admin.order_alert.claim_opened", actions: ["claim", "details"] },
  delivery_failed: { permission: "orders.read", key: "admin.order_alert.delivery_failed", actions: ["details"] },
  late_payment: { permission: "orders.refund", key: "admin.order_alert.late_payment", actions: ["refund", "details"] },
} as const satisfies Record<string, { permission: Permission; key: string; actions: readonly OrderAction[] }>;

/** The seller commands an order alert's buttons run, with the order's code. */
const ORDER_ACTIONS = { approve: "setujui", reject: "tolak", details: "pesanan", claim: "klaim", refund: "refund" } as const;
type OrderAction = keyof typeof ORDER_ACTIONS;

export type SellerAlertEvent = keyof typeof ALERTS;

export function isSellerAlert(type: string): type is SellerAlertEvent {
  return Object.hasOwn(ALERTS, type);
}

/** The roles holding `permission`: who an alert about it goes to. */
export function rolesWith(permission: Permission): Role[] {
  return (Object.keys(ROLE_PERMISSIONS) as Role[]).filter((role) => ROLE_PERMISSIONS[role].has(permission));
}

/**
 * A button that runs `/command args…` for whoever presses it; none when an argument cannot
 * ride in a button (a product code with a space), since the alert's text names the command too.
 */
export function actionChoice(label: string, command: string, ...args: string[]): ChoiceView[] {
  try {
    return [{ id: commandChoiceId(command, ...args), label: { key: label } }];
  } catch {
    return [];
  }
}

/**
 * Tells a store's members in `roles` one message each, in the store's language, built from
 * the store's settings. With `room`, the store's team rooms hear it first, once, with those
 * buttons under it, and the members on a room's channel are not told again. Returns how many
 * chats were told; a chat that refuses is logged and skipped, so the others still hear it.
 */
export async function tellTeam(
  tenantId: string,
  roles: readonly Role[],
  message: (store: StoreSettings) => Outbound,
  outbox: TeamOutbox,
  log: EngineLog | undefined,
  what: string,
  options: {
    room?: { choices: ChoiceView[] };
    /** The team rooms show this already in their own way (a ticket's card): members on a room's channel are not told one by one. */
    shownInRooms?: boolean;
  } = {},
): Promise<number> {
  const store = await storeSettings(tenantId);
  if (!store) return 0;
  let told = 0;
  const roomChannels = new Set<string>();
  const rooms = (options.room || options.shownInRooms) && outbox.teamRooms ? await outbox.teamRooms(tenantId) : [];
  for (const room of rooms) {
    if (!options.room) {
      roomChannels.add(room.channel);
      continue;
    }
    const buttons = options.room.choices;
    const report = await outbox.send(room, [{ ...message(store), ...(buttons.length > 0 && { choices: buttons }) }], { locale: store.locale });
    if (report.ok) {
      told++;
      roomChannels.add(room.channel);
    } else log?.warn("alert not delivered to the team room", { alert: what, channel: room.channel, error: report.detail ? `${report.reason}: ${report.detail}` : report.reason });
  }
  const members = await Member.find({ tenantId: store.tenantId, role: { $in: roles }, channel: { $nin: [...roomChannels] } } as never, { channel: 1, channelUserId: 1 })
    .lean<{ channel: string; channelUserId: string }[]>()
    .exec();
  if (members.length === 0 && told === 0) log?.warn("nobody in the store to tell", { alert: what });
  for (const member of members) {
    const report = await outbox.send({ tenantId, channel: member.channel, chatId: member.channelUserId }, [message(store)], { locale: store.locale });
    if (report.ok) told++;
    else log?.warn("alert not delivered to a member", { alert: what, channel: member.channel, error: report.detail ? `${report.reason}: ${report.detail}` : report.reason });
  }
  return told;
}

/**
 * Tells the members who may act on it, and the store's team rooms (with buttons for what can
 * be done about it), that something happened to an order. Returns how many chats were told.
 */
export function alertSellers(
  event: { type: SellerAlertEvent; tenantId: string; orderCode: string },
  outbox: TeamOutbox,
  log?: EngineLog,
): Promise<number> {
  const alert = ALERTS[event.type];
  const choices = alert.actions.flatMap((action) => actionChoice(`desk.alert_action.${action}`, ORDER_ACTIONS[action], event.orderCode));
  return tellTeam(
    event.tenantId,
    rolesWith(alert.permission),
    (store) => ({ text: { key: alert.key, params: { code: event.orderCode, store: store.name } } }),
    outbox,
    log,
    event.type,
    { room: { choices } },
  );
}
