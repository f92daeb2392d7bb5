// The flows one store can run: the platform's, plus the store's own JSON flows, with
// lookups by id, command and keyword that cost the same however many flows there are.
import type { CompiledFlow } from "./flow-validation.ts";
import type { Audience, Locale } from "./message.ts";
import { normaliseForMatch } from "./texts.ts";

export class FlowSet {
  readonly #byId = new Map<string, CompiledFlow>();
  readonly #byCommand = new Map<string, CompiledFlow>();
  readonly #byKeyword = new Map<string, CompiledFlow>();
  readonly #byStartPayload = new Map<string, CompiledFlow>();
  /** The lengths of the claimed payload prefixes, longest first: a lookup tries each once. */
  readonly #payloadPrefixLengths: number[];

  constructor(readonly flows: readonly CompiledFlow[]) {
    for (const flow of flows) {
      this.#byId.set(flow.id, flow);
      for (const command of flow.commands) this.#byCommand.set(command, flow);
      for (const [locale, words] of Object.entries(flow.keywords)) for (const word of words) this.#byKeyword.set(`${locale}:${word}`, flow);
      for (const prefix of flow.startPayloads) this.#byStartPayload.set(prefix, flow);
    }
    this.#payloadPrefixLengths = [...new Set([...this.#byStartPayload.keys()].map((prefix) => prefix.length))].sort((a, b) => b - a);
  }

  /** This set plus one store's own flows (already validated against it). */
  with(storeFlows: readonly CompiledFlow[]): FlowSet {
    return storeFlows.length === 0 ? this : new FlowSet([...this.flows, ...storeFlows]);
  }

  get(id: string): CompiledFlow | undefined {
    return this.#byId.get(id);
  }

  get byId(): ReadonlyMap<string, CompiledFlow> {
    return this.#byId;
  }

  /** The flow a command starts, if this audience may start it. */
  forCommand(command: string, audience: Audience): CompiledFlow | undefined {
    const flow = this.#byCommand.get(command);
    return flow && mayStart(flow, audience) ? flow : undefined;
  }

  /** The flow a whole-message keyword starts, in the user's language. */
  forKeyword(text: string, locale: Locale, audience: Audience): CompiledFlow | undefined {
    const flow = this.#byKeyword.get(`${locale}:${normaliseForMatch(text)}`);
    return flow && mayStart(flow, audience) ? flow : undefined;
  }

  /**
   * The flow that claims a `/start` payload (a deep link's) by its prefix, if this audience
   * may start it; otherwise `/start` starts the flow of the `start` command as usual.
   */
  forStartPayload(payload: string, audience: Audience): CompiledFlow | undefined {
    for (const length of this.#payloadPrefixLengths) {
      if (payload.length < length) continue;
      const flow = this.#byStartPayload.get(payload.slice(0, length));
      if (flow) return mayStart(flow, audience) ? flow : undefined;
    }
    return undefined;
  }

  /** The flows /help lists for this audience, in declaration order. */
  listedFor(audience: Audience): CompiledFlow[] {
    return this.flows.filter((flow) => flow.help !== undefined && mayStart(flow, audience) && (flow.commands.length > 0 || hasKeywords(flow)));
  }
}

function mayStart(flow: CompiledFlow, audience: Audience): boolean {
  return flow.audience === "everyone" || audience === "seller";
}

function hasKeywords(flow: CompiledFlow): boolean {
  return Object.values(flow.keywords).some((words) => words.length > 0);
}
