// The seller's product commands: list, add (a short wizard), edit one field, set a price,
// hide and show. Commands that name a product take its sku as an argument
// (`/harga netflix-1m 30000`); without one, the seller picks it from a list.
import { actionsFor, type ActionContext, type ActionRegistry, type AnswerValidator, type ValidatorRegistry } from "../engine/actions.ts";
import { defineFlow } from "../engine/flow-schema.ts";
import type { Locale } from "../engine/message.ts";
import { t } from "../../locales/i18n.ts";
import { formatPrice } from "../ordering/catalog.ts";
import { adminAction, adminGuard, audit, commandArgs, say, stop } from "./admin-access.ts";
import type { ResolvedAdminServices } from "./admin-services.ts";
import { concurrentEdit } from "./concurrent-edits.ts";
import { CATALOG_WRITE } from "./permissions.ts";
import { checkPrice } from "./price-input.ts";
import { confirmBigPriceChange, currencyOf, priceActions, productPriceFlow, type ProductData } from "./price-flows.ts";
import {
  checkCategory,
  checkDescription,
  checkName,
  checkOptionalWhole,
  checkSku,
  createProduct,
  findProduct,
  LIMITS,
  listProductsWithStock,
  skuTaken,
  updateProduct,
  type ProductDraft,
  type ProductField,
  type ProductView,
  type Verdict,
} from "./products.ts";

const productAction = actionsFor<ProductData>();

export const productListFlow = defineFlow<ProductData>()({
  id: "admin-products",
  guard: adminGuard(CATALOG_WRITE),
  audience: "seller",
  triggers: { commands: ["produk", "products"] },
  help: "admin.help.products",
  steps: {
    list: { kind: "action", action: "adminListProducts" },
  },
});

export const productAddFlow = defineFlow<ProductData>()({
  id: "admin-product-add",
  guard: adminGuard(CATALOG_WRITE),
  audience: "seller",
  triggers: { commands: ["tambahproduk", "addproduct"] },
  help: "admin.help.product_add",
  steps: {
    prefill: { kind: "action", action: "adminPrefillSku", next: "askSku", outcomes: { known: "askName" } },
    askSku: { kind: "ask", text: "admin.product.ask_sku", expect: "text", validator: "adminNewSku", saveAs: "sku", next: "askName", maxAttempts: 5 },
    askName: { kind: "ask", text: "admin.product.ask_name", expect: "text", validator: "adminProductName", saveAs: "name", next: "askPrice", maxAttempts: 5 },
    askPrice: { kind: "ask", text: "admin.product.ask_price", expect: "text", validator: "adminProductPrice", saveAs: "price", next: "askDescription", maxAttempts: 5 },
    askDescription: {
      kind: "ask",
      text: "admin.product.ask_description",
      expect: "text",
      max: 4000,
      validator: "adminProductDescription",
      saveAs: "description",
      next: "askCategory",
      maxAttempts: 5,
    },
    askCategory: { kind: "ask", text: "admin.product.ask_category", expect: "text", validator: "adminProductCategory", saveAs: "category", next: "askPerOrderMax", maxAttempts: 5 },
    askPerOrderMax: { kind: "ask", text: "admin.product.ask_per_order_max", expect: "text", validator: "adminPerOrderMax", saveAs: "perOrderMax", next: "askLowStock", maxAttempts: 5 },
    askLowStock: { kind: "ask", text: "admin.product.ask_low_stock", expect: "text", validator: "adminLowStockThreshold", saveAs: "lowStockThreshold", next: "review", maxAttempts: 5 },
    review: { kind: "action", action: "adminReviewProduct", next: "confirm" },
    confirm: {
      kind: "choose",
      text: "admin.product.confirm",
      choices: [
        { id: "save", label: "admin.common.save", next: "save" },
        { id: "cancel", label: "admin.common.cancel", next: "cancelled" },
      ],
    },
    save: { kind: "action", action: "adminCreateProduct", outcomes: { taken: "askSku" } },
    cancelled: { kind: "end", text: "admin.common.cancelled" },
  },
});

export const productEditFlow = defineFlow<ProductData>()({
  id: "admin-product-edit",
  guard: adminGuard(CATALOG_WRITE),
  audience: "seller",
  triggers: { commands: ["ubahproduk", "editproduct"] },
  help: "admin.help.product_edit",
  steps: {
    target: { kind: "action", action: "adminProductTarget", next: "field", outcomes: { pick: "pick" } },
    pick: { kind: "choose", text: "admin.product.pick", source: "adminProductChoices", saveAs: "sku", next: "target" },
    field: {
      kind: "choose",
      text: "admin.product.pick_field",
      saveAs: "field",
      choices: [
        { id: "name", label: "admin.product.fields.name", next: "askName" },
        { id: "price", label: "admin.product.fields.price", next: "askPrice" },
        { id: "description", label: "admin.product.fields.description", next: "askDescription" },
        { id: "category", label: "admin.product.fields.category", next: "askCategory" },
        { id: "perOrderMax", label: "admin.product.fields.perOrderMax", next: "askPerOrderMax" },
        { id: "lowStockThreshold", label: "admin.product.fields.lowStockThreshold", next: "askLowStock" },
      ],
    },
    askName: { kind: "ask", text: "admin.product.ask_name", expect: "text", validator: "adminProductName", saveAs: "value", next: "save", maxAttempts: 5 },
    askPrice: { kind: "ask", text: "admin.product.ask_price", expect: "text", validator: "adminProductPrice", saveAs: "value", next: "weigh", maxAttempts: 5 },
    weigh: { kind: "action", action: "adminWeighPrice", next: "save", outcomes: { confirm: "confirm" } },
    confirm: confirmBigPriceChange,
    askDescription: {
      kind: "ask",
      text: "admin.product.ask_description",
      expect: "text",
      max: 4000,
      validator: "adminProductDescription",
      saveAs: "value",
      next: "save",
      maxAttempts: 5,
    },
    askCategory: { kind: "ask", text: "admin.product.ask_category", expect: "text", validator: "adminProductCategory", saveAs: "value", next: "save", maxAttempts: 5 },
    askPerOrderMax: { kind: "ask", text: "admin.product.ask_per_order_max", expect: "text", validator: "adminPerOrderMax", saveAs: "value", next: "save", maxAttempts: 5 },
    askLowStock: { kind: "ask", text: "admin.product.ask_low_stock", expect: "text", validator: "adminLowStockThreshold", saveAs: "value", next: "save", maxAttempts: 5 },
    save: { kind: "action", action: "adminSaveProductField" },
    kept: { kind: "end", text: "admin.product.price_kept" },
  },
});

export const productHideFlow = defineFlow<ProductData>()({
  id: "admin-product-hide",
  guard: adminGuard(CATALOG_WRITE),
  audience: "seller",
  triggers: { commands: ["sembunyikan", "hide"] },
  help: "admin.help.product_hide",
  steps: {
    target: { kind: "action", action: "adminProductTarget", next: "save", outcomes: { pick: "pick" } },
    pick: { kind: "choose", text: "admin.product.pick", source: "adminProductChoices", saveAs: "sku", next: "target" },
    save: { kind: "action", action: "adminSetVisibility" },
  },
});

export const productShowFlow = defineFlow<ProductData>()({
  id: "admin-product-show",
  guard: adminGuard(CATALOG_WRITE),
  audience: "seller",
  triggers: { commands: ["tampilkan", "show"] },
  help: "admin.help.product_show",
  steps: {
    target: { kind: "action", action: "adminProductTarget", next: "save", outcomes: { pick: "pick" } },
    pick: { kind: "choose", text: "admin.product.pick", source: "adminProductChoices", saveAs: "sku", next: "target" },
    save: { kind: "action", action: "adminSetVisibility" },
  },
});

export const productFlows = [productListFlow, productAddFlow, productEditFlow, productPriceFlow, productHideFlow, productShowFlow];

/** Each command's usage line, shown when it is typed wrong. */
const USAGE: Record<string, string> = {
  "admin-product-edit": "admin.usage.product_edit",
  "admin-product-price": "admin.usage.product_price",
  "admin-product-hide": "admin.usage.product_hide",
  "admin-product-show": "admin.usage.product_show",
};

function fieldValueText(locale: Locale, field: ProductField, value: unknown, currency: string): string {
  if (value === null || value === undefined || value === "") return t(locale, "admin.product.unset");
  if (field === "price" && typeof value === "number") return formatPrice(value, currency, locale);
  if (field === "lowStockThreshold" && value === 0) return t(locale, "admin.product.no_alert");
  if (field === "status") return t(locale, value === "hidden" ? "admin.product.status_hidden" : "admin.product.status_active");
  return String(value);
}

function fieldName(locale: Locale, field: ProductField): string {
  switch (field) {
    case "name":
      return t(locale, "admin.product.fields.name");
    case "price":
      return t(locale, "admin.product.fields.price");
    case "description":
      return t(locale, "admin.product.fields.description");
    case "category":
      return t(locale, "admin.product.fields.category");
    case "perOrderMax":
      return t(locale, "admin.product.fields.perOrderMax");
    case "lowStockThreshold":
      return t(locale, "admin.product.fields.lowStockThreshold");
    case "status":
      return t(locale, "admin.product.fields.status");
  }
}

function verdictValidator<T>(check: (raw: string, ctx: ActionContext) => Verdict<T> | Promise<Verdict<T>>): AnswerValidator {
  return async (value, ctx) => {
    const verdict = await check(String(value ?? ""), ctx);
    return verdict.ok ? { ok: true, value: verdict.value } : { ok: false, reask: { key: verdict.key, ...(verdict.params && { params: verdict.params }) } };
  };
}

export function productValidators(): ValidatorRegistry {
  return {
    adminNewSku: verdictValidator(async (raw, ctx) => {
      const sku = checkSku(raw);
      if (sku.ok && (await skuTaken(ctx.tenant.id, sku.value))) return { ok: false, key: "admin.product.sku_taken", params: { sku: sku.value } };
      return sku;
    }),
    adminProductName: verdictValidator((raw) => checkName(raw)),
    adminProductPrice: verdictValidator(async (raw, ctx) => checkPrice(raw, await currencyOf(ctx.tenant.id), ctx.locale)),
    adminProductDescription: verdictValidator((raw) => checkDescription(raw)),
    adminProductCategory: verdictValidator((raw) => checkCategory(raw)),
    adminPerOrderMax: verdictValidator((raw) => checkOptionalWhole(raw, 1, LIMITS.perOrderMax)),
    adminLowStockThreshold: verdictValidator((raw) => {
      const verdict = checkOptionalWhole(raw, 0, LIMITS.lowStockThreshold);
      return verdict.ok ? { ok: true, value: verdict.value ?? 0 } : verdict;
    }),
  };
}

/** The wizard's answers, already checked by its validators, as a product draft. */
function draftOf(d: Readonly<ProductData>): ProductDraft {
  return {
    sku: String(d.sku),
    name: String(d.name),
    price: Number(d.price),
    description: String(d.description ?? ""),
    category: String(d.category ?? ""),
    perOrderMax: typeof d.perOrderMax === "number" ? d.perOrderMax : null,
    lowStockThreshold: typeof d.lowStockThreshold === "number" ? d.lowStockThreshold : 0,
  };
}

function describeProduct(locale: Locale, p: Omit<ProductView, "id" | "status">, currency: string): string {
  return t(locale, "admin.product.summary", {
    sku: p.sku,
    name: p.name,
    price: formatPrice(p.price, currency, locale),
    description: p.description || t(locale, "admin.product.unset"),
    category: p.category || t(locale, "admin.product.unset"),
    perOrderMax: p.perOrderMax ?? t(locale, "admin.product.store_default"),
    lowStockThreshold: p.lowStockThreshold > 0 ? p.lowStockThreshold : t(locale, "admin.product.no_alert"),
  });
}

export function productActions(services: ResolvedAdminServices): ActionRegistry {
  return {
    ...priceActions(services),
    adminListProducts: adminAction(services, CATALOG_WRITE, async (ctx) => {
      const [products, currency] = await Promise.all([listProductsWithStock(ctx.tenant.id), currencyOf(ctx.tenant.id)]);
      if (products.length === 0) return stop(say("admin.product.none"));
      const lines = products.map(({ product, available }) =>
        t(ctx.locale, product.status === "hidden" ? "admin.product.line_hidden" : "admin.product.line", {
          sku: product.sku,
          name: product.name,
          price: formatPrice(product.price, currency, ctx.locale),
          count: available,
        }),
      );
      return stop(say("admin.product.list", { count: products.length, lines: lines.join("\n") }));
    }),

    adminPrefillSku: productAction({ outcomes: ["known"] }, async (ctx) => {
      const args = commandArgs(ctx);
      if (args === "") return {};
      const sku = checkSku(args.split(/\s+/)[0]);
      if (!sku.ok) return { say: [say(sku.key, sku.params)] };
      if (await skuTaken(ctx.tenant.id, sku.value)) return { say: [say("admin.product.sku_taken", { sku: sku.value })] };
      return { data: { sku: sku.value }, outcome: "known" };
    }),

    adminReviewProduct: productAction(async (ctx) => {
      const currency = await currencyOf(ctx.tenant.id);
      return { data: { summary: describeProduct(ctx.locale, draftOf(ctx.data), currency) } };
    }),

    adminCreateProduct: productAction(
      { outcomes: ["taken"] },
      adminAction<ProductData, "taken">(services, CATALOG_WRITE, async (ctx, actor) => {
        const draft = draftOf(ctx.data);
        const result = await createProduct(ctx.tenant.id, draft);
        if ("taken" in result) return { say: [say("admin.product.sku_taken", { sku: draft.sku })], outcome: "taken" };
        const { id: _id, ...after } = result.created;
        await audit(ctx, actor, "product.create", { type: "product", id: after.sku }, { after });
        return stop(say("admin.product.created", { sku: draft.sku, name: draft.name }));
      }),
    ),

    adminProductChoices: async (ctx) => {
      const [products, currency] = await Promise.all([listProductsWithStock(ctx.tenant.id), currencyOf(ctx.tenant.id)]);
      return {
        choices: products.map(({ product }) => ({
          id: product.sku,
          label: {
            key: product.status === "hidden" ? "admin.product.choice_hidden" : "admin.product.choice",
            params: { sku: product.sku, name: product.name, price: formatPrice(product.price, currency, ctx.locale) },
          },
        })),
      };
    },

    /** Finds the product a command names: by argument, by an earlier pick, or asks to pick one. */
    adminProductTarget: productAction({ outcomes: ["pick"] }, async (ctx) => {
      let sku = ctx.data.sku;
      let rest: string | null = null;
      if (sku === undefined) {
        const args = commandArgs(ctx);
        if (args === "") return (await listProductsWithStock(ctx.tenant.id)).length > 0 ? { outcome: "pick" } : stop(say("admin.product.none"));
        const [first, ...others] = args.split(/\s+/);
        const checked = checkSku(first);
        if (!checked.ok) return stop(say(USAGE[ctx.flowId] ?? "admin.usage.product_edit"));
        sku = checked.value;
        rest = others.length > 0 ? others.join(" ") : null;
        // Only /harga takes something after the sku.
        if (rest !== null && ctx.flowId !== "admin-product-price") return stop(say(USAGE[ctx.flowId] ?? "admin.usage.product_edit"));
      }
      const product = await findProduct(ctx.tenant.id, sku);
      if (!product) return stop(say("admin.product.unknown_sku", { sku }));
      return { data: { sku, productName: product.name, rest, productVersion: product.version } };
    }),

    adminSaveProductField: productAction(
      adminAction<ProductData>(services, CATALOG_WRITE, async (ctx, actor) => {
        const field = ctx.data.field!;
        const sku = String(ctx.data.sku);
        const change = await updateProduct(ctx.tenant.id, sku, { [field]: ctx.data.value ?? null }, { ...(ctx.data.productVersion && { unchangedSince: ctx.data.productVersion }) });
        if (!change) return stop(say("admin.product.unknown_sku", { sku }));
        if ("conflict" in change) {
          const now = change.conflict;
          const other = await concurrentEdit(services, ctx, actor, { type: "product", id: sku, label: `${sku} (${now.name})` }, { type: "product", id: sku });
          const current = fieldValueText(ctx.locale, field, now[field], await currencyOf(ctx.tenant.id));
          return stop(say("admin.product.conflict", { sku, other, field: fieldName(ctx.locale, field), current }));
        }
        const before = change.before[field];
        const after = change.after[field];
        await audit(ctx, actor, `product.${field}`, { type: "product", id: change.after.sku }, { before: { [field]: before }, after: { [field]: after } });
        const currency = await currencyOf(ctx.tenant.id);
        return stop(
          say("admin.product.changed", {
            sku: change.after.sku,
            field: fieldName(ctx.locale, field),
            before: fieldValueText(ctx.locale, field, before, currency),
            after: fieldValueText(ctx.locale, field, after, currency),
          }),
        );
      }),
    ),

    adminSetVisibility: adminAction(services, CATALOG_WRITE, async (ctx, actor) => {
      const status = ctx.flowId === "admin-product-hide" ? "hidden" : "active";
      const change = await updateProduct(ctx.tenant.id, String(ctx.data.sku), { status });
      if (!change || "conflict" in change) return stop(say("admin.product.unknown_sku", { sku: String(ctx.data.sku) }));
      const sku = change.after.sku;
      if (change.before.status === status) return stop(say(status === "hidden" ? "admin.product.already_hidden" : "admin.product.already_shown", { sku }));
      await audit(ctx, actor, status === "hidden" ? "product.hide" : "product.show", { type: "product", id: sku }, { before: { status: change.before.status }, after: { status } });
      return stop(say(status === "hidden" ? "admin.product.hidden" : "admin.product.shown", { sku, name: change.after.name }));
    }),
  };
}
