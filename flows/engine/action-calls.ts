// Where a turn calls into the domain: actions, guards and answer validators. Each call
// first makes sure the turn still runs on the stored session (side effects must not run
// twice), tells the domain what it needs (`ActionContext`), and turns a failure into a
// log line with flow, step and an error id, and an apology that carries the same id.
import type { ActionContext, ActionResult, AnswerVerdict } from "./actions.ts";
import { newErrorId } from "./error-id.ts";
import { dataFieldSchema } from "./flow-schema.ts";
import type { CompiledFlow } from "./flow-validation.ts";
import type { Audience, Inbound, Outbound } from "./message.ts";
import { DependencyOutage } from "./outage.ts";
import type { Conversation, SessionData } from "./session.ts";
import { readOnlyData } from "./conversation-draft.ts";
import type { TurnDeps } from "./turn-deps.ts";
import { NotSupportedOnChannel, requireCapability } from "./channel.ts";

/** How a flow's guard answered: let in, refused with its own answer (already said), or refused as if the flow did not exist. */
export type Admission = "allowed" | "answered" | "unheard";

export class ActionCalls {
  /** Something with side effects ran: the turn may not simply be run again. */
  hadSideEffects = false;

  readonly #inbound: Inbound;
  readonly #audience: Audience;
  readonly #deps: TurnDeps;
  readonly #replies: Outbound[];
  readonly #conversation: () => Conversation | null;

  constructor(inbound: Inbound, audience: Audience, deps: TurnDeps, replies: Outbound[], conversation: () => Conversation | null) {
    this.#inbound = inbound;
    this.#audience = audience;
    this.#deps = deps;
    this.#replies = replies;
    this.#conversation = conversation;
  }

  /** Runs the flow's guard, if it has one, before its first step. */
  async admit(flow: CompiledFlow, data: SessionData): Promise<Admission> {
    if (flow.guard === undefined) return "allowed";
    const guard = this.#deps.guards[flow.guard.name];
    await this.#beforeSideEffect();
    try {
      const verdict = await guard(this.#context({ flowId: flow.id, stepId: flow.start, data }), flow.guard.arg);
      if (verdict.allowed) return "allowed";
      if (!verdict.say) return "unheard";
      this.#replies.push(...verdict.say);
      return "answered";
    } catch (err) {
      this.#failed(err, `guard ${flow.guard.name}`, { flow: flow.id, step: undefined });
      return "answered";
    }
  }

  /** Runs a named action; `undefined` when it failed (the apology is already said and logged). */
  async runAction(name: string): Promise<ActionResult | undefined> {
    await this.#beforeSideEffect();
    const action = this.#deps.actions.get(name)!;
    let result: ActionResult;
    try {
      result = (await action.run(this.#context())) ?? {};
      for (const field of Object.keys(result.data ?? {})) {
        if (!dataFieldSchema.safeParse(field).success) throw new Error(`action "${name}" returned data field "${field}", which is not a plain name`);
      }
    } catch (err) {
      this.#failed(err, `action ${name}`);
      return undefined;
    }
    if (result.data) Object.assign(this.#conversation()!.data, result.data);
    for (const message of result.say ?? []) this.#replies.push(message);
    return result;
  }

  /** Runs a named answer validator; `undefined` when it failed (the apology is already said and logged). */
  async validate(name: string, value: unknown): Promise<AnswerVerdict | undefined> {
    await this.#beforeSideEffect();
    try {
      return await this.#deps.validators[name](value, this.#context());
    } catch (err) {
      this.#failed(err, `validator ${name}`);
      return undefined;
    }
  }

  /** Logs the failure with flow and step, and apologises with the error id the log line carries. */
  reportFailure(err: unknown, what: string, meta: Record<string, unknown> = {}): void {
    const conversation = this.#conversation();
    if (err instanceof NotSupportedOnChannel) {
      // Not a fault: this channel cannot do what the step needs. Say so; there is nothing to look up.
      this.#deps.log.info(`${what} needs what this channel lacks`, { tenant: this.#inbound.tenant.slug, flow: conversation?.flowId, step: conversation?.stepId, ...meta, capability: err.capability });
      this.#replies.push({ text: { key: "engine.not_supported_here" } });
      return;
    }
    const errorId = newErrorId();
    this.#deps.log.error(`${what} failed`, {
      tenant: this.#inbound.tenant.slug,
      flow: conversation?.flowId,
      step: conversation?.stepId,
      ...meta,
      errorId,
      error: err instanceof Error ? err.message : String(err),
      ...(err instanceof Error && err.stack !== undefined && { stack: err.stack }),
    });
    this.#deps.onFailure?.({ tenant: this.#inbound.tenant, errorId, what, error: err });
    this.#replies.push({ text: { key: "engine.action_failed", params: { errorId } } });
  }

  async #beforeSideEffect(): Promise<void> {
    await this.#deps.beforeSideEffect();
    this.hadSideEffects = true;
  }

  /** A dependency that did not answer stops the turn unsaved; anything else is this call's failure. */
  #failed(err: unknown, what: string, meta?: Record<string, unknown>): void {
    if (this.#deps.isOutage?.(err)) throw new DependencyOutage(err);
    this.reportFailure(err, what, meta);
  }

  /** What an action, guard or validator is told; a guard hears about the flow it guards. */
  #context(at?: { flowId: string; stepId: string; data: SessionData }): ActionContext {
    const inbound = this.#inbound;
    const { flowId, stepId, data } = at ?? this.#conversation()!;
    const log = this.#deps.log;
    const meta = { tenant: inbound.tenant.slug, flow: flowId, step: stepId };
    return {
      tenant: inbound.tenant,
      channel: inbound.channel,
      chatId: inbound.chatId,
      user: inbound.user,
      locale: inbound.locale,
      audience: this.#audience,
      flowId,
      stepId,
      data: readOnlyData(data),
      requireCapability: (capability) => {
        const capabilities = this.#deps.capabilitiesOf(inbound.channel);
        if (capabilities) requireCapability({ name: inbound.channel, capabilities }, capability);
      },
      log: {
        info: (message, extra) => log.info(message, { ...meta, ...extra }),
        warn: (message, extra) => log.warn(message, { ...meta, ...extra }),
        error: (message, extra) => log.error(message, { ...meta, ...extra }),
      },
    };
  }
}
