// What a seller may change about their store from the chat: its name, language, terms
// (SNK), transfer instructions, payment timeout and SNK window. Each setting knows where
// it lives in the tenant document and how to check a typed value.
import { createHash } from "node:crypto";
import { Types } from "mongoose";
import { Tenant } from "../../storage/models/index.ts";
import { storeSettings, type StoreSettings } from "../ordering/store-settings.ts";
import { checkOptionalWhole, isEmptyAnswer, type Verdict } from "./products.ts";

export const SETTING_IDS = ["name", "language", "snk", "payment", "timeout", "window"] as const;
export type SettingId = (typeof SETTING_IDS)[number];

interface SettingSpec {
  path: string;
  read(store: StoreSettings): string | number;
  check(raw: string): Verdict<string | number>;
}

const text = (max: number, key: string, optional: boolean) => (raw: string): Verdict<string> => {
  if (optional && isEmptyAnswer(raw)) return { ok: true, value: "" };
  const value = raw.trim();
  if (value.length === 0) return { ok: false, key: "admin.settings.empty" };
  if (value.length > max) return { ok: false, key, params: { max, length: value.length } };
  return { ok: true, value };
};

const whole = (min: number, max: number) => (raw: string): Verdict<number> => {
  const verdict = checkOptionalWhole(raw, min, max);
  if (!verdict.ok || verdict.value === null) return { ok: false, key: "admin.settings.whole_number", params: { min, max } };
  return { ok: true, value: verdict.value };
};

export const SETTINGS: Readonly<Record<SettingId, SettingSpec>> = {
  name: { path: "name", read: (s) => s.name, check: text(64, "admin.settings.too_long", false) },
  language: {
    path: "locale",
    read: (s) => s.locale,
    check: (raw) => (raw === "id" || raw === "en" ? { ok: true, value: raw } : { ok: false, key: "admin.settings.language_unknown" }),
  },
  snk: { path: "settings.ordering.snkText", read: (s) => s.ordering.snkText, check: text(4000, "admin.settings.too_long", true) },
  payment: { path: "settings.ordering.paymentInstructions", read: (s) => s.ordering.paymentInstructions, check: text(2000, "admin.settings.too_long", true) },
  timeout: { path: "settings.ordering.paymentTimeoutMinutes", read: (s) => s.ordering.paymentTimeoutMinutes, check: whole(5, 1440) },
  window: { path: "settings.ordering.snkWindowHours", read: (s) => s.ordering.snkWindowHours, check: whole(1, 720) },
};

export function isSettingId(value: unknown): value is SettingId {
  return typeof value === "string" && (SETTING_IDS as readonly string[]).includes(value);
}

/** A short fingerprint of a setting's value, kept in an edit's session to see whether it changed meanwhile. */
export function settingFingerprint(value: string | number): string {
  return createHash("sha256").update(String(value)).digest("base64url").slice(0, 16);
}

/**
 * Saves one setting; returns the value before and after, or `undefined` when the store is
 * gone. With `unchangedFrom` (a `settingFingerprint` taken when the edit started), only if
 * the setting is still that value: otherwise nothing is written and `conflict` is the value now.
 */
export async function changeSetting(
  tenantId: string,
  id: SettingId,
  value: string | number,
  { unchangedFrom }: { unchangedFrom?: string } = {},
): Promise<{ before: string | number; after: string | number } | { conflict: string | number } | undefined> {
  const _id = new Types.ObjectId(tenantId);
  const current = await storeSettings(tenantId);
  if (!current) return undefined;
  const spec = SETTINGS[id];
  const before = spec.read(current);
  if (unchangedFrom !== undefined && settingFingerprint(before) !== unchangedFrom) return { conflict: before };
  // Written only if it still holds what was just read: a change in between is a conflict too.
  const raw = spec.path.split(".").reduce<unknown>((doc, key) => (doc as Record<string, unknown> | undefined)?.[key], await Tenant.findById(_id, { [spec.path]: 1 }).lean().exec());
  const unchanged = raw === undefined || raw === null ? { [spec.path]: { $exists: false } } : { [spec.path]: raw };
  const saved = await Tenant.updateOne({ _id, ...unchanged }, { $set: { [spec.path]: value } }, { runValidators: true }).exec();
  if (saved.matchedCount === 0) {
    const now = await storeSettings(tenantId);
    return now ? { conflict: spec.read(now) } : undefined;
  }
  return { before, after: value };
}
