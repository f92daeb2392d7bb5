import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { allKeys, hasKey, initI18n, locales, resolveLocale, t, type Locale } from "../../locales/i18n.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const SOURCE_FOLDERS = ["bots", "flows", "adapters", "storage", "admin-bot", "locales"];
const KEY_SHAPE = /^[a-z][a-z0-9_-]*\.[a-zA-Z0-9_.-]+$/;
const PLURAL_SUFFIX = /_(zero|one|two|few|many|other)$/;

await initI18n();

function areaNames(): Set<string> {
  const names = new Set<string>();
  for (const locale of locales) {
    for (const file of readdirSync(join(root, "locales", locale))) {
      if (file.endsWith(".json")) names.add(basename(file, ".json"));
    }
  }
  return names;
}

function sourceFiles(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "node_modules" || entry.name.startsWith(".") ? [] : sourceFiles(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [path] : [];
  });
}

/** String literals as the compiler sees them: comments and `${}` templates are not keys. */
function stringLiterals(path: string): { text: string; line: number }[] {
  const source = ts.createSourceFile(path, readFileSync(path, "utf8"), ts.ScriptTarget.Latest, true);
  const found: { text: string; line: number }[] = [];
  const visit = (node: ts.Node) => {
    // A module name (`import … from "discord.js"`) is no text, even when it looks like a key.
    const moduleName = node.parent !== undefined && (ts.isImportDeclaration(node.parent) || ts.isExportDeclaration(node.parent)) && node.parent.moduleSpecifier === node;
    if ((ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) && !moduleName) {
      found.push({ text: node.text, line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function placeholders(text: string): string[] {
  return [...text.matchAll(/\{\{\s*-?\s*([^}\s,]+)[^}]*\}\}/g)].map((m) => m[1]);
}

function textsByBaseKey(locale: Locale): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const key of allKeys(locale)) {
    const base = key.replace(PLURAL_SUFFIX, "");
    groups.set(base, [...(groups.get(base) ?? []), t(locale, key)]);
  }
  return groups;
}

test("Indonesian and English have the same keys", () => {
  const base = (locale: Locale) => new Set(allKeys(locale).map((key) => key.replace(PLURAL_SUFFIX, "")));
  const [id, en] = [base("id"), base("en")];
  const onlyId = [...id].filter((key) => !en.has(key));
  const onlyEn = [...en].filter((key) => !id.has(key));
  assert.ok(id.size > 0, "no texts found under locales/id");
  assert.deepEqual(
    { onlyInId: onlyId, onlyInEn: onlyEn },
    { onlyInId: [], onlyInEn: [] },
    `keys missing from a locale:\n${onlyId.map((k) => `  en lacks ${k}`).concat(onlyEn.map((k) => `  id lacks ${k}`)).join("\n")}`,
  );
});

test("every key written in the code has a text in both locales", () => {
  const areas = areaNames();
  const missing: string[] = [];
  let checked = 0;
  for (const folder of SOURCE_FOLDERS) {
    for (const file of sourceFiles(join(root, folder))) {
      for (const { text, line } of stringLiterals(file)) {
        if (!KEY_SHAPE.test(text) || !areas.has(text.split(".")[0])) continue;
        checked++;
        if (!hasKey(text)) missing.push(`${relative(root, file)}:${line} ${text}`);
      }
    }
  }
  assert.ok(checked > 0, "found no i18n keys in the code at all; is the scan looking in the right folders?");
  assert.deepEqual(missing, [], `keys used in code without a text in both locales:\n  ${missing.join("\n  ")}`);
});

test("each text has the same {{placeholders}} in both locales", () => {
  const [id, en] = [textsByBaseKey("id"), textsByBaseKey("en")];
  const mismatched: string[] = [];
  for (const [key, idTexts] of id) {
    const enTexts = en.get(key);
    if (!enTexts) continue;
    const set = (texts: string[]) => [...new Set(texts.flatMap(placeholders))].sort().join(",");
    if (set(idTexts) !== set(enTexts)) mismatched.push(`${key}: id {${set(idTexts)}} vs en {${set(enTexts)}}`);
  }
  assert.deepEqual(mismatched, [], `placeholders differ:\n  ${mismatched.join("\n  ")}`);
});

test("a text is filled in without HTML escaping, since it goes to a chat", () => {
  assert.equal(t("en", "common.error_apology", { errorId: "<E-42 & co>" }).endsWith("<E-42 & co>"), true);
  assert.match(t("id", "common.rate_limited", { seconds: 5 }), /5 detik/);
});

test("an unknown or regional language falls back sensibly", () => {
  assert.equal(resolveLocale("en-US"), "en");
  assert.equal(resolveLocale("ID"), "id");
  assert.equal(resolveLocale("pt-br"), "id");
  assert.equal(resolveLocale(undefined), "id");
  assert.equal(t("fr", "common.yes"), t("id", "common.yes"));
  assert.equal(t("en-GB", "common.yes"), "Yes");
});

test("hasKey knows leaf texts only, and loading twice changes nothing", async () => {
  await initI18n();
  assert.equal(hasKey("common.error_apology"), true);
  assert.equal(hasKey("common"), false);
  assert.equal(hasKey("common.no_such_text"), false);
  assert.ok(allKeys("id").includes("common.error_apology"));
  assert.equal(t("id", "common.no_such_text"), "common.no_such_text");
});
