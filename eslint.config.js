import js from "@eslint/js";
import tseslint from "typescript-eslint";

// Imports go one way: bots → adapters → flows/engine ← flows/<flow> → storage, and locales
// is a leaf every layer may use. Each zone lists what its files may not import; `import
// type` counts too. tests/architecture checks that these rules fire and that no cycle exists.
const up = "^(\\.\\./)+";
const backward = (message, ...targets) => ({ regex: `${up}(${targets.join("|")})/`, message });
const importZones = [
  {
    files: ["storage/**/*.ts"],
    patterns: [backward("storage imports none of bots, adapters, flows or locales: take what you need as an option.", "bots", "adapters", "flows", "locales")],
  },
  {
    files: ["locales/**/*.ts"],
    patterns: [backward("locales is a leaf: it imports no other layer.", "bots", "adapters", "flows", "storage")],
  },
  {
    files: ["flows/engine/**/*.ts"],
    patterns: [
      backward("the engine imports no platform layer (bots, adapters): take it as an option.", "bots", "adapters"),
      { regex: "^\\.\\./(?!\\.\\./|engine/)", message: "the engine names no flow: flows plug into it, not the reverse." },
    ],
  },
  {
    files: ["flows/**/*.ts"],
    ignores: ["flows/engine/**"],
    patterns: [backward("flows import no adapter and nothing from bots/: the platform injects the logger, the outbox and the channels.", "bots", "adapters")],
  },
  {
    files: ["adapters/**/*.ts"],
    patterns: [
      backward("adapters import nothing from bots/: the platform hands them what they need.", "bots"),
      { regex: `${up}flows/(?!engine/index\\.ts$)`, message: "adapters use the engine only through flows/engine/index.ts, and no flow directly." },
      { regex: "^\\.\\./(?!\\.\\./)", message: "an adapter does not import another adapter." },
    ],
  },
  {
    files: ["admin-bot/**/*.ts"],
    patterns: [
      backward("the owner bot imports nothing from bots/ or adapters/: the platform hands it what it controls.", "bots", "adapters"),
      { regex: `${up}flows/(?!engine/index\\.ts$)`, message: "the owner bot uses the engine only through flows/engine/index.ts." },
    ],
  },
];

export default tseslint.config(
  { ignores: ["node_modules/**", "bench/results/**", "logs/**", "coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: "readonly", console: "readonly", Buffer: "readonly", setTimeout: "readonly", clearTimeout: "readonly", setInterval: "readonly", clearInterval: "readonly", setImmediate: "readonly", URL: "readonly", AbortController: "readonly", structuredClone: "readonly", performance: "readonly", fetch: "readonly" },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/consistent-type-imports": "error",
    },
  },
  ...importZones.map(({ files, ignores, patterns }) => ({
    files,
    ...(ignores && { ignores }),
    rules: { "no-restricted-imports": ["error", { patterns }] },
  })),
);
