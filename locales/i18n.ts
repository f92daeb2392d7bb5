/**
 * Texts in the user's language (i18next), Indonesian first.
 *
 * Every JSON file in `locales/<locale>/` is one area; its keys are written `<area>.<path>`:
 * `locales/id/common.json` → `{ "error_apology": "…" }` is used as
 *
 * ```ts
 * t(session.locale, "common.error_apology", { errorId });
 * ```
 *
 * A new area is a new file in both folders: nobody edits another area's file, and the loader
 * picks it up. Interpolation (`{{name}}`) does not HTML-escape: the output is chat text.
 * A missing key renders as the key itself, so the user sees something and the gap is visible;
 * `tests/unit/locales.test.ts` keeps that from reaching production.
 */
import { readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import i18next, { type i18n } from "i18next";

export type Locale = "id" | "en";
export const locales: readonly Locale[] = ["id", "en"];
export const defaultLocale: Locale = "id";

const localesDir = dirname(fileURLToPath(import.meta.url));
const PLURAL_SUFFIX = /_(zero|one|two|few|many|other)$/;

let instance: i18n | undefined;
const keysByLocale = new Map<Locale, { all: string[]; lookup: Set<string> }>();

function readArea(locale: Locale, file: string): Record<string, unknown> {
  const path = join(localesDir, locale, file);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new Error(`locales/${locale}/${file} is not valid JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new Error(`locales/${locale}/${file} must hold a JSON object of texts`);
  }
  return parsed as Record<string, unknown>;
}

function readLocale(locale: Locale): Record<string, unknown> {
  const areas: Record<string, unknown> = {};
  let files: string[] = [];
  try {
    files = readdirSync(join(localesDir, locale)).filter((name) => name.endsWith(".json"));
  } catch {
    // A locale without a folder simply has no texts yet; the key-set test reports it.
  }
  for (const file of files.sort()) areas[basename(file, ".json")] = readArea(locale, file);
  return areas;
}

function leafKeys(tree: Record<string, unknown>, prefix = ""): string[] {
  return Object.entries(tree).flatMap(([name, value]) => {
    const key = prefix + name;
    return value !== null && typeof value === "object" && !Array.isArray(value)
      ? leafKeys(value as Record<string, unknown>, `${key}.`)
      : [key];
  });
}

function ensureInit(): i18n {
  if (instance) return instance;
  const resources: Record<string, { translation: Record<string, unknown> }> = {};
  for (const locale of locales) {
    const tree = readLocale(locale);
    resources[locale] = { translation: tree };
    const all = leafKeys(tree).sort();
    // A plural group (`items_one`, `items_other`) answers to its base key too.
    keysByLocale.set(locale, { all, lookup: new Set([...all, ...all.map((key) => key.replace(PLURAL_SUFFIX, ""))]) });
  }
  const created = i18next.createInstance();
  // With inline resources and initAsync off, init completes before it returns.
  void created.init({
    resources,
    lng: defaultLocale,
    fallbackLng: defaultLocale,
    supportedLngs: [...locales],
    initAsync: false,
    nsSeparator: false,
    keySeparator: ".",
    returnNull: false,
    interpolation: { escapeValue: false },
  });
  instance = created;
  return created;
}

/** Loads every area file of every locale. Safe to call more than once; {@link t} also loads on first use. */
export async function initI18n(): Promise<void> {
  ensureInit();
}

/** The supported locale for a user's language code: `"en-US"` → `"en"`; anything unknown → {@link defaultLocale}. */
export function resolveLocale(locale: Locale | string | undefined): Locale {
  const language = locale?.toLowerCase().split(/[-_]/)[0];
  return locales.find((candidate) => candidate === language) ?? defaultLocale;
}

/** The text for `key` (`<area>.<path>`) in `locale`, with `{{param}}` placeholders filled in. */
export function t(locale: Locale | string | undefined, key: string, params?: Record<string, unknown>): string {
  return String(ensureInit().t(key, { ...params, lng: resolveLocale(locale) }));
}

/** Whether `key` has a text in every locale (for a plural group, its base key counts). */
export function hasKey(key: string): boolean {
  ensureInit();
  return locales.every((locale) => keysByLocale.get(locale)?.lookup.has(key) === true);
}

/** Every key with a text in `locale`, sorted; plural forms are listed as they are written (`items_one`). */
export function allKeys(locale: Locale): string[] {
  ensureInit();
  return [...(keysByLocale.get(locale)?.all ?? [])];
}
