// One turn: a user's message against the conversation as it was saved. The turn runs
// the waiting step's answer check, then every step that does not wait for the user,
// until the next question or the end. It only reads the one saved session — never the
// history — so a turn costs the same at step 3 and at step 300.
import { randomBytes } from "node:crypto";
import type { ActionContext, ActionRegistry, ActionResult, EngineLog, ValidatorRegistry } from "./actions.ts";
import { checkAnswer } from "./answers.ts";
import { choiceIdSchema, dataFieldSchema, type Condition, type Step, type TextSpec } from "./flow-schema.ts";
import type { FlowSet } from "./flow-set.ts";
import { START_COMMAND, type CompiledFlow } from "./flow-validation.ts";
import type { Audience, ChoiceView, Inbound, InboundMessage, Outbound, Text, TextParams } from "./message.ts";
import type { Conversation, SessionData, SessionWrite, StoredSession } from "./session.ts";
import { normaliseForMatch, placeholderNames, renderText, type TextCatalog } from "./texts.ts";
import { ConversationDraft, readOnlyData } from "./conversation-draft.ts";
import { DependencyOutage } from "./outage.ts";

type AskStep = Extract<Step, { kind: "ask" }>;
type ChooseStep = Extract<Step, { kind: "choose" }>;

/** Steps that do not wait for the user, run in one turn; more than this is a loop gone wrong. */
const MAX_STEPS_PER_TURN = 200;
/** How deep `goto … then` may nest before the engine refuses (a flow calling itself forever). */
const MAX_RETURN_DEPTH = 8;
/** Typed text this long or longer may pick the one choice whose label starts with it. */
const MIN_PREFIX_MATCH = 3;
export const PAGE_NEXT = "page:next";
export const PAGE_PREV = "page:prev";

export interface TurnDeps {
  flows: FlowSet;
  actions: ActionRegistry;
  validators: ValidatorRegistry;
  texts: TextCatalog;
  log: EngineLog;
  now: Date;
  /**
   * Called before anything with side effects (an action, a validator) runs. Throws
   * `StaleSession` when the session the turn started from is no longer the stored one.
   */
  beforeSideEffect: () => Promise<void>;
  /** Whether an error means a dependency did not answer: the turn stops unsaved, to be run again later. */
  isOutage?: (err: unknown) => boolean;
}

/** The turn ran on a session another process has replaced since; run it again on the stored one. */
export class StaleSession extends Error {
  override name = "StaleSession";
}

interface ChoiceOption extends ChoiceView {
  next?: string;
}

interface ChoiceMenu {
  /** All choices the step offers, produced and fixed. */
  all: ChoiceOption[];
  /** What this page shows, in order, navigation included. */
  shown: ChoiceOption[];
  page: number;
  pages: number;
}

export class Turn {
  readonly replies: Outbound[] = [];
  /** An action or validator ran: its side effects may not be repeated by re-running the turn. */
  hadSideEffects = false;
  timedOut = false;

  readonly #inbound: Inbound;
  readonly #audience: Audience;
  readonly #deps: TurnDeps;
  readonly #draft: ConversationDraft;

  constructor(inbound: Inbound, audience: Audience, stored: StoredSession | null, deps: TurnDeps) {
    this.#inbound = inbound;
    this.#audience = audience;
    this.#deps = deps;
    this.#draft = new ConversationDraft(stored?.conversation ?? null);
    if (this.conversation && stored && stored.expiresAt.getTime() <= deps.now.getTime()) {
      this.conversation = null;
      this.timedOut = true;
    }
  }

  /** The conversation as the turn leaves it; `null` when no flow runs any more. */
  get conversation(): Conversation | null {
    return this.#draft.conversation;
  }

  set conversation(next: Conversation | null) {
    this.#draft.replace(next);
  }

  /** What to save for this turn. */
  write(): SessionWrite {
    return this.#draft.write();
  }

  /** Once saved: the conversation as now stored, to remember for the next turn. */
  committed(): Conversation | null {
    return this.#draft.committed();
  }

  /** The flow the conversation is in (after the turn, for its idle timeout). */
  get flow(): CompiledFlow | undefined {
    return this.conversation ? this.#deps.flows.get(this.conversation.flowId) : undefined;
  }

  async run(): Promise<void> {
    try {
      await this.#run();
    } catch (err) {
      if (err instanceof StaleSession || err instanceof DependencyOutage) throw err;
      // A flow that misbehaves at run time (nests too deep, spins without a question).
      this.#reportFailure(err, "flow");
      this.conversation = null;
    }
  }

  async #run(): Promise<void> {
    if (this.timedOut) this.#say({ key: "engine.session_expired" });
    if (this.conversation && !this.#currentStep()) {
      // The flow changed under a running conversation (a deploy, a store edited its FAQ).
      this.conversation = null;
      this.#say({ key: "engine.flow_changed" });
    }
    const message = this.#inbound.message;
    if (message.kind === "command") return this.#onCommand(message.command.toLowerCase(), message.args.trim());
    if (this.conversation) return this.#onAnswer(message);
    if (message.kind === "text") {
      const flow = this.#deps.flows.forKeyword(message.text, this.#inbound.locale, this.#audience);
      if (flow) return this.#startFlow(flow);
    }
    if (this.timedOut) return;
    if (message.kind === "choice") this.#say({ key: "engine.stale_choice" });
    else this.#say({ key: "engine.unknown_input" });
  }

  async #onCommand(command: string, args: string): Promise<void> {
    if (command === "cancel") {
      if (this.conversation) {
        this.conversation = null;
        this.#say({ key: "engine.cancelled" });
      } else if (!this.timedOut) this.#say({ key: "engine.nothing_to_cancel" });
      return;
    }
    if (command === "help") {
      this.#say(this.#helpText());
      if (this.conversation) await this.#promptAgain();
      return;
    }
    // A deep link (`/start inv_…`) whose payload a flow claims starts that flow instead.
    const linked = command === START_COMMAND && args !== "" ? this.#deps.flows.forStartPayload(args, this.#audience) : undefined;
    const flow = linked ?? this.#deps.flows.forCommand(command, this.#audience);
    // What followed the command (a deep link's payload, "/start promo10") is the flow's to use.
    if (flow) return this.#startFlow(flow, args === "" ? {} : { commandArgs: args });
    this.#say({ key: "engine.unknown_command", params: { command: `/${command}` } });
    if (this.conversation) await this.#promptAgain();
  }

  #helpText(): Text {
    const locale = this.#inbound.locale;
    const lines = this.#deps.flows.listedFor(this.#audience).map((flow) => {
      const trigger = flow.commands.length > 0 ? `/${flow.commands[0]}` : `"${flow.keywords[locale][0] ?? flow.keywords.id[0] ?? flow.keywords.en[0]}"`;
      return `${trigger} — ${renderText(this.#text(flow.help!), locale, this.#deps.texts)}`;
    });
    const key = this.#audience === "seller" ? "engine.help.seller" : "engine.help.customer";
    return { key, params: { store: this.#inbound.tenant.name, commands: lines.join("\n") } };
  }

  async #startFlow(flow: CompiledFlow, data: SessionData = {}): Promise<void> {
    this.conversation = { flowId: flow.id, stepId: flow.start, data, stack: [], attempts: 0, page: 0 };
    await this.#advance();
  }

  async #onAnswer(message: InboundMessage): Promise<void> {
    const step = this.#currentStep()!;
    if (step.kind === "ask") return this.#answerAsk(step, message);
    if (step.kind === "choose") return this.#answerChoose(step, message);
    // A conversation only rests on a question; anything else means it was saved mid-flight.
    await this.#advance();
  }

  async #answerAsk(step: AskStep, message: InboundMessage): Promise<void> {
    if (message.kind === "choice") return this.#stale();
    const check = checkAnswer(step, message, this.#inbound.locale);
    if (!check.ok) return this.#refuse(step, check.reask);
    let value = check.value;
    if (step.validator !== undefined) {
      const validator = this.#deps.validators[step.validator];
      await this.#deps.beforeSideEffect();
      this.hadSideEffects = true;
      try {
        const verdict = await validator(value, this.#actionContext());
        if (!verdict.ok) return this.#refuse(step, verdict.reask ?? { key: "engine.reask.invalid" });
        if (verdict.value !== undefined) value = verdict.value;
      } catch (err) {
        if (this.#deps.isOutage?.(err)) throw new DependencyOutage(err);
        return this.#fail(err, `validator ${step.validator}`, undefined);
      }
    }
    const conversation = this.conversation!;
    conversation.data[step.saveAs] = value;
    await this.#moveTo(step.next);
  }

  async #answerChoose(step: ChooseStep, message: InboundMessage): Promise<void> {
    const conversation = this.conversation!;
    if (message.kind === "choice" && message.prompt && (message.prompt.flow !== conversation.flowId || message.prompt.step !== conversation.stepId)) {
      return this.#stale();
    }
    const menu = await this.#menu(step);
    if (!menu) return;
    const picked = this.#match(menu, message);
    if (picked === undefined) {
      if (message.kind === "choice") return this.#stale();
      return this.#refuse(step, { key: "engine.reask.choice" });
    }
    if (picked.id === PAGE_NEXT || picked.id === PAGE_PREV) {
      conversation.page = Math.min(Math.max(menu.page + (picked.id === PAGE_NEXT ? 1 : -1), 0), menu.pages - 1);
      return this.#prompt(step);
    }
    if (step.saveAs !== undefined) conversation.data[step.saveAs] = picked.id;
    await this.#moveTo((picked.next ?? step.next)!);
  }

  #match(menu: ChoiceMenu, message: InboundMessage): ChoiceOption | undefined {
    if (message.kind === "choice") {
      return menu.all.find((c) => c.id === message.choiceId) ?? menu.shown.find((c) => c.id === message.choiceId);
    }
    if (message.kind !== "text") return undefined;
    const typed = normaliseForMatch(message.text);
    if (/^\d{1,3}$/.test(typed)) return menu.shown[Number(typed) - 1];
    const locale = this.#inbound.locale;
    const labels = new Map<ChoiceOption, string>();
    const labelOf = (c: ChoiceOption) => labels.get(c) ?? labels.set(c, normaliseForMatch(renderText(c.label, locale, this.#deps.texts))).get(c)!;
    const exact = menu.shown.find((c) => labelOf(c) === typed) ?? menu.all.find((c) => labelOf(c) === typed) ?? menu.all.find((c) => c.id.toLowerCase() === typed);
    if (exact || typed.length < MIN_PREFIX_MATCH) return exact;
    // People type the start of a label ("spotify premium" for "Spotify Premium 1 Bulan — Rp25.000"); only an unambiguous start counts.
    const starting = menu.all.filter((c) => labelOf(c).startsWith(typed));
    return starting.length === 1 ? starting[0] : undefined;
  }

  /** Counts a refused answer; past the step's limit, leaves the question. */
  async #refuse(step: AskStep | ChooseStep, reason: Text): Promise<void> {
    const conversation = this.conversation!;
    conversation.attempts += 1;
    if (conversation.attempts >= step.maxAttempts) {
      if (step.onMaxAttempts !== undefined) return this.#moveTo(step.onMaxAttempts);
      this.conversation = null;
      this.#say({ key: "engine.too_many_attempts" });
      return;
    }
    const reask = step.reask !== undefined ? this.#text(step.reask) : reason;
    if (step.kind === "ask") {
      this.#say(reask);
    } else {
      const menu = await this.#menu(step);
      if (menu) this.replies.push({ text: reask, choices: this.#views(menu), prompt: this.#promptRef() });
    }
  }

  async #stale(): Promise<void> {
    this.#say({ key: "engine.stale_choice" });
    await this.#promptAgain();
  }

  async #moveTo(stepId: string): Promise<void> {
    const conversation = this.conversation!;
    conversation.stepId = stepId;
    conversation.attempts = 0;
    conversation.page = 0;
    await this.#advance();
  }

  /** Runs steps until one waits for the user or the conversation ends. */
  async #advance(): Promise<void> {
    for (let hops = 0; hops < MAX_STEPS_PER_TURN; hops++) {
      const conversation = this.conversation;
      if (!conversation) return;
      const step = this.#currentStep();
      if (!step) throw new Error(`flow "${conversation.flowId}" has no step "${conversation.stepId}"`);
      switch (step.kind) {
        case "say":
          this.replies.push({ text: this.#text(step.text), ...(step.media && { media: step.media }) });
          conversation.stepId = step.next;
          break;
        case "ask":
        case "choose":
          return this.#prompt(step);
        case "action": {
          const result = await this.#runAction(step.action);
          if (!result) return this.#afterFailure(step.onError);
          const next = result.outcome === undefined ? step.next : step.outcomes?.[result.outcome];
          if (next === undefined) {
            return this.#fail(new Error(`action "${step.action}" returned unknown outcome "${result.outcome}"`), `action ${step.action}`, step.onError);
          }
          conversation.stepId = next;
          break;
        }
        case "branch":
          conversation.stepId = step.cases.find((c) => holds(c.when, conversation.data))?.next ?? step.otherwise;
          break;
        case "goto": {
          const target = this.#deps.flows.get(step.flow);
          if (!target) throw new Error(`flow "${step.flow}" is not loaded`);
          if (step.then !== undefined) {
            if (conversation.stack.length >= MAX_RETURN_DEPTH) throw new Error(`goto nests deeper than ${MAX_RETURN_DEPTH} flows`);
            conversation.stack.push({ flowId: conversation.flowId, stepId: step.then });
          }
          conversation.flowId = target.id;
          conversation.stepId = step.step ?? target.start;
          break;
        }
        case "end": {
          if (step.text !== undefined) this.#say(this.#text(step.text));
          const back = conversation.stack.pop();
          if (!back) {
            this.conversation = null;
            return;
          }
          conversation.flowId = back.flowId;
          conversation.stepId = back.stepId;
          break;
        }
      }
      conversation.attempts = 0;
      conversation.page = 0;
    }
    throw new Error(`more than ${MAX_STEPS_PER_TURN} steps without a question`);
  }

  async #promptAgain(): Promise<void> {
    const step = this.#currentStep();
    if (step && (step.kind === "ask" || step.kind === "choose")) await this.#prompt(step);
  }

  async #prompt(step: AskStep | ChooseStep): Promise<void> {
    if (step.kind === "ask") {
      this.replies.push({ text: this.#text(step.text), prompt: this.#promptRef() });
      return;
    }
    const menu = await this.#menu(step);
    if (!menu) return;
    const text = this.#text(step.text, menu.pages > 1 ? { page: menu.page + 1, pages: menu.pages } : {});
    this.replies.push({ text, choices: this.#views(menu), prompt: this.#promptRef() });
  }

  /** The step's choices and the current page of them; `undefined` when producing them failed (already answered). */
  async #menu(step: ChooseStep): Promise<ChoiceMenu | undefined> {
    const fixed: ChoiceOption[] = step.choices.map((c) => ({ id: c.id, label: this.#text(c.label), ...(c.next !== undefined && { next: c.next }) }));
    let produced: ChoiceOption[] = [];
    if (step.source !== undefined) {
      const result = await this.#runAction(step.source);
      if (!result) {
        await this.#afterFailure(undefined);
        return undefined;
      }
      produced = (result.choices ?? []).map((c) => ({ id: c.id, label: c.label }));
      const bad = produced.find((c) => !choiceIdSchema.safeParse(c.id).success);
      if (bad) {
        await this.#fail(new Error(`action "${step.source}" produced an invalid choice id "${bad.id}"`), `action ${step.source}`, undefined);
        return undefined;
      }
    }
    const pageable = step.source !== undefined ? produced : fixed;
    const alwaysShown = step.source !== undefined ? fixed : [];
    const pages = Math.max(1, Math.ceil(pageable.length / step.pageSize));
    const page = Math.min(this.conversation!.page, pages - 1);
    const shown = pageable.slice(page * step.pageSize, (page + 1) * step.pageSize);
    const params = { page: page + 1, pages };
    if (page > 0) shown.push({ id: PAGE_PREV, label: { key: "engine.page.previous", params } });
    if (page < pages - 1) shown.push({ id: PAGE_NEXT, label: { key: "engine.page.next", params } });
    shown.push(...alwaysShown);
    return { all: [...pageable, ...alwaysShown], shown, page, pages };
  }

  #views(menu: ChoiceMenu): ChoiceView[] {
    return menu.shown.map(({ id, label }) => ({ id, label }));
  }

  /** Runs a named action; `undefined` when it failed (the apology is already said and logged). */
  async #runAction(name: string): Promise<ActionResult | undefined> {
    await this.#deps.beforeSideEffect();
    this.hadSideEffects = true;
    const action = this.#deps.actions[name];
    let result: ActionResult;
    try {
      result = (await action(this.#actionContext())) ?? {};
      for (const field of Object.keys(result.data ?? {})) {
        if (!dataFieldSchema.safeParse(field).success) throw new Error(`action "${name}" returned data field "${field}", which is not a plain name`);
      }
    } catch (err) {
      if (this.#deps.isOutage?.(err)) throw new DependencyOutage(err);
      this.#reportFailure(err, `action ${name}`);
      return undefined;
    }
    if (result.data) Object.assign(this.conversation!.data, result.data);
    for (const message of result.say ?? []) this.replies.push(message);
    return result;
  }

  async #fail(err: unknown, what: string, onError: string | undefined): Promise<void> {
    this.#reportFailure(err, what);
    await this.#afterFailure(onError);
  }

  async #afterFailure(onError: string | undefined): Promise<void> {
    if (onError !== undefined && this.conversation) return this.#moveTo(onError);
    this.conversation = null;
  }

  #reportFailure(err: unknown, what: string): void {
    const errorId = newErrorId();
    const conversation = this.conversation;
    this.#deps.log.error(`${what} failed`, {
      tenant: this.#inbound.tenant.slug,
      flow: conversation?.flowId,
      step: conversation?.stepId,
      errorId,
      error: err instanceof Error ? err.message : String(err),
      ...(err instanceof Error && err.stack !== undefined && { stack: err.stack }),
    });
    this.#say({ key: "engine.action_failed", params: { errorId } });
  }

  #actionContext(): ActionContext {
    const inbound = this.#inbound;
    const conversation = this.conversation!;
    const log = this.#deps.log;
    const meta = { tenant: inbound.tenant.slug, flow: conversation.flowId, step: conversation.stepId };
    return {
      tenant: inbound.tenant,
      channel: inbound.channel,
      chatId: inbound.chatId,
      user: inbound.user,
      locale: inbound.locale,
      audience: this.#audience,
      flowId: conversation.flowId,
      stepId: conversation.stepId,
      data: readOnlyData(conversation.data),
      log: {
        info: (message, extra) => log.info(message, { ...meta, ...extra }),
        warn: (message, extra) => log.warn(message, { ...meta, ...extra }),
        error: (message, extra) => log.error(message, { ...meta, ...extra }),
      },
    };
  }

  #currentStep(): Step | undefined {
    const conversation = this.conversation;
    return conversation ? this.#deps.flows.get(conversation.flowId)?.steps.get(conversation.stepId) : undefined;
  }

  #promptRef() {
    return { flow: this.conversation!.flowId, step: this.conversation!.stepId };
  }

  /** A flow's text with the conversation's data (and the store's name) as params: only the ones it uses. */
  #text(spec: TextSpec, extra: TextParams = {}): Text {
    const params: TextParams = { store: this.#inbound.tenant.name };
    const data = this.conversation?.data;
    if (data) {
      for (const name of placeholderNames(spec, this.#deps.texts)) if (name in data) params[name] = data[name];
    }
    Object.assign(params, extra);
    return typeof spec === "string" ? { key: spec, params } : { inline: spec, params };
  }

  #say(text: Text): void {
    this.replies.push({ text });
  }
}

/** Short enough to read out over the phone, long enough to find the log line. */
function newErrorId(): string {
  return randomBytes(4).toString("hex").toUpperCase();
}

function holds(condition: Condition, data: Record<string, unknown>): boolean {
  const value = condition.field.split(".").reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], data);
  if (condition.exists !== undefined) return (value !== undefined && value !== null) === condition.exists;
  if (condition.equals !== undefined) return value === condition.equals;
  if (condition.in !== undefined) return condition.in.includes(value as never);
  if (typeof value !== "number") return false;
  if (condition.gt !== undefined) return value > condition.gt;
  if (condition.gte !== undefined) return value >= condition.gte;
  if (condition.lt !== undefined) return value < condition.lt;
  return condition.lte !== undefined && value <= condition.lte;
}
