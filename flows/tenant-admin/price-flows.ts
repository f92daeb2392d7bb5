// Changing a product's price: `/harga SKU HARGA`, or `/harga` then pick and type, and the
// price field of /ubahproduk. A new price above 5× the old one or under a fifth of it — a
// zero too many or too few — is shown old → new and applied only when the seller says yes.
import { actionsFor, type ActionRegistry } from "../engine/actions.ts";
import { defineFlow } from "../engine/flow-schema.ts";
import { t } from "../../locales/i18n.ts";
import { formatPrice } from "../ordering/catalog.ts";
import { storeSettings } from "../ordering/store-settings.ts";
import { adminAction, adminGuard, audit, say, stop } from "./admin-access.ts";
import type { ResolvedAdminServices } from "./admin-services.ts";
import { concurrentEdit } from "./concurrent-edits.ts";
import { CATALOG_WRITE } from "./permissions.ts";
import { checkPrice, isBigPriceChange } from "./price-input.ts";
import { findProduct, updateProduct, type ProductField } from "./products.ts";

/**
 * What the product flows (and /harga) keep: the product named, the wizard's answers
 * (already checked by their validators), and the field being changed with its new value.
 */
export type ProductData = {
  commandArgs?: string;
  sku?: string;
  productName?: string;
  /** What followed the sku (`/harga SKU 30000`); `null` when nothing did. */
  rest?: string | null;
  name?: string;
  price?: number;
  description?: string;
  category?: string;
  perOrderMax?: number | null;
  lowStockThreshold?: number;
  summary?: string;
  field?: ProductField;
  value?: string | number | null;
  priceBefore?: string;
  priceAfter?: string;
  /** When the product last changed as the edit started (`findProduct`'s `version`): saved only if still so. */
  productVersion?: string;
};

const productAction = actionsFor<ProductData>();

export async function currencyOf(tenantId: string): Promise<string> {
  return (await storeSettings(tenantId))?.currency ?? "IDR";
}

/**
 * The question before a big change, after the `adminWeighPrice` action said so. A flow
 * using it has a `save` step (yes) and a `kept` step (no).
 */
export const confirmBigPriceChange = {
  kind: "choose" as const,
  text: "admin.product.price_confirm",
  choices: [
    { id: "yes", label: "admin.product.price_confirm_yes", next: "save" as const },
    { id: "no", label: "admin.product.price_confirm_no", next: "kept" as const },
  ],
};

export const productPriceFlow = defineFlow<ProductData>()({
  id: "admin-product-price",
  guard: adminGuard(CATALOG_WRITE),
  audience: "seller",
  triggers: { commands: ["harga", "setprice"] },
  help: "admin.help.product_price",
  steps: {
    target: { kind: "action", action: "adminProductTarget", next: "hasPrice", outcomes: { pick: "pick" } },
    pick: { kind: "choose", text: "admin.product.pick", source: "adminProductChoices", saveAs: "sku", next: "target" },
    hasPrice: { kind: "branch", cases: [{ when: { field: "rest", exists: true }, next: "weigh" }], otherwise: "askPrice" },
    askPrice: { kind: "ask", text: "admin.product.ask_price", expect: "text", validator: "adminProductPrice", saveAs: "value", next: "weigh", maxAttempts: 5 },
    weigh: { kind: "action", action: "adminWeighPrice", next: "save", outcomes: { confirm: "confirm" } },
    confirm: confirmBigPriceChange,
    save: { kind: "action", action: "adminSavePrice" },
    kept: { kind: "end", text: "admin.product.price_kept" },
  },
});

export function priceActions(services: ResolvedAdminServices): ActionRegistry {
  return {
    /**
     * Reads the price typed after the sku (`/harga SKU HARGA`) or already checked by the
     * `ask` step, and compares it with the current one: `confirm` when the change is big.
     */
    adminWeighPrice: productAction(
      { outcomes: ["confirm"] },
      adminAction<ProductData, "confirm">(services, CATALOG_WRITE, async (ctx) => {
        const sku = String(ctx.data.sku);
        const currency = await currencyOf(ctx.tenant.id);
        let price = Number(ctx.data.value);
        if (typeof ctx.data.rest === "string") {
          const checked = checkPrice(ctx.data.rest, currency, ctx.locale);
          if (!checked.ok) return stop(say(checked.key, checked.params), say("admin.usage.product_price"));
          price = checked.value;
        }
        const product = await findProduct(ctx.tenant.id, sku);
        if (!product) return stop(say("admin.product.unknown_sku", { sku }));
        const data = { value: price, priceBefore: formatPrice(product.price, currency, ctx.locale), priceAfter: formatPrice(price, currency, ctx.locale) };
        return isBigPriceChange(product.price, price) ? { data, outcome: "confirm" } : { data };
      }),
    ),

    adminSavePrice: productAction(
      adminAction<ProductData>(services, CATALOG_WRITE, async (ctx, actor) => {
        const currency = await currencyOf(ctx.tenant.id);
        const sku = String(ctx.data.sku);
        const change = await updateProduct(ctx.tenant.id, sku, { price: Number(ctx.data.value) }, { ...(ctx.data.productVersion && { unchangedSince: ctx.data.productVersion }) });
        if (!change) return stop(say("admin.product.unknown_sku", { sku }));
        if ("conflict" in change) {
          const now = change.conflict;
          const other = await concurrentEdit(services, ctx, actor, { type: "product", id: sku, label: `${sku} (${now.name})` }, { type: "product", id: sku });
          return stop(say("admin.product.conflict", { sku, other, field: t(ctx.locale, "admin.product.fields.price"), current: formatPrice(now.price, currency, ctx.locale) }));
        }
        await audit(ctx, actor, "product.price", { type: "product", id: change.after.sku }, { before: { price: change.before.price }, after: { price: change.after.price } });
        return stop(
          say("admin.product.changed", {
            sku: change.after.sku,
            field: t(ctx.locale, "admin.product.fields.price"),
            before: formatPrice(change.before.price, currency, ctx.locale),
            after: formatPrice(change.after.price, currency, ctx.locale),
          }),
        );
      }),
    ),
  };
}
