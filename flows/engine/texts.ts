// Turning a `Text` into words. Keys resolve through the platform's i18n catalogue;
// a store's inline texts carry their own languages and use the same `{{param}}` syntax.
import { hasKey, t } from "../../locales/i18n.ts";
import type { InlineText, Locale, Text, TextParams } from "./message.ts";

const LOCALES: readonly Locale[] = ["id", "en"];

/** What the engine needs from the i18n catalogue: checking keys at start-up, rendering at run time. */
export interface TextCatalog {
  has(key: string): boolean;
  render(locale: Locale, key: string, params?: TextParams): string;
}

/** The platform's catalogue: `locales/<id|en>/<area>.json` through i18next. */
export const i18nTexts: TextCatalog = { has: hasKey, render: t };

export function renderText(text: Text, locale: Locale, catalog: TextCatalog): string {
  if ("key" in text) return catalog.render(locale, text.key, text.params);
  return interpolate(pickLanguage(text.inline, locale), text.params ?? {});
}

function pickLanguage(inline: InlineText, locale: Locale): string {
  return inline[locale] ?? inline.id ?? inline.en ?? "";
}

function interpolate(template: string, params: TextParams): string {
  return template.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}/g, (whole, path: string) => {
    const value = path.split(".").reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], params);
    return value === undefined || value === null ? whole : String(value);
  });
}

const namesByKey = new WeakMap<TextCatalog, Map<string, readonly string[]>>();
const namesByInline = new WeakMap<object, readonly string[]>();

/**
 * The top-level names a text's `{{placeholders}}` use (`product` for `{{product.name}}`),
 * in any language. A text's params copy only these, so building one costs the same
 * however much data a conversation holds. Remembered per text.
 */
export function placeholderNames(spec: string | InlineText, catalog: TextCatalog): readonly string[] {
  if (typeof spec !== "string") {
    let names = namesByInline.get(spec);
    if (!names) namesByInline.set(spec, (names = namesIn(Object.values(spec))));
    return names;
  }
  let byKey = namesByKey.get(catalog);
  if (!byKey) namesByKey.set(catalog, (byKey = new Map()));
  let names = byKey.get(spec);
  // Rendered without params, a template keeps its placeholders as written.
  if (!names) byKey.set(spec, (names = namesIn(LOCALES.map((locale) => catalog.render(locale, spec)))));
  return names;
}

function namesIn(templates: (string | undefined)[]): string[] {
  const names = new Set<string>();
  for (const template of templates) {
    for (const match of (template ?? "").matchAll(/\{\{\s*-?\s*([A-Za-z_][A-Za-z0-9_]*)/g)) names.add(match[1]);
  }
  return [...names];
}

/** The words a user might type to pick a choice, normalised for comparison. */
export function normaliseForMatch(words: string): string {
  return words.normalize("NFKC").trim().toLocaleLowerCase().replace(/\s+/g, " ");
}
