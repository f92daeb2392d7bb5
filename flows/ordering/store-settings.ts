// What a store decided about its checkout: payment methods and timeout, SNK text and
// window, transfer instructions, how long payment proofs are kept. Sellers edit these
// (/pengaturan); ordering reads them through `storeSettings` only, so a store
// created before a setting existed still gets a sensible default.
import { Types } from "mongoose";
import type { Locale } from "../engine/message.ts";
import { Tenant } from "../../storage/models/index.ts";

export interface OrderingSettings {
  /** Methods the store accepts, in the order customers see them. */
  paymentMethods: string[];
  /** Minutes an order waits for payment before its stock goes back on sale. */
  paymentTimeoutMinutes: number;
  /** The store's own transfer instructions (bank, account, name), shown for manual payment. */
  paymentInstructions: string;
  /** The store's terms (SNK); empty means the store has none to accept. */
  snkText: string;
  /** Hours after delivery in which the customer confirms or claims. */
  snkWindowHours: number;
  /** Days a payment proof or claim screenshot is kept before it is purged. */
  proofRetentionDays: number;
  /** The largest quantity of one product in one order, unless the product says otherwise. */
  maxQuantityPerOrder: number;
}

export const DEFAULT_ORDERING_SETTINGS: Readonly<OrderingSettings> = Object.freeze({
  paymentMethods: ["manual"],
  paymentTimeoutMinutes: 60,
  paymentInstructions: "",
  snkText: "",
  snkWindowHours: 24,
  proofRetentionDays: 30,
  maxQuantityPerOrder: 10,
});

export interface StoreSettings {
  tenantId: Types.ObjectId;
  slug: string;
  /** `bot_store_name`. */
  name: string;
  active: boolean;
  currency: string;
  locale: Locale;
  timezone: string;
  ordering: OrderingSettings;
}

type StoredOrdering = Partial<Record<keyof OrderingSettings, unknown>>;

/** The store's checkout settings with defaults filled in, or `undefined` when there is no such store. */
export async function storeSettings(tenantId: string | Types.ObjectId): Promise<StoreSettings | undefined> {
  if (!Types.ObjectId.isValid(tenantId)) return undefined;
  return settingsOf(await Tenant.findById(tenantId, SETTINGS_FIELDS).lean().exec());
}

/** {@link storeSettings} by the store's slug, in one read (webhooks and pay pages name stores by slug). */
export async function storeSettingsBySlug(slug: string): Promise<StoreSettings | undefined> {
  return settingsOf(await Tenant.findOne({ slug }, SETTINGS_FIELDS).lean().exec());
}

const SETTINGS_FIELDS = { slug: 1, name: 1, status: 1, currency: 1, locale: 1, timezone: 1, settings: 1 };
type StoredTenant = { _id: Types.ObjectId; slug: string; name: string; status?: string | null; currency?: string | null; locale?: string | null; timezone?: string | null };

function settingsOf(tenant: StoredTenant | null): StoreSettings | undefined {
  if (!tenant) return undefined;
  // Read loosely: documents written before `settings.ordering` existed have none of it.
  const stored = ((tenant as { settings?: { ordering?: StoredOrdering } }).settings?.ordering ?? {}) as StoredOrdering;
  return {
    tenantId: tenant._id,
    slug: tenant.slug,
    name: tenant.name,
    active: tenant.status !== "suspended",
    currency: tenant.currency ?? "IDR",
    locale: tenant.locale === "en" ? "en" : "id",
    timezone: tenant.timezone ?? "Asia/Jakarta",
    ordering: orderingSettingsFrom(stored),
  };
}

/** Stored values where they make sense, defaults where they are missing or out of range. */
export function orderingSettingsFrom(stored: StoredOrdering): OrderingSettings {
  const d = DEFAULT_ORDERING_SETTINGS;
  const methods = Array.isArray(stored.paymentMethods) ? stored.paymentMethods.filter((m): m is string => typeof m === "string" && m !== "") : [];
  return {
    paymentMethods: methods.length > 0 ? [...new Set(methods)] : [...d.paymentMethods],
    paymentTimeoutMinutes: wholeIn(stored.paymentTimeoutMinutes, 1, 7 * 24 * 60, d.paymentTimeoutMinutes),
    paymentInstructions: typeof stored.paymentInstructions === "string" ? stored.paymentInstructions : d.paymentInstructions,
    snkText: typeof stored.snkText === "string" ? stored.snkText : d.snkText,
    snkWindowHours: wholeIn(stored.snkWindowHours, 1, 24 * 90, d.snkWindowHours),
    proofRetentionDays: wholeIn(stored.proofRetentionDays, 1, 3650, d.proofRetentionDays),
    maxQuantityPerOrder: wholeIn(stored.maxQuantityPerOrder, 1, 1000, d.maxQuantityPerOrder),
  };
}

function wholeIn(value: unknown, min: number, max: number, fallback: number): number {
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max ? value : fallback;
}
