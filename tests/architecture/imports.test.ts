// Imports go one way — bots → admin-bot, adapters → flows/engine ← flows/<flow> → storage — and
// `npm run lint` says so. These tests show the rule firing on each kind of backward import,
// the tree passing it, and the tree having no import cycle, types included.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ESLint } from "eslint";
import { importCycles, importGraph, PRODUCT_FOLDERS, ROOT } from "./import-graph.ts";

const eslint = new ESLint({ cwd: ROOT });

async function importRuleMessages(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${ROOT}/${filePath}` });
  return result.messages.filter((m) => m.ruleId === "no-restricted-imports").map((m) => m.message);
}

const backwardImports: { from: string; imports: string; why: RegExp }[] = [
  { from: "storage/new-store.ts", imports: "../bots/logger.ts", why: /storage imports none/ },
  { from: "storage/embedded/commands/new-command.ts", imports: "../../../flows/engine/index.ts", why: /storage imports none/ },
  { from: "flows/ordering/new-notice.ts", imports: "../../bots/logger.ts", why: /flows import no adapter and nothing from bots/ },
  { from: "flows/ordering/payments/new-gateway.ts", imports: "../../../adapters/telegram/telegram-channel.ts", why: /flows import no adapter/ },
  { from: "flows/engine/new-step.ts", imports: "../ordering/order.ts", why: /the engine names no flow/ },
  { from: "flows/engine/new-step.ts", imports: "../../bots/config.ts", why: /the engine imports no platform layer/ },
  { from: "adapters/telegram/new-sender.ts", imports: "../../flows/engine/turn.ts", why: /only through flows\/engine\/index\.ts/ },
  { from: "adapters/telegram/new-sender.ts", imports: "../../flows/ordering/order.ts", why: /only through flows\/engine\/index\.ts/ },
  { from: "adapters/telegram/new-sender.ts", imports: "../../bots/logger.ts", why: /adapters import nothing from bots/ },
  { from: "adapters/telegram/new-sender.ts", imports: "../console/console-channel.ts", why: /does not import another adapter/ },
  { from: "locales/new-format.ts", imports: "../storage/crypto.ts", why: /locales is a leaf/ },
  { from: "admin-bot/new-command.ts", imports: "../bots/config.ts", why: /the owner bot imports nothing from bots/ },
  { from: "admin-bot/new-command.ts", imports: "../adapters/telegram/store-bots.ts", why: /the owner bot imports nothing from bots\/ or adapters/ },
  { from: "admin-bot/new-command.ts", imports: "../flows/ordering/order.ts", why: /the owner bot uses the engine only through flows\/engine\/index\.ts/ },
];

for (const { from, imports, why } of backwardImports) {
  test(`lint refuses a backward import: ${from} importing ${imports}`, async () => {
    const messages = await importRuleMessages(from, `import type { X } from "${imports}";\nexport type Y = X;\n`);
    assert.equal(messages.length, 1, `expected the import rule to fire, got ${JSON.stringify(messages)}`);
    assert.match(messages[0], why);
  });
}

test("lint lets the allowed directions through", async () => {
  const allowed: [string, string][] = [
    ["adapters/telegram/new-sender.ts", "../../flows/engine/index.ts"],
    ["adapters/telegram/new-sender.ts", "../../storage/models/index.ts"],
    ["adapters/telegram/new-sender.ts", "./store-bot.ts"],
    ["flows/ordering/new-notice.ts", "../engine/index.ts"],
    ["flows/tenant-admin/new-flow.ts", "../ordering/order.ts"],
    ["flows/engine/new-step.ts", "../../storage/settled-within.ts"],
    ["bots/new-wiring.ts", "../adapters/telegram/store-bot.ts"],
    ["bots/new-wiring.ts", "../admin-bot/owner-alerts.ts"],
    ["admin-bot/new-command.ts", "../flows/engine/index.ts"],
    ["admin-bot/new-command.ts", "../storage/models/index.ts"],
  ];
  for (const [from, imports] of allowed) {
    assert.deepEqual(await importRuleMessages(from, `import type { X } from "${imports}";\nexport type Y = X;\n`), [], `${from} → ${imports}`);
  }
});

test("the tree has no backward import", async () => {
  const results = await eslint.lintFiles(PRODUCT_FOLDERS.map((folder) => `${folder}/**/*.ts`));
  const offences = results.flatMap((r) =>
    r.messages.filter((m) => m.ruleId === "no-restricted-imports").map((m) => `${r.filePath.slice(ROOT.length + 1)}:${m.line} ${m.message}`),
  );
  assert.deepEqual(offences, []);
});

test("the tree has no import cycle, types included", () => {
  const graph = importGraph();
  assert.ok(graph.size > 100, `the graph should hold every product file, got ${graph.size}`);
  assert.deepEqual(importCycles(graph), []);
});

test("the cycle finder finds a cycle through a type import", () => {
  const graph = new Map([
    ["a.ts", ["b.ts"]],
    ["b.ts", ["c.ts"]],
    ["c.ts", ["a.ts"]],
    ["d.ts", ["a.ts"]],
  ]);
  assert.deepEqual(importCycles(graph), [["a.ts", "b.ts", "c.ts"]]);
});
