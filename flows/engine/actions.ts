// The seam between a flow (data) and the domain (code): named actions and named answer
// validators, registered with the engine and referenced by name from flows.
import type { Audience, ChoiceView, InboundTenant, InboundUser, Locale, Outbound } from "./message.ts";
import type { SessionData } from "./session.ts";

/** The minimal logger the engine and actions write to (a winston logger fits). */
export interface EngineLog {
  info(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
  error(message: string, meta?: Record<string, unknown>): unknown;
}

/** What an action knows about the conversation it runs in. */
export interface ActionContext {
  tenant: InboundTenant;
  channel: string;
  chatId: string;
  user: InboundUser;
  locale: Locale;
  audience: Audience;
  flowId: string;
  stepId: string;
  /** The conversation's data so far; return `data` to change it. */
  data: Readonly<SessionData>;
  /** Logs with the tenant slug and flow id already attached. Never log secrets. */
  log: EngineLog;
}

/**
 * What an action returns. Everything is optional:
 * - `data`: merged into the conversation's data (top-level fields),
 * - `outcome`: a name from the step's `outcomes` to branch on; absent → the step's `next`,
 * - `say`: messages to send before the flow moves on (e.g. a product's details),
 * - `choices`: when the action is a `choose` step's `source`, the choices to offer.
 */
export interface ActionResult {
  data?: SessionData;
  outcome?: string;
  say?: Outbound[];
  choices?: ChoiceView[];
}

/** A named domain function a flow can call. Throwing is fine: the user gets an apology with an error id. */
export type Action = (ctx: ActionContext) => Promise<ActionResult | void> | ActionResult | void;

export type ActionRegistry = Record<string, Action>;

/** The verdict of an answer validator: the value to save, or the reason to ask again. */
export type AnswerVerdict = { ok: true; value?: unknown } | { ok: false; reask?: Outbound["text"] };

/** A named check for `ask` steps beyond the built-in ones (e.g. "is this order code ours?"). */
export type AnswerValidator = (value: unknown, ctx: ActionContext) => Promise<AnswerVerdict> | AnswerVerdict;

export type ValidatorRegistry = Record<string, AnswerValidator>;
