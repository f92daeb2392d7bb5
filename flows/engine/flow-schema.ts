// A flow is data. This file is its schema: zod for what arrives at run time (code flows
// and stores' JSON flows alike), and TypeScript types that let a flow written in code
// name only steps it declares.
import { z } from "zod";
import type { Locale } from "./message.ts";
import type { SessionData } from "./session.ts";

export const LOCALES: readonly Locale[] = ["id", "en"];

const identifier = /^[A-Za-z][A-Za-z0-9_-]{0,47}$/;
export const stepIdSchema = z.string().regex(identifier, "a step id is a letter followed by letters, digits, - or _ (max 48)");
export const flowIdSchema = z
  .string()
  .regex(/^[a-z][a-z0-9._-]{0,47}$/, "a flow id is lower case: a letter followed by letters, digits, ., - or _");
/** Session data fields are top-level names so they persist as plain MongoDB fields. */
export const dataFieldSchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,47}$/, "a data field is a letter or _ followed by letters, digits or _");
const dataPathSchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$/, "a data path is a field name, optionally followed by .sub.fields");
export const actionNameSchema = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, "an action name is a letter followed by letters, digits, ., - or _");
/** Within Telegram's 64-byte callback data with room for a signature. */
export const choiceIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,40}$/, "a choice id is 1–40 letters, digits, _ . : or -")
  .refine((id) => !id.startsWith("page:"), "choice ids starting with page: are reserved for paging")
  .refine((id) => !id.startsWith("cmd:"), "choice ids starting with cmd: are reserved for commands (commandChoiceId)");
const commandSchema = z.string().regex(/^[a-z0-9_]{1,32}$/, "a command is 1–32 lower-case letters, digits or _ (no slash)");
/** What a deep link's payload may hold (Telegram: `t.me/<bot>?start=<payload>`, A–Z a–z 0–9 _ -). */
const startPayloadPrefixSchema = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, "a start payload prefix is 1–32 letters, digits, _ or -");

/** An i18n key (`area.path`) or a store's inline text `{ id: "…", en: "…" }`. */
export const textSchema = z.union([
  z.string().regex(/^[a-z][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)+$/, "a text is an i18n key like area.path, or { id, en }"),
  z
    .strictObject({ id: z.string().min(1).max(4000).optional(), en: z.string().min(1).max(4000).optional() })
    .refine((t) => t.id !== undefined || t.en !== undefined, "an inline text needs at least one language"),
]);
export type TextSpec = z.infer<typeof textSchema>;

const mediaSchema = z.strictObject({
  type: z.enum(["photo", "document"]),
  ref: z.string().min(1),
  fileName: z.string().optional(),
});

/** "45s", "15m", "2h", "1d" */
export const durationSchema = z.string().regex(/^\d+(s|m|h|d)$/, 'a duration looks like "45s", "15m", "2h" or "1d"');

export function durationMs(duration: string): number {
  const amount = Number(duration.slice(0, -1));
  const unit = duration.at(-1);
  const ms = unit === "s" ? 1_000 : unit === "m" ? 60_000 : unit === "h" ? 3_600_000 : 86_400_000;
  return amount * ms;
}

const saySchema = z.strictObject({
  kind: z.literal("say"),
  text: textSchema,
  media: mediaSchema.optional(),
  next: stepIdSchema,
});

export const ANSWER_KINDS = ["text", "number", "integer", "email", "phone", "photo", "document", "contact"] as const;
export type AnswerKind = (typeof ANSWER_KINDS)[number];

const askSchema = z.strictObject({
  kind: z.literal("ask"),
  text: textSchema,
  /** What kind of answer the step takes. */
  expect: z.enum(ANSWER_KINDS),
  /** For number/integer: the smallest and largest value; for text: the shortest and longest length. */
  min: z.number().optional(),
  max: z.number().optional(),
  /** For text: a regular expression (source) the whole answer must match. */
  pattern: z.string().optional(),
  /** A named validator registered with the engine, run after the built-in checks. */
  validator: actionNameSchema.optional(),
  saveAs: dataFieldSchema,
  next: stepIdSchema,
  /** Said when an answer is refused; defaults to an engine text for `expect`. */
  reask: textSchema.optional(),
  maxAttempts: z.number().int().min(1).max(10).default(3),
  /** Where to go after `maxAttempts` refused answers; by default the flow ends politely. */
  onMaxAttempts: stepIdSchema.optional(),
});

const choiceSchema = z
  .strictObject({
    id: choiceIdSchema,
    label: textSchema,
    next: stepIdSchema.optional(),
    /** Starts this flow instead of going on in this one (its guard is checked first). */
    flow: flowIdSchema.optional(),
  })
  .refine((c) => c.next === undefined || c.flow === undefined, "a choice has next or flow, not both");

const chooseSchema = z.strictObject({
  kind: z.literal("choose"),
  text: textSchema,
  /** Fixed choices; with `source`, they follow the produced ones on every page. */
  choices: z.array(choiceSchema).max(50).default([]),
  /** An action that produces the choices (e.g. the products in stock). */
  source: actionNameSchema.optional(),
  pageSize: z.number().int().min(2).max(20).default(6),
  saveAs: dataFieldSchema.optional(),
  /** Where a choice without its own `next` (and every produced choice) leads. */
  next: stepIdSchema.optional(),
  reask: textSchema.optional(),
  maxAttempts: z.number().int().min(1).max(10).default(3),
  onMaxAttempts: stepIdSchema.optional(),
});

const actionSchema = z.strictObject({
  kind: z.literal("action"),
  action: actionNameSchema,
  /** Where to go when the action returns no outcome; without it the flow ends there. */
  next: stepIdSchema.optional(),
  /**
   * Where each outcome the action declares (`{ outcome: "soldOut" }`) leads; every declared
   * one must be routed. `end` is the engine's own: it ends the flow and needs no route.
   */
  outcomes: z
    .record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/), stepIdSchema)
    .refine((outcomes) => !Object.hasOwn(outcomes, "end"), "outcomes: end is built in (it ends the flow) and cannot be routed")
    .optional(),
  /** Where to go after the apology when the action fails; by default the flow ends. */
  onError: stepIdSchema.optional(),
});

const scalarSchema = z.union([z.string(), z.number(), z.boolean(), z.null()]);

const conditionSchema = z
  .strictObject({
    field: dataPathSchema,
    equals: scalarSchema.optional(),
    in: z.array(scalarSchema).optional(),
    exists: z.boolean().optional(),
    gt: z.number().optional(),
    gte: z.number().optional(),
    lt: z.number().optional(),
    lte: z.number().optional(),
  })
  .refine(
    (c) => ["equals", "in", "exists", "gt", "gte", "lt", "lte"].filter((op) => op in c).length === 1,
    "a condition has exactly one of equals, in, exists, gt, gte, lt, lte",
  );
export type Condition = z.infer<typeof conditionSchema>;

const branchSchema = z.strictObject({
  kind: z.literal("branch"),
  cases: z.array(z.strictObject({ when: conditionSchema, next: stepIdSchema })).min(1),
  otherwise: stepIdSchema,
});

const gotoSchema = z.strictObject({
  kind: z.literal("goto"),
  flow: flowIdSchema,
  /** A step of that flow; its start step by default. */
  step: stepIdSchema.optional(),
  /** The return point: when the other flow ends, this flow continues here. Without it, the other flow takes over. */
  then: stepIdSchema.optional(),
});

const endSchema = z.strictObject({
  kind: z.literal("end"),
  text: textSchema.optional(),
});

export const stepSchema = z.discriminatedUnion("kind", [
  saySchema,
  askSchema,
  chooseSchema,
  actionSchema,
  branchSchema,
  gotoSchema,
  endSchema,
]);

/** A registered guard by name, and what the flow asks of it (e.g. a permission). */
export const guardRefSchema = z.strictObject({
  name: actionNameSchema,
  arg: z.string().min(1).max(64).optional(),
});
export type GuardRef = z.infer<typeof guardRefSchema>;

export const flowSchema = z.strictObject({
  id: flowIdSchema,
  /** Checked before the first step, however the flow starts; see `Guard`. */
  guard: guardRefSchema.optional(),
  /** Who may start it and sees it in /help. Sellers see every flow; customers only "everyone" flows. */
  audience: z.enum(["everyone", "seller"]).default("everyone"),
  triggers: z
    .strictObject({
      commands: z.array(commandSchema).default([]),
      /** Whole-message keywords per language, matched case-insensitively when no flow is running. */
      keywords: z.strictObject({ id: z.array(z.string().min(1)).optional(), en: z.array(z.string().min(1)).optional() }).default({}),
      /**
       * Prefixes of a `/start` payload — what a deep link carries (`t.me/<bot>?start=inv_…`
       * arrives as `/start inv_…`) — that start this flow instead of the flow `/start`
       * starts, with the whole payload as `commandArgs`. Case-sensitive; no two flows may
       * claim overlapping prefixes.
       */
      startPayloads: z.array(startPayloadPrefixSchema).max(10).default([]),
    })
    .default({ commands: [], keywords: {}, startPayloads: [] }),
  /** One line for /help; flows without it (and without triggers) are not listed. */
  help: textSchema.optional(),
  /** A conversation left alone this long expires; the next message gets a polite notice. */
  idleTimeout: durationSchema.default("30m"),
  /** The first step; the first declared step by default. */
  start: stepIdSchema.optional(),
  steps: z.record(stepIdSchema, stepSchema).refine((steps) => Object.keys(steps).length > 0, "a flow needs at least one step"),
});

/** A flow after parsing: defaults filled in. */
export type Flow = z.infer<typeof flowSchema>;
export type Step = z.infer<typeof stepSchema>;
export type StepKind = Step["kind"];

// Authoring types for flows written in code. They mirror the zod input, but every
// step reference is typed by the flow's own step ids, so a typo in `next` is a
// compile error rather than a start-up one.

type Choice<S extends string> = { id: string; label: TextSpec } & ({ next?: S; flow?: never } | { flow: string; next?: never });

/** A session data field of the flow's declared data. */
type Field<D> = keyof D & string;

export type StepSpec<S extends string, D = SessionData> =
  | { kind: "say"; text: TextSpec; media?: { type: "photo" | "document"; ref: string; fileName?: string }; next: S }
  | {
      kind: "ask";
      text: TextSpec;
      expect: AnswerKind;
      min?: number;
      max?: number;
      pattern?: string;
      validator?: string;
      saveAs: Field<D>;
      next: S;
      reask?: TextSpec;
      maxAttempts?: number;
      onMaxAttempts?: S;
    }
  | {
      kind: "choose";
      text: TextSpec;
      choices?: Choice<S>[];
      source?: string;
      pageSize?: number;
      saveAs?: Field<D>;
      next?: S;
      reask?: TextSpec;
      maxAttempts?: number;
      onMaxAttempts?: S;
    }
  | { kind: "action"; action: string; next?: S; outcomes?: Record<string, S>; onError?: S }
  | { kind: "branch"; cases: { when: Condition; next: S }[]; otherwise: S }
  | { kind: "goto"; flow: string; step?: string; then?: S }
  | { kind: "end"; text?: TextSpec };

export interface FlowSpec<S extends string = string, D = SessionData> {
  id: string;
  guard?: GuardRef;
  audience?: "everyone" | "seller";
  triggers?: { commands?: string[]; keywords?: Partial<Record<Locale, string[]>>; startPayloads?: string[] };
  help?: TextSpec;
  idleTimeout?: string;
  start?: NoInfer<S>;
  steps: { [K in S]: StepSpec<NoInfer<S>, D> };
  /** Only a type: the session data the flow's steps and actions share. */
  readonly __data?: D;
}

/**
 * Declares a flow in code. It only types the definition; the engine validates every
 * flow (and every store's JSON flow) with the same schema when it is created.
 *
 * ```ts
 * export const askName = defineFlow({
 *   id: "ask-name",
 *   triggers: { commands: ["name"] },
 *   help: "faq.help.name",
 *   steps: {
 *     ask: { kind: "ask", text: "faq.askName", expect: "text", max: 60, saveAs: "name", next: "thanks" },
 *     thanks: { kind: "end", text: "faq.thanks" },   // "Terima kasih, {{name}}!"
 *   },
 * });
 * ```
 *
 * `defineFlow<Data>()(…)` declares the flow's session data too: `saveAs` may only name its
 * fields, and actions bound with `actionsFor<Data>()` read `ctx.data` typed.
 */
export function defineFlow<D>(): <const S extends string>(flow: FlowSpec<S, D>) => FlowSpec<S, D>;
export function defineFlow<const S extends string>(flow: FlowSpec<S>): FlowSpec<S>;
export function defineFlow(flow?: FlowSpec): FlowSpec | ((flow: FlowSpec) => FlowSpec) {
  return flow ?? ((typed: FlowSpec) => typed);
}

// Keeps the authoring types honest: any typed flow must be accepted by the schema's input type.
type SchemaInput = z.input<typeof flowSchema>;
const _authoringMatchesSchema = (flow: FlowSpec): SchemaInput => {
  const { __data: _data, ...rest } = flow;
  return rest satisfies SchemaInput;
};
void _authoringMatchesSchema;
