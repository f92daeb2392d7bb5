// Start-up validation: every flow — written in code or stored by a store as JSON — is
// parsed by the same schema and checked as a graph before the engine takes a message.
// A problem names the flow and the step, so the fix is one search away.
import type { z } from "zod";
import type { DeclaredAction } from "./actions.ts";
import { durationMs, flowSchema, LOCALES, type Flow, type GuardRef, type Step, type TextSpec } from "./flow-schema.ts";
import type { Locale } from "./message.ts";
import type { TextCatalog } from "./texts.ts";
import { normaliseForMatch } from "./texts.ts";

/** Commands the engine answers itself, in every flow. */
export const ENGINE_COMMANDS = ["cancel", "help"] as const;
/** The command a deep link sends (`/start <payload>`); flows may claim payloads by prefix (`triggers.startPayloads`). */
export const START_COMMAND = "start";

export interface FlowProblem {
  /** The store whose JSON flow has the problem; absent for flows in code. */
  tenant?: string;
  flow: string;
  step?: string;
  message: string;
}

export function describeProblem(problem: FlowProblem): string {
  const where = [
    problem.tenant !== undefined ? `store "${problem.tenant}"` : undefined,
    `flow "${problem.flow}"`,
    problem.step !== undefined ? `step "${problem.step}"` : undefined,
  ].filter(Boolean);
  return `${where.join(", ")}: ${problem.message}`;
}

/** Thrown when flows fail validation; the message lists every problem, one per line. */
export class FlowValidationError extends Error {
  override name = "FlowValidationError";
  constructor(readonly problems: FlowProblem[]) {
    super(
      `${problems.length} problem${problems.length === 1 ? "" : "s"} in flow definitions:\n` +
        problems.map((p) => `  - ${describeProblem(p)}`).join("\n"),
    );
  }
}

/** A validated flow, ready to run. */
export interface CompiledFlow {
  id: string;
  guard?: GuardRef;
  audience: Flow["audience"];
  commands: string[];
  /** Prefixes of a `/start` payload that start this flow (a deep link's). */
  startPayloads: string[];
  /** Normalised keywords per language. */
  keywords: Record<Locale, string[]>;
  help?: TextSpec;
  idleTimeoutMs: number;
  start: string;
  steps: ReadonlyMap<string, Step>;
  /** The store that owns this flow; absent for the platform's flows. */
  tenant?: string;
}

export interface FlowCheckContext {
  /** The registered action by that name, with what it declares. */
  action(name: string): DeclaredAction | undefined;
  hasGuard(name: string): boolean;
  hasValidator(name: string): boolean;
  texts: TextCatalog;
  /** Flows already validated that these flows may `goto` and must not clash with. */
  knownFlows?: ReadonlyMap<string, CompiledFlow>;
  /** Set when checking one store's JSON flows. */
  tenant?: string;
}

/** Parses and checks flow definitions; returns the compiled flows, or throws `FlowValidationError`. */
export function compileFlows(definitions: readonly unknown[], context: FlowCheckContext): CompiledFlow[] {
  const problems: FlowProblem[] = [];
  const report = (flow: string, step: string | undefined, message: string) =>
    problems.push({ ...(context.tenant !== undefined && { tenant: context.tenant }), flow, ...(step !== undefined && { step }), message });

  const parsed: Flow[] = [];
  definitions.forEach((definition, index) => {
    const result = flowSchema.safeParse(definition);
    const flowName = flowNameOf(definition, index);
    if (result.success) parsed.push(result.data);
    else for (const issue of result.error.issues) reportSchemaIssue(issue, flowName, report);
  });

  const known = new Map(context.knownFlows ?? []);
  const compiled: CompiledFlow[] = [];
  for (const flow of parsed) {
    if (known.has(flow.id)) {
      report(flow.id, undefined, context.tenant !== undefined ? "this flow id is already used by the platform" : "this flow id is declared twice");
      continue;
    }
    const flowCompiled = compileOne(flow, context.tenant);
    known.set(flow.id, flowCompiled);
    compiled.push(flowCompiled);
  }

  checkTriggers(compiled, context.knownFlows, report);
  for (const flow of compiled) checkSteps(flow, known, context, report);

  if (problems.length > 0) throw new FlowValidationError(problems);
  return compiled;
}

function flowNameOf(definition: unknown, index: number): string {
  const id = (definition as { id?: unknown } | null)?.id;
  return typeof id === "string" && id !== "" ? id : `#${index + 1}`;
}

function reportSchemaIssue(issue: z.core.$ZodIssue, flow: string, report: (flow: string, step: string | undefined, message: string) => void) {
  const path = issue.path.map(String);
  if (path[0] === "steps" && path.length >= 2) {
    const field = path.slice(2).join(".");
    report(flow, path[1], field ? `${field}: ${issue.message}` : issue.message);
  } else {
    report(flow, undefined, path.length ? `${path.join(".")}: ${issue.message}` : issue.message);
  }
}

function compileOne(flow: Flow, tenant: string | undefined): CompiledFlow {
  const keywords = Object.fromEntries(
    LOCALES.map((locale) => [locale, (flow.triggers.keywords[locale] ?? []).map(normaliseForMatch)]),
  ) as Record<Locale, string[]>;
  return {
    id: flow.id,
    ...(flow.guard !== undefined && { guard: flow.guard }),
    audience: flow.audience,
    commands: flow.triggers.commands,
    startPayloads: flow.triggers.startPayloads,
    keywords,
    ...(flow.help !== undefined && { help: flow.help }),
    idleTimeoutMs: durationMs(flow.idleTimeout),
    start: flow.start ?? Object.keys(flow.steps)[0],
    steps: new Map(Object.entries(flow.steps)),
    ...(tenant !== undefined && { tenant }),
  };
}

function checkTriggers(
  flows: CompiledFlow[],
  knownFlows: ReadonlyMap<string, CompiledFlow> | undefined,
  report: (flow: string, step: string | undefined, message: string) => void,
) {
  const commandOwner = new Map<string, string>();
  const keywordOwner = new Map<string, string>();
  const payloadOwner = new Map<string, string>();
  for (const flow of knownFlows?.values() ?? []) {
    for (const command of flow.commands) commandOwner.set(command, flow.id);
    for (const prefix of flow.startPayloads) payloadOwner.set(prefix, flow.id);
    for (const locale of LOCALES) for (const word of flow.keywords[locale]) keywordOwner.set(`${locale}:${word}`, flow.id);
  }
  for (const flow of flows) {
    for (const command of flow.commands) {
      if ((ENGINE_COMMANDS as readonly string[]).includes(command)) {
        report(flow.id, undefined, `/${command} is answered by the engine in every flow and cannot start a flow`);
      } else if (commandOwner.has(command)) {
        report(flow.id, undefined, `/${command} already starts flow "${commandOwner.get(command)}"`);
      } else commandOwner.set(command, flow.id);
    }
    for (const locale of LOCALES) {
      for (const word of flow.keywords[locale]) {
        const owner = keywordOwner.get(`${locale}:${word}`);
        if (owner !== undefined) report(flow.id, undefined, `keyword "${word}" (${locale}) already starts flow "${owner}"`);
        else keywordOwner.set(`${locale}:${word}`, flow.id);
      }
    }
    for (const prefix of flow.startPayloads) {
      // Overlapping prefixes ("inv" and "inv_") would make a payload's flow depend on which is longer.
      const clash = [...payloadOwner].find(([taken]) => taken.startsWith(prefix) || prefix.startsWith(taken));
      if (clash) report(flow.id, undefined, `start payload prefix "${prefix}" overlaps "${clash[0]}" of flow "${clash[1]}"`);
      else payloadOwner.set(prefix, flow.id);
    }
  }
}

interface Edge {
  to: string;
  field: string;
}

function edgesOf(step: Step): Edge[] {
  switch (step.kind) {
    case "say":
      return [{ to: step.next, field: "next" }];
    case "ask":
      return [
        { to: step.next, field: "next" },
        ...(step.onMaxAttempts !== undefined ? [{ to: step.onMaxAttempts, field: "onMaxAttempts" }] : []),
      ];
    case "choose":
      return [
        ...(step.next !== undefined ? [{ to: step.next, field: "next" }] : []),
        ...step.choices.flatMap((choice, i) => (choice.next !== undefined ? [{ to: choice.next, field: `choices.${i}.next` }] : [])),
        ...(step.onMaxAttempts !== undefined ? [{ to: step.onMaxAttempts, field: "onMaxAttempts" }] : []),
      ];
    case "action":
      return [
        ...(step.next !== undefined ? [{ to: step.next, field: "next" }] : []),
        ...Object.entries(step.outcomes ?? {}).map(([outcome, to]) => ({ to, field: `outcomes.${outcome}` })),
        ...(step.onError !== undefined ? [{ to: step.onError, field: "onError" }] : []),
      ];
    case "branch":
      return [...step.cases.map((c, i) => ({ to: c.next, field: `cases.${i}.next` })), { to: step.otherwise, field: "otherwise" }];
    case "goto":
      return step.then !== undefined ? [{ to: step.then, field: "then" }] : [];
    case "end":
      return [];
  }
}

function textsOf(step: Step): { text: TextSpec; field: string }[] {
  switch (step.kind) {
    case "say":
      return [{ text: step.text, field: "text" }];
    case "ask":
      return [{ text: step.text, field: "text" }, ...(step.reask !== undefined ? [{ text: step.reask, field: "reask" }] : [])];
    case "choose":
      return [
        { text: step.text, field: "text" },
        ...(step.reask !== undefined ? [{ text: step.reask, field: "reask" }] : []),
        ...step.choices.map((choice, i) => ({ text: choice.label, field: `choices.${i}.label` })),
      ];
    case "end":
      return step.text !== undefined ? [{ text: step.text, field: "text" }] : [];
    default:
      return [];
  }
}

const WAITS_FOR_USER = new Set<Step["kind"]>(["ask", "choose"]);

function checkSteps(
  flow: CompiledFlow,
  flows: ReadonlyMap<string, CompiledFlow>,
  context: FlowCheckContext,
  report: (flow: string, step: string | undefined, message: string) => void,
) {
  const problem = (step: string | undefined, message: string) => report(flow.id, step, message);
  if (!flow.steps.has(flow.start)) problem(undefined, `start: unknown step "${flow.start}"`);
  if (flow.guard !== undefined && !context.hasGuard(flow.guard.name)) problem(undefined, `guard: missing guard "${flow.guard.name}"`);
  if (flow.help !== undefined && typeof flow.help === "string" && !context.texts.has(flow.help)) {
    problem(undefined, `help: missing i18n key "${flow.help}" (add it to locales/id and locales/en)`);
  }

  for (const [id, step] of flow.steps) {
    for (const edge of edgesOf(step)) {
      if (!flow.steps.has(edge.to)) problem(id, `${edge.field}: unknown step "${edge.to}"`);
    }
    for (const { text, field } of textsOf(step)) {
      if (typeof text === "string" && !context.texts.has(text)) {
        problem(id, `${field}: missing i18n key "${text}" (add it to locales/id and locales/en)`);
      }
    }
    switch (step.kind) {
      case "ask":
        checkAsk(step, (message) => problem(id, message), context);
        break;
      case "choose": {
        if (step.choices.length === 0 && step.source === undefined) problem(id, "a choose step needs choices or a source action");
        const source = step.source !== undefined ? context.action(step.source) : undefined;
        if (step.source !== undefined && !source) problem(id, `source: missing action "${step.source}"`);
        // A source that only offers flows to start needs no next.
        if (source && step.next === undefined && source.flows === undefined) problem(id, "next: a choose step with a source needs next");
        for (const named of source?.flows ?? []) {
          if (!flows.has(named)) problem(id, `source: action "${step.source}" offers unknown flow "${named}"`);
        }
        step.choices.forEach((choice, i) => {
          if (choice.flow !== undefined) {
            if (!flows.has(choice.flow)) problem(id, `choices.${i}.flow: unknown flow "${choice.flow}"`);
          } else if (choice.next === undefined && step.next === undefined) {
            problem(id, `choices.${i}.next: choice "${choice.id}" leads nowhere (give it next, or the step a next)`);
          }
        });
        const ids = step.choices.map((c) => c.id);
        for (const dup of new Set(ids.filter((choiceId, i) => ids.indexOf(choiceId) !== i))) problem(id, `choices: id "${dup}" is used twice`);
        break;
      }
      case "action": {
        const action = context.action(step.action);
        if (!action) {
          problem(id, `action: missing action "${step.action}"`);
          break;
        }
        const routed = Object.keys(step.outcomes ?? {});
        for (const outcome of routed) {
          if (!action.outcomes.includes(outcome)) problem(id, `outcomes.${outcome}: action "${step.action}" never returns outcome "${outcome}"`);
        }
        for (const outcome of action.outcomes) {
          if (!routed.includes(outcome)) problem(id, `outcomes: action "${step.action}" may return outcome "${outcome}", which this step does not route`);
        }
        break;
      }
      case "goto": {
        const target = flows.get(step.flow);
        if (!target) problem(id, `flow: unknown flow "${step.flow}"`);
        else if (step.step !== undefined && !target.steps.has(step.step)) problem(id, `step: flow "${step.flow}" has no step "${step.step}"`);
        break;
      }
      default:
        break;
    }
  }

  for (const id of unreachableSteps(flow)) problem(id, `unreachable: no step leads here from the start step "${flow.start}"`);
  for (const id of loopsWithoutQuestion(flow)) problem(id, "loops back to itself without asking the user anything");
}

function checkAsk(step: Extract<Step, { kind: "ask" }>, problem: (message: string) => void, context: FlowCheckContext) {
  const ranged = ["text", "number", "integer"].includes(step.expect);
  if (!ranged && (step.min !== undefined || step.max !== undefined)) problem(`min/max: not used when expecting ${step.expect}`);
  if (step.min !== undefined && step.max !== undefined && step.min > step.max) problem("min is larger than max");
  if (step.pattern !== undefined) {
    if (step.expect !== "text") problem(`pattern: only used when expecting text, not ${step.expect}`);
    try {
      new RegExp(step.pattern, "u");
    } catch (err) {
      problem(`pattern: ${(err as Error).message}`);
    }
  }
  if (step.validator !== undefined && !context.hasValidator(step.validator)) problem(`validator: missing validator "${step.validator}"`);
}

function unreachableSteps(flow: CompiledFlow): string[] {
  if (!flow.steps.has(flow.start)) return [];
  const seen = new Set([flow.start]);
  const queue = [flow.start];
  while (queue.length > 0) {
    const step = flow.steps.get(queue.pop()!);
    if (!step) continue;
    for (const { to } of edgesOf(step)) {
      if (!seen.has(to) && flow.steps.has(to)) {
        seen.add(to);
        queue.push(to);
      }
    }
  }
  return [...flow.steps.keys()].filter((id) => !seen.has(id));
}

/** Steps on a cycle made only of steps that never wait for the user: such a flow would spin forever. */
function loopsWithoutQuestion(flow: CompiledFlow): string[] {
  const state = new Map<string, "visiting" | "done">();
  const onCycle = new Set<string>();
  const visit = (id: string, path: string[]) => {
    const step = flow.steps.get(id);
    if (!step || WAITS_FOR_USER.has(step.kind) || step.kind === "goto") return;
    if (state.get(id) === "done") return;
    if (state.get(id) === "visiting") {
      for (const member of path.slice(path.indexOf(id))) onCycle.add(member);
      return;
    }
    state.set(id, "visiting");
    for (const { to } of edgesOf(step)) visit(to, [...path, id]);
    state.set(id, "done");
  };
  for (const id of flow.steps.keys()) visit(id, []);
  return [...onCycle];
}
