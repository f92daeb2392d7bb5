// The storefront as a customer meets it: the greeting menu (/start), the catalog, the
// language choice — and `createOrderingFlows`, the bundle of every customer flow (these,
// checkout and "my orders") that the platform registers.
import { Types } from "mongoose";
import { t } from "../../locales/i18n.ts";
import { CHANNELS, Customer, type Channel } from "../../storage/models/index.ts";
import { actionsFor, type ActionRegistry } from "../engine/actions.ts";
import { combineFlowBundles, type FlowBundle } from "../engine/flow-bundle.ts";
import { defineFlow } from "../engine/flow-schema.ts";
import type { Locale } from "../engine/message.ts";
import { findCatalogEntry, formatPrice, listCatalog, storeCurrency } from "./catalog.ts";
import { checkoutActions, checkoutFlow, checkoutValidators, type ShownProduct } from "./checkout-flows.ts";
import { resolveFlowServices, type OrderingFlowServices } from "./flow-services.ts";
import { myOrdersActions, myOrdersFlow } from "./my-orders-flows.ts";
import { HOLDING_STATUSES, Order } from "./order.ts";

export const welcomeFlow = defineFlow({
  id: "welcome",
  triggers: { commands: ["start"], keywords: { id: ["menu", "halo", "hai"], en: ["menu", "hi", "hello"] } },
  help: "catalog.help.start",
  steps: {
    menu: {
      kind: "choose",
      text: "catalog.welcome",
      choices: [
        { id: "catalog", label: "catalog.menu.catalog", next: "browse" },
        { id: "orders", label: "catalog.menu.orders", next: "orders" },
        { id: "help", label: "catalog.menu.help", next: "howTo" },
        { id: "language", label: "catalog.menu.language", next: "language" },
      ],
    },
    browse: { kind: "goto", flow: "catalog" },
    orders: { kind: "goto", flow: "my-orders" },
    language: { kind: "goto", flow: "language" },
    howTo: { kind: "end", text: "catalog.how_to" },
  },
});

export type CatalogData = {
  /** What followed the command (`/katalog netflix-1m`). */
  commandArgs?: string;
  productCount?: number;
  productCode?: string;
  product?: ShownProduct;
};

const catalogAction = actionsFor<CatalogData>();

export const catalogFlow = defineFlow<CatalogData>()({
  id: "catalog",
  triggers: { commands: ["catalog", "katalog"], keywords: { id: ["katalog", "produk"], en: ["catalog", "products"] } },
  help: "catalog.help.catalog",
  steps: {
    overview: { kind: "action", action: "checkCatalog", next: "pick", outcomes: { empty: "empty", product: "load" } },
    pick: {
      kind: "choose",
      text: "catalog.pick_product",
      source: "listProducts",
      choices: [{ id: "menu", label: "catalog.main_menu", next: "toMenu" }],
      saveAs: "productCode",
      next: "load",
    },
    load: { kind: "action", action: "loadProduct", next: "detail", outcomes: { gone: "gone" } },
    detail: {
      kind: "choose",
      text: "catalog.product_detail",
      source: "productChoices",
      choices: [
        { id: "back", label: "catalog.back_to_catalog", next: "pick" },
        { id: "menu", label: "catalog.main_menu", next: "toMenu" },
      ],
      next: "buy",
    },
    buy: { kind: "goto", flow: "checkout" },
    gone: { kind: "say", text: "catalog.product_gone", next: "pick" },
    empty: { kind: "end", text: "catalog.no_products" },
    toMenu: { kind: "goto", flow: "welcome" },
  },
});

type LanguageData = { language?: string };

export const languageFlow = defineFlow<LanguageData>()({
  id: "language",
  triggers: { commands: ["bahasa", "language"], keywords: { id: ["bahasa", "language"], en: ["language", "bahasa"] } },
  help: "catalog.help.language",
  steps: {
    pick: {
      kind: "choose",
      text: "catalog.language.pick",
      choices: [
        { id: "id", label: "catalog.language.id" },
        { id: "en", label: "catalog.language.en" },
      ],
      saveAs: "language",
      next: "save",
    },
    save: { kind: "action", action: "saveLanguage", next: "done" },
    done: { kind: "end" },
  },
});

/** A text in `locale` whatever language the rest of this turn is rendered in (the choice just changed it). */
function inLocale(locale: Locale, key: string) {
  const text = t(locale, key);
  return { text: { inline: { id: text, en: text } } };
}

const catalogActions: ActionRegistry = {
  // `/katalog <code>` (a broadcast's product button) opens that product; anything else, the list.
  checkCatalog: catalogAction({ outcomes: ["empty", "product"] }, async (ctx) => {
    const asked = typeof ctx.data.commandArgs === "string" ? ctx.data.commandArgs.trim().toLowerCase() : "";
    if (asked !== "" && (await findCatalogEntry(ctx.tenant.id, asked))) return { data: { productCode: asked }, outcome: "product" };
    const entries = await listCatalog(ctx.tenant.id);
    return entries.length === 0 ? { outcome: "empty" } : { data: { productCount: entries.length } };
  }),

  async listProducts(ctx) {
    const [entries, currency] = await Promise.all([listCatalog(ctx.tenant.id), storeCurrency(ctx.tenant.id)]);
    return {
      choices: entries.map((entry) => ({
        id: entry.code,
        label: {
          key: entry.available > 0 ? "catalog.product_choice" : "catalog.product_choice_sold_out",
          params: { name: entry.name, price: formatPrice(entry.price, currency, ctx.locale) },
        },
      })),
    };
  },

  loadProduct: catalogAction({ outcomes: ["gone"] }, async (ctx) => {
    const code = ctx.data.productCode ?? "";
    const [entry, currency] = await Promise.all([findCatalogEntry(ctx.tenant.id, code), storeCurrency(ctx.tenant.id)]);
    if (!entry) return { outcome: "gone" };
    return {
      data: {
        product: {
          code: entry.code,
          name: entry.name,
          description: entry.description,
          // The description as its own paragraph, or nothing: no blank lines under a product without one.
          about: entry.description ? `\n\n${entry.description}` : "",
          price: formatPrice(entry.price, currency, ctx.locale),
          available: entry.available,
          stock: entry.available > 0 ? t(ctx.locale, "catalog.in_stock", { count: entry.available }) : t(ctx.locale, "catalog.sold_out"),
        },
      },
    };
  }),

  /** "Buy" while the product is in stock; a sold-out product only offers the way back. */
  productChoices: catalogAction((ctx) => ({ choices: (ctx.data.product?.available ?? 0) > 0 ? [{ id: "buy", label: { key: "catalog.buy" } }] : [] })),

  /**
   * Saves the customer's language on their record (the channel's language applies until
   * they choose), and on their open orders, so the goods and notices come in it too.
   */
  async saveLanguage(ctx) {
    const locale: Locale = ctx.data.language === "en" ? "en" : "id";
    const tenantId = new Types.ObjectId(ctx.tenant.id);
    const channel = ctx.channel as Channel;
    if (!CHANNELS.includes(channel)) {
      ctx.log.warn("language not saved: the channel keeps no customer records", { channel: ctx.channel });
      return { say: [inLocale(locale, "catalog.language.saved")] };
    }
    await Customer.updateOne(
      { tenantId, channel, channelUserId: ctx.user.id },
      { $set: { locale, lastSeenAt: new Date() }, $setOnInsert: { displayName: (ctx.user.name ?? "").slice(0, 128) } },
      { upsert: true },
    ).exec();
    await Order.updateMany(
      { tenantId, "customer.channel": ctx.channel, "customer.channelUserId": ctx.user.id, status: { $in: [...HOLDING_STATUSES, "delivered"] } },
      { $set: { "customer.locale": locale } },
    ).exec();
    return { say: [inLocale(locale, "catalog.language.saved")] };
  },
};

/**
 * Every customer flow — /start, the catalog, buying, "my orders", the language — with the
 * actions they call. Buying needs the ordering domain; see `OrderingFlowServices`.
 *
 * ```ts
 * const flows = combineFlowBundles(
 *   createOrderingFlows({ ordering: () => ordering }),    // createOrdering({ outbox, gateways, timers })
 *   createAdminFlows({ ordering: () => ordering, … }),
 * );
 * ```
 */
export function createOrderingFlows(services: OrderingFlowServices = {}): FlowBundle {
  const resolved = resolveFlowServices(services);
  return combineFlowBundles(
    { flows: [welcomeFlow, catalogFlow, languageFlow], actions: catalogActions },
    { flows: [checkoutFlow], actions: checkoutActions(resolved), validators: checkoutValidators(resolved) },
    { flows: [myOrdersFlow], actions: myOrdersActions(resolved) },
  );
}

/**
 * The customer flows without an ordering domain: browsing and "my orders" work, buying
 * says it is not available here. Prefer `createOrderingFlows({ ordering })`.
 */
export const catalogFlows: FlowBundle = createOrderingFlows();
