// Seller administration as engine flows: the /admin menu and every admin command, the
// permission each needs, and the bundle the composition root registers.
import type { ActionRegistry } from "../engine/actions.ts";
import type { FlowBundle } from "../engine/flow-bundle.ts";
import { defineFlow } from "../engine/flow-schema.ts";
import type { Role } from "../../storage/models/index.ts";
import { accessGuard, say } from "./admin-access.ts";
import { resolveAdminServices, type AdminServices, type ResolvedAdminServices } from "./admin-services.ts";
import { auditActions, auditFlow } from "./audit-flows.ts";
import { ORDER_FLOW_PERMISSIONS, orderActions, orderFlows } from "./order-flows.ts";
import { CATALOG_WRITE, requirePermission, ROLE_PERMISSIONS, type Permission } from "./permissions.ts";
import { productActions, productFlows, productValidators } from "./product-flows.ts";
import { reportActions, reportFlow } from "./report-flows.ts";
import { settingsActions, settingsFlow, settingsValidators } from "./settings-flows.ts";
import { staffActions, staffFlows } from "./staff-flows.ts";
import { stockActions, stockFlows } from "./stock-flows.ts";

export const adminMenuFlow = defineFlow({
  id: "admin-menu",
  audience: "seller",
  triggers: { commands: ["admin"] },
  help: "admin.help.menu",
  steps: {
    access: { kind: "action", action: "adminAccess", next: "menu", outcomes: { stop: "stop" } },
    menu: { kind: "choose", text: "admin.menu.title", source: "adminMenuChoices", pageSize: 12, saveAs: "section", next: "route" },
    route: {
      kind: "branch",
      cases: [
        { when: { field: "section", equals: "orders" }, next: "orders" },
        { when: { field: "section", equals: "claims" }, next: "claims" },
        { when: { field: "section", equals: "products" }, next: "products" },
        { when: { field: "section", equals: "addProduct" }, next: "addProduct" },
        { when: { field: "section", equals: "stock" }, next: "stock" },
        { when: { field: "section", equals: "addStock" }, next: "addStock" },
        { when: { field: "section", equals: "report" }, next: "report" },
        { when: { field: "section", equals: "settings" }, next: "settings" },
        { when: { field: "section", equals: "staff" }, next: "staff" },
        { when: { field: "section", equals: "invite" }, next: "invite" },
        { when: { field: "section", equals: "audit" }, next: "audit" },
      ],
      otherwise: "stop",
    },
    orders: { kind: "goto", flow: "admin-orders" },
    claims: { kind: "goto", flow: "admin-claims" },
    products: { kind: "goto", flow: "admin-products" },
    addProduct: { kind: "goto", flow: "admin-product-add" },
    stock: { kind: "goto", flow: "admin-stock" },
    addStock: { kind: "goto", flow: "admin-stock-add" },
    report: { kind: "goto", flow: "admin-report" },
    settings: { kind: "goto", flow: "admin-settings" },
    staff: { kind: "goto", flow: "admin-staff" },
    invite: { kind: "goto", flow: "admin-staff-invite" },
    audit: { kind: "goto", flow: "admin-audit" },
    stop: { kind: "end" },
  },
});

/**
 * The permission each admin flow needs before it starts (`null`: any member of the store).
 * The role × command test walks this table.
 */
export const FLOW_PERMISSIONS: Readonly<Record<string, Permission | null>> = {
  "admin-menu": null,
  ...ORDER_FLOW_PERMISSIONS,
  "admin-products": CATALOG_WRITE,
  "admin-product-add": CATALOG_WRITE,
  "admin-product-edit": CATALOG_WRITE,
  "admin-product-price": CATALOG_WRITE,
  "admin-product-hide": CATALOG_WRITE,
  "admin-product-show": CATALOG_WRITE,
  "admin-stock-add": "stock.write",
  "admin-stock": "stock.write",
  "admin-settings": "settings.write",
  "admin-staff": "staff.manage",
  "admin-staff-add": "staff.manage",
  "admin-staff-remove": "staff.manage",
  "admin-staff-invite": "staff.manage",
  "admin-audit": "audit.read",
  "admin-report": "reports.read",
};

/**
 * Whether a member with `role` may start the flow `flowId` — for menus that list only what
 * the person may use (the Telegram adapter's `sellerMenu` option). Flows outside seller
 * administration (the storefront, a store's own) are open to every member. The flows
 * still check on every use (`requirePermission`); this only decides what is shown.
 */
export function roleMayStart(role: Role, flowId: string): boolean {
  if (!Object.hasOwn(FLOW_PERMISSIONS, flowId)) return true;
  const permission = FLOW_PERMISSIONS[flowId];
  return permission === null || ROLE_PERMISSIONS[role].has(permission);
}

/** The /admin menu's entries, in order, and the permission each needs. */
const MENU: readonly { id: string; label: string; permission: Permission }[] = [
  { id: "orders", label: "admin.menu.orders", permission: "orders.read" },
  { id: "claims", label: "admin.menu.claims", permission: "orders.refund" },
  { id: "products", label: "admin.menu.products", permission: CATALOG_WRITE },
  { id: "addProduct", label: "admin.menu.add_product", permission: CATALOG_WRITE },
  { id: "stock", label: "admin.menu.stock", permission: "stock.write" },
  { id: "addStock", label: "admin.menu.add_stock", permission: "stock.write" },
  { id: "report", label: "admin.menu.report", permission: "reports.read" },
  { id: "settings", label: "admin.menu.settings", permission: "settings.write" },
  { id: "staff", label: "admin.menu.staff", permission: "staff.manage" },
  { id: "invite", label: "admin.menu.invite", permission: "staff.manage" },
  { id: "audit", label: "admin.menu.audit", permission: "audit.read" },
];

function menuActions(services: ResolvedAdminServices): ActionRegistry {
  return {
    /** Only what this member may use: a staff member is not shown the owner's tools. */
    adminMenuChoices: async (ctx) => {
      const allowed = await Promise.all(MENU.map(async (entry) => (await requirePermission(ctx, entry.permission, services.ownerChatIds)).allowed));
      return { choices: MENU.filter((_, i) => allowed[i]).map((entry) => ({ id: entry.id, label: say(entry.label).text })) };
    },
  };
}

/**
 * Seller administration for the engine. Everything it needs from outside is optional:
 * without `ordering` the order lists work but changing an order is refused politely, without
 * `files` stock files are refused politely (typed lines still work), without an `outbox`
 * low-stock alerts are only logged, without a `limiter` limits are per process.
 *
 * ```ts
 * const flows = combineFlowBundles(catalogFlows, createAdminFlows({
 *   ordering,                                              // createOrdering({ outbox, gateways, timers })
 *   files: channels,                                       // stock files, from any channel
 *   outbox, limiter: coordination.limiter, ownerChatIds: config.ownerChatIds,
 * }));
 * ```
 */
export function createAdminFlows(options: AdminServices = {}): FlowBundle {
  const services = resolveAdminServices(options);
  return {
    flows: [adminMenuFlow, ...orderFlows, ...productFlows, ...stockFlows, reportFlow, settingsFlow, ...staffFlows, auditFlow],
    actions: {
      adminAccess: accessGuard(services, FLOW_PERMISSIONS),
      ...menuActions(services),
      ...orderActions(services, () => (typeof options.ordering === "function" ? options.ordering() : options.ordering)),
      ...reportActions(services),
      ...productActions(services),
      ...stockActions(services),
      ...settingsActions(services),
      ...staffActions(services),
      ...auditActions(services),
    },
    validators: { ...productValidators(), ...settingsValidators() },
  };
}
