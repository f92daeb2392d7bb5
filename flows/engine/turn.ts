// One turn: a user's message against the conversation as it was saved. A command, a
// keyword or an answer to the waiting question; the flow it starts or continues then
// runs (`FlowRun`) until the next question or the end. It only reads the one saved
// session — never the history — so a turn costs the same at step 3 and at step 300.
import { PAGE_NEXT, PAGE_PREV } from "./choice-menu.ts";
import { commandOfChoice } from "./command-choice.ts";
import { FlowRun } from "./flow-run.ts";
import { START_COMMAND, type CompiledFlow } from "./flow-validation.ts";
import { helpText } from "./help-text.ts";
import { DependencyOutage } from "./outage.ts";
import type { SessionData } from "./session.ts";

import { StaleSession } from "./turn-deps.ts";

export { PAGE_NEXT, PAGE_PREV };
export { StaleSession, type TurnDeps } from "./turn-deps.ts";

export class Turn extends FlowRun {
  async run(): Promise<void> {
    try {
      await this.#run();
    } catch (err) {
      if (err instanceof StaleSession || err instanceof DependencyOutage) throw err;
      // A flow that misbehaves at run time (nests too deep, spins without a question).
      this.calls.reportFailure(err, "flow");
      this.conversation = null;
    }
  }

  async #run(): Promise<void> {
    if (this.timedOut) this.say({ key: "engine.session_expired" });
    if (this.conversation && !this.currentStep()) {
      // The flow changed under a running conversation (a deploy, a store edited its FAQ).
      this.conversation = null;
      this.say({ key: "engine.flow_changed" });
    }
    const message = this.inbound.message;
    if (message.kind === "command") return this.#onCommand(message.command.toLowerCase(), message.args.trim());
    // A button under a notice runs its command whatever the chat was doing, as typing it would.
    const shortcut = message.kind === "choice" ? commandOfChoice(message.choiceId) : undefined;
    if (shortcut) return this.#onCommand(shortcut.command, shortcut.args);
    if (this.conversation) return this.onAnswer(message);
    if (message.kind === "text") {
      const flow = this.deps.flows.forKeyword(message.text, this.inbound.locale, this.audience);
      if (flow && (await this.#startFlow(flow))) return;
    }
    if (this.timedOut) return;
    if (message.kind === "choice") this.say({ key: "engine.stale_choice" });
    else this.say({ key: "engine.unknown_input" });
  }

  async #onCommand(command: string, args: string): Promise<void> {
    if (command === "cancel") {
      if (this.conversation) {
        this.conversation = null;
        this.say({ key: "engine.cancelled" });
      } else if (!this.timedOut) this.say({ key: "engine.nothing_to_cancel" });
      return;
    }
    if (command === "help") {
      this.say(helpText(this.deps.flows, this.audience, this.inbound.locale, this.inbound.tenant, this.deps.texts));
      if (this.conversation) await this.promptAgain();
      return;
    }
    // A deep link (`/start inv_…`) whose payload a flow claims starts that flow instead.
    const linked = command === START_COMMAND && args !== "" ? this.deps.flows.forStartPayload(args, this.audience) : undefined;
    // What followed the command (a deep link's payload, "/start promo10") is the flow's to use.
    const data = args === "" ? {} : { commandArgs: args };
    for (const flow of [linked, this.deps.flows.forCommand(command, this.audience)]) {
      if (flow && (await this.#startFlow(flow, data))) return;
    }
    this.say({ key: "engine.unknown_command", params: { command: `/${command}` } });
    if (this.conversation) await this.promptAgain();
  }

  /** Starts a flow when its guard lets the user in; `false` when refused as if it did not exist. */
  async #startFlow(flow: CompiledFlow, data: SessionData = {}): Promise<boolean> {
    const admission = await this.calls.admit(flow, data);
    if (admission === "unheard") return false;
    if (admission === "answered") {
      this.conversation = null;
      return true;
    }
    this.conversation = { flowId: flow.id, stepId: flow.start, data, stack: [], attempts: 0, page: 0 };
    await this.advance();
    return true;
  }
}
