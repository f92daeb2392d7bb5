// The seam between a flow (data) and the domain (code): named actions, guards and answer
// validators, registered with the engine and referenced by name from flows.
import type { Audience, ChoiceView, InboundTenant, InboundUser, Locale, Outbound } from "./message.ts";
import type { SessionData } from "./session.ts";
import type { Capability } from "./channel.ts";

/** The minimal logger the engine and actions write to (a winston logger fits). */
export interface EngineLog {
  info(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
  error(message: string, meta?: Record<string, unknown>): unknown;
}

/**
 * What an action knows about the conversation it runs in. `Data` is the flow's session
 * data as the flow declares it (`defineFlow<Data>()`); fields a step has not set yet are
 * simply absent, so declare them optional.
 */
export interface ActionContext<Data = SessionData> {
  tenant: InboundTenant;
  channel: string;
  chatId: string;
  user: InboundUser;
  locale: Locale;
  audience: Audience;
  flowId: string;
  stepId: string;
  /** The conversation's data so far; return `data` to change it. */
  data: Readonly<Data>;
  /**
   * Throws `NotSupportedOnChannel` unless this chat's channel has `capability`; the engine
   * then tells the user politely that this cannot be done here (no error id: nothing broke).
   */
  requireCapability(capability: Capability): void;
  /** Logs with the tenant slug and flow id already attached. Never log secrets. */
  log: EngineLog;
}

/**
 * The outcome every action may return without declaring it: the flow ends here (and a
 * flow entered with `goto … then` returns to its caller), after the action's `say`.
 */
export const END = "end";

/** A choice a `source` action produces: it leads to the step's `next`, or starts `flow`. */
export interface ChoiceOffer extends ChoiceView {
  flow?: string;
}

/**
 * What an action returns. Everything is optional:
 * - `data`: merged into the conversation's data (top-level fields),
 * - `outcome`: one the action declares (`action({ outcomes: [...] }, …)`), routed by the
 *   step's `outcomes`; `"end"` ends the flow; absent → the step's `next`,
 * - `say`: messages to send before the flow moves on (e.g. a product's details),
 * - `choices`: when the action is a `choose` step's `source`, the choices to offer.
 */
export interface ActionResult<Outcome extends string = string, Data = SessionData> {
  data?: Partial<Data>;
  outcome?: Outcome | typeof END;
  say?: Outbound[];
  choices?: ChoiceOffer[];
}

/** A named domain function a flow can call. Throwing is fine: the user gets an apology with an error id. */
export type Action<Data = SessionData, Outcome extends string = never> = (
  ctx: ActionContext<Data>,
) => Promise<ActionResult<Outcome, Data> | void> | ActionResult<Outcome, Data> | void;

/** An action with the outcomes it may return, checked against every step that uses it. */
export interface DeclaredAction {
  readonly outcomes: readonly string[];
  /** For a `source` action: the flows its choices may start (each must exist). */
  readonly flows?: readonly string[];
  // Method syntax: an action typed for one flow's data still fits a registry of any data.
  run(ctx: ActionContext<any>): Promise<ActionResult<string, any> | void> | ActionResult<string, any> | void;
}

/**
 * Declares an action's outcomes. Start-up validation fails, naming flow and step, when a
 * step routes an outcome the action never returns or misses one it may return; an
 * undeclared outcome at run time is logged and answered with an error id.
 *
 * ```ts
 * loadProduct: action({ outcomes: ["gone"] }, async (ctx) => (product ? { data: { product } } : { outcome: "gone" })),
 * ```
 */
export function action<const Outcome extends string = never, Data = SessionData>(
  declared: ActionDeclaration<Outcome>,
  run: Action<Data, Outcome>,
): DeclaredAction {
  return { outcomes: declared.outcomes ?? [], ...(declared.flows && { flows: declared.flows }), run: run as DeclaredAction["run"] };
}

export interface ActionDeclaration<Outcome extends string> {
  outcomes?: readonly Outcome[];
  flows?: readonly string[];
}

/**
 * Binds `action` to one flow's data, so every action of that flow reads `ctx.data` typed:
 *
 * ```ts
 * const orderAction = actionsFor<OrderData>();
 * adminShowOrder: orderAction(async (ctx) => ({ say: [detail(ctx.data.orderCode)] })),
 * adminBrowseOrders: orderAction({ outcomes: ["one"] }, async (ctx) => ({ outcome: "one" })),
 * ```
 */
export function actionsFor<Data>() {
  function bound(run: Action<Data>): DeclaredAction;
  function bound<const Outcome extends string = never>(declared: ActionDeclaration<Outcome>, run: Action<Data, Outcome>): DeclaredAction;
  function bound(first: Action<Data> | ActionDeclaration<string>, run?: Action<Data, string>): DeclaredAction {
    return typeof first === "function" ? action<never, Data>({}, first) : action<string, Data>(first, run!);
  }
  return bound;
}

/** A plain function declares no outcomes of its own (only `"end"`). */
export type ActionDefinition = Action | DeclaredAction;

export type ActionRegistry = Record<string, ActionDefinition>;

export function declaredAction(definition: ActionDefinition): DeclaredAction {
  return typeof definition === "function" ? { outcomes: [], run: definition as DeclaredAction["run"] } : definition;
}

/** A guard's answer: go on, or refuse — with its own polite message, or as if the flow did not exist. */
export type GuardVerdict = { allowed: true } | { allowed: false; say?: Outbound[] };

/**
 * A named check a flow declares with `guard: { name, arg }`, run before its first step
 * however the flow starts (a command, a keyword, a deep link, a `goto`, a chosen flow).
 * `arg` is the flow's own word for what it needs (a permission, say). A refusal without
 * `say` gets exactly what the user would get if the flow did not exist.
 */
export type Guard = (ctx: ActionContext, arg: string | undefined) => Promise<GuardVerdict> | GuardVerdict;

export type GuardRegistry = Record<string, Guard>;

/** The verdict of an answer validator: the value to save, or the reason to ask again. */
export type AnswerVerdict = { ok: true; value?: unknown } | { ok: false; reask?: Outbound["text"] };

/** A named check for `ask` steps beyond the built-in ones (e.g. "is this order code ours?"). */
export type AnswerValidator<Data = SessionData> = (value: unknown, ctx: ActionContext<Data>) => Promise<AnswerVerdict> | AnswerVerdict;

/** Validators of several flows, each typed by its flow's data (`AnswerValidator<CheckoutData>`). */
export type ValidatorRegistry = Record<string, AnswerValidator<any>>;
