// Running a flow's steps within a turn: the waiting question's answer, then every step
// that does not wait for the user, until the next question or the end. A `Turn` decides
// what a message means (a command, a keyword, an answer); this runs the flow it lands in.
import { ActionCalls } from "./action-calls.ts";
import { END } from "./actions.ts";
import { checkAnswer } from "./answers.ts";
import { matchChoice, menuViews, pageMenu, PAGE_NEXT, PAGE_PREV, type ChoiceMenu, type ChoiceOption } from "./choice-menu.ts";
import { holds } from "./conditions.ts";
import { ConversationDraft } from "./conversation-draft.ts";
import { choiceIdSchema, type Step, type TextSpec } from "./flow-schema.ts";
import type { CompiledFlow } from "./flow-validation.ts";
import type { Audience, Inbound, InboundMessage, Outbound, Text, TextParams } from "./message.ts";
import type { Conversation, SessionWrite, StoredSession } from "./session.ts";
import { placeholderNames, renderText } from "./texts.ts";
import type { TurnDeps } from "./turn-deps.ts";

type AskStep = Extract<Step, { kind: "ask" }>;
type ChooseStep = Extract<Step, { kind: "choose" }>;

/** Steps that do not wait for the user, run in one turn; more than this is a loop gone wrong. */
const MAX_STEPS_PER_TURN = 200;
/** How deep `goto … then` may nest before the engine refuses (a flow calling itself forever). */
const MAX_RETURN_DEPTH = 8;

export class FlowRun {
  readonly replies: Outbound[] = [];
  timedOut = false;

  protected readonly inbound: Inbound;
  protected readonly audience: Audience;
  protected readonly deps: TurnDeps;
  protected readonly draft: ConversationDraft;
  protected readonly calls: ActionCalls;

  constructor(inbound: Inbound, audience: Audience, stored: StoredSession | null, deps: TurnDeps) {
    this.inbound = inbound;
    this.audience = audience;
    this.deps = deps;
    this.draft = new ConversationDraft(stored?.conversation ?? null);
    this.calls = new ActionCalls(inbound, audience, deps, this.replies, () => this.conversation);
    if (this.conversation && stored && stored.expiresAt.getTime() <= deps.now.getTime()) {
      this.conversation = null;
      this.timedOut = true;
    }
  }

  /** An action, guard or validator ran: its side effects may not be repeated by re-running the turn. */
  get hadSideEffects(): boolean {
    return this.calls.hadSideEffects;
  }

  /** The conversation as the turn leaves it; `null` when no flow runs any more. */
  get conversation(): Conversation | null {
    return this.draft.conversation;
  }

  set conversation(next: Conversation | null) {
    this.draft.replace(next);
  }

  /** What to save for this turn. */
  write(): SessionWrite {
    return this.draft.write();
  }

  /** Once saved: the conversation as now stored, to remember for the next turn. */
  committed(): Conversation | null {
    return this.draft.committed();
  }

  /** The flow the conversation is in (after the turn, for its idle timeout). */
  get flow(): CompiledFlow | undefined {
    return this.conversation ? this.deps.flows.get(this.conversation.flowId) : undefined;
  }

  /**
   * Moves the running conversation into another flow (a `goto`, a choice naming a flow),
   * past that flow's guard; `false` when the guard refused and the conversation ended.
   */
  protected async enter(flowId: string, stepId: string | undefined, returnTo: string | undefined): Promise<boolean> {
    const conversation = this.conversation!;
    const target = this.deps.flows.get(flowId);
    if (!target) throw new Error(`flow "${flowId}" is not loaded`);
    const admission = await this.calls.admit(target, conversation.data);
    if (admission !== "allowed") {
      if (admission === "unheard") this.say({ key: "engine.unknown_input" });
      this.conversation = null;
      return false;
    }
    if (returnTo !== undefined) {
      if (conversation.stack.length >= MAX_RETURN_DEPTH) throw new Error(`goto nests deeper than ${MAX_RETURN_DEPTH} flows`);
      conversation.stack.push({ flowId: conversation.flowId, stepId: returnTo });
    }
    conversation.flowId = target.id;
    conversation.stepId = stepId ?? target.start;
    conversation.attempts = 0;
    conversation.page = 0;
    return true;
  }

  protected async onAnswer(message: InboundMessage): Promise<void> {
    const step = this.currentStep()!;
    if (step.kind === "ask") return this.answerAsk(step, message);
    if (step.kind === "choose") return this.answerChoose(step, message);
    // A conversation only rests on a question; anything else means it was saved mid-flight.
    await this.advance();
  }

  protected async answerAsk(step: AskStep, message: InboundMessage): Promise<void> {
    if (message.kind === "choice") return this.stale();
    const check = checkAnswer(step, message, this.inbound.locale);
    if (!check.ok) return this.refuse(step, check.reask);
    let value = check.value;
    if (step.validator !== undefined) {
      const verdict = await this.calls.validate(step.validator, value);
      if (!verdict) return this.afterFailure(undefined);
      if (!verdict.ok) return this.refuse(step, verdict.reask ?? { key: "engine.reask.invalid" });
      if (verdict.value !== undefined) value = verdict.value;
    }
    const conversation = this.conversation!;
    conversation.data[step.saveAs] = value;
    await this.moveTo(step.next);
  }

  protected async answerChoose(step: ChooseStep, message: InboundMessage): Promise<void> {
    const conversation = this.conversation!;
    if (message.kind === "choice" && message.prompt && (message.prompt.flow !== conversation.flowId || message.prompt.step !== conversation.stepId)) {
      return this.stale();
    }
    const menu = await this.menu(step);
    if (!menu) return;
    const picked = matchChoice(menu, message, (label) => renderText(label, this.inbound.locale, this.deps.texts));
    if (picked === undefined) {
      if (message.kind === "choice") return this.stale();
      return this.refuse(step, { key: "engine.reask.choice" });
    }
    if (picked.id === PAGE_NEXT || picked.id === PAGE_PREV) {
      conversation.page = Math.min(Math.max(menu.page + (picked.id === PAGE_NEXT ? 1 : -1), 0), menu.pages - 1);
      return this.prompt(step);
    }
    if (step.saveAs !== undefined) conversation.data[step.saveAs] = picked.id;
    if (picked.flow !== undefined) {
      if (await this.enter(picked.flow, undefined, undefined)) await this.advance();
      return;
    }
    await this.moveTo((picked.next ?? step.next)!);
  }

  /** Counts a refused answer; past the step's limit, leaves the question. */
  protected async refuse(step: AskStep | ChooseStep, reason: Text): Promise<void> {
    const conversation = this.conversation!;
    conversation.attempts += 1;
    if (conversation.attempts >= step.maxAttempts) {
      if (step.onMaxAttempts !== undefined) return this.moveTo(step.onMaxAttempts);
      this.conversation = null;
      this.say({ key: "engine.too_many_attempts" });
      return;
    }
    const reask = step.reask !== undefined ? this.text(step.reask) : reason;
    if (step.kind === "ask") {
      // Still the question: a channel where people answer through a button (Discord's modal) needs its prompt again.
      this.replies.push({ text: reask, prompt: this.promptRef() });
    } else {
      const menu = await this.menu(step);
      if (menu) this.replies.push({ text: reask, choices: menuViews(menu), prompt: this.promptRef() });
    }
  }

  protected async stale(): Promise<void> {
    this.say({ key: "engine.stale_choice" });
    await this.promptAgain();
  }

  protected async moveTo(stepId: string): Promise<void> {
    const conversation = this.conversation!;
    conversation.stepId = stepId;
    conversation.attempts = 0;
    conversation.page = 0;
    await this.advance();
  }

  /** Runs steps until one waits for the user or the conversation ends. */
  protected async advance(): Promise<void> {
    for (let hops = 0; hops < MAX_STEPS_PER_TURN; hops++) {
      const conversation = this.conversation;
      if (!conversation) return;
      const step = this.currentStep();
      if (!step) throw new Error(`flow "${conversation.flowId}" has no step "${conversation.stepId}"`);
      switch (step.kind) {
        case "say":
          this.replies.push({ text: this.text(step.text), ...(step.media && { media: step.media }) });
          conversation.stepId = step.next;
          break;
        case "ask":
        case "choose":
          return this.prompt(step);
        case "action": {
          const result = await this.calls.runAction(step.action);
          if (!result) return this.afterFailure(step.onError);
          if (result.outcome === END || (result.outcome === undefined && step.next === undefined)) {
            this.endFlow();
            break;
          }
          const next = result.outcome === undefined ? step.next : step.outcomes?.[result.outcome];
          if (next === undefined) {
            const undeclared = new Error(`action "${step.action}" returned undeclared outcome "${result.outcome}"`);
            return this.fail(undeclared, `action ${step.action}`, step.onError, { outcome: result.outcome });
          }
          conversation.stepId = next;
          break;
        }
        case "branch":
          conversation.stepId = step.cases.find((c) => holds(c.when, conversation.data))?.next ?? step.otherwise;
          break;
        case "goto":
          if (!(await this.enter(step.flow, step.step, step.then))) return;
          break;
        case "end":
          if (step.text !== undefined) this.say(this.text(step.text));
          this.endFlow();
          break;
      }
      if (this.conversation) {
        this.conversation.attempts = 0;
        this.conversation.page = 0;
      }
    }
    throw new Error(`more than ${MAX_STEPS_PER_TURN} steps without a question`);
  }

  /** Ends the running flow: back to the flow that entered it with `goto … then`, or the conversation is over. */
  protected endFlow(): void {
    const conversation = this.conversation!;
    const back = conversation.stack.pop();
    if (!back) {
      this.conversation = null;
      return;
    }
    conversation.flowId = back.flowId;
    conversation.stepId = back.stepId;
  }

  protected async promptAgain(): Promise<void> {
    const step = this.currentStep();
    if (step && (step.kind === "ask" || step.kind === "choose")) await this.prompt(step);
  }

  protected async prompt(step: AskStep | ChooseStep): Promise<void> {
    if (step.kind === "ask") {
      this.replies.push({ text: this.text(step.text), prompt: this.promptRef() });
      return;
    }
    const menu = await this.menu(step);
    if (!menu) return;
    const text = this.text(step.text, menu.pages > 1 ? { page: menu.page + 1, pages: menu.pages } : {});
    this.replies.push({ text, choices: menuViews(menu), prompt: this.promptRef() });
  }

  /** The step's choices and the current page of them; `undefined` when producing them failed (already answered). */
  protected async menu(step: ChooseStep): Promise<ChoiceMenu | undefined> {
    const fixed: ChoiceOption[] = step.choices.map((c) => ({
      id: c.id,
      label: this.text(c.label),
      ...(c.next !== undefined && { next: c.next }),
      ...(c.flow !== undefined && { flow: c.flow }),
    }));
    if (step.source === undefined) return pageMenu(fixed, [], step.pageSize, this.conversation!.page);
    const result = await this.calls.runAction(step.source);
    if (!result) {
      await this.afterFailure(undefined);
      return undefined;
    }
    const produced: ChoiceOption[] = (result.choices ?? []).map((c) => ({ id: c.id, label: c.label, ...(c.flow !== undefined && { flow: c.flow }) }));
    const bad = produced.find((c) => !choiceIdSchema.safeParse(c.id).success);
    if (bad) {
      await this.fail(new Error(`action "${step.source}" produced an invalid choice id "${bad.id}"`), `action ${step.source}`, undefined);
      return undefined;
    }
    return pageMenu(produced, fixed, step.pageSize, this.conversation!.page);
  }

  protected async fail(err: unknown, what: string, onError: string | undefined, meta: Record<string, unknown> = {}): Promise<void> {
    this.calls.reportFailure(err, what, meta);
    await this.afterFailure(onError);
  }

  protected async afterFailure(onError: string | undefined): Promise<void> {
    if (onError !== undefined && this.conversation) return this.moveTo(onError);
    this.conversation = null;
  }

  protected currentStep(): Step | undefined {
    const conversation = this.conversation;
    return conversation ? this.deps.flows.get(conversation.flowId)?.steps.get(conversation.stepId) : undefined;
  }

  protected promptRef() {
    return { flow: this.conversation!.flowId, step: this.conversation!.stepId };
  }

  /** A flow's text with the conversation's data (and the store's name) as params: only the ones it uses. */
  protected text(spec: TextSpec, extra: TextParams = {}): Text {
    const params: TextParams = { store: this.inbound.tenant.name };
    const data = this.conversation?.data;
    if (data) {
      for (const name of placeholderNames(spec, this.deps.texts)) if (name in data) params[name] = data[name];
    }
    Object.assign(params, extra);
    return typeof spec === "string" ? { key: spec, params } : { inline: spec, params };
  }

  protected say(text: Text): void {
    this.replies.push({ text });
  }
}
