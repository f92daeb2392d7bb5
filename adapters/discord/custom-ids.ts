/**
 * What a Discord component carries back (its `custom_id`, at most 100 characters): the
 * choice and the prompt (flow and step) it was shown for, so the engine can tell a press on
 * an old message from a current one, across restarts and instances, with nothing kept in
 * memory.
 *
 * | component | custom id | becomes |
 * |---|---|---|
 * | a choice's button | `c|<flow>|<step>|<choiceId>` | `{ kind: "choice", choiceId, prompt }` (a command shortcut `/…` → its command) |
 * | a select menu of choices | `s|<flow>|<step>`, each option's value the choice id | the same, for the value picked |
 * | "Answer" under a question | `q|<flow>|<step>` | opens a modal `m|<flow>|<step>` whose submit is `{ kind: "text" }` |
 *
 * Discord only delivers custom ids of components the bot itself put on the message, so
 * they need no signature; a press in a guild still runs as the person who pressed, with
 * that person's permissions.
 *
 * ```ts
 * buttonId({ flow: "shop", step: "pick" }, "p1");  // "c|shop|pick|p1"
 * openCustomId("c|shop|pick|p1");                  // { kind: "choice", choiceId: "p1", prompt: { flow: "shop", step: "pick" } }
 * ```
 */
import type { PromptRef } from "../../flows/engine/index.ts";

export const MAX_CUSTOM_ID = 100;

export type OpenedCustomId =
  | { kind: "choice"; choiceId: string; prompt?: PromptRef }
  | { kind: "select"; prompt?: PromptRef }
  | { kind: "answer"; prompt?: PromptRef }
  | { kind: "modal"; prompt?: PromptRef };

const KINDS = { c: "choice", s: "select", q: "answer", m: "modal" } as const;
type Letter = keyof typeof KINDS;

function promptPart(prompt: PromptRef | undefined, room: number): string {
  const part = prompt ? `${prompt.flow}|${prompt.step}` : "|";
  // Too long to fit beside the choice: sent without its prompt (a press then counts as current).
  return part.length <= room && !part.slice(part.indexOf("|") + 1).includes("|") ? part : "|";
}

/** A choice's button; `undefined` when the choice id itself cannot fit. */
export function buttonId(prompt: PromptRef | undefined, choiceId: string): string | undefined {
  const room = MAX_CUSTOM_ID - 3 - choiceId.length;
  if (room < 1 || choiceId === "") return undefined;
  return `c|${promptPart(prompt, room)}|${choiceId}`;
}

/** A select menu's id; custom ids must differ within a message, so every menu but the first carries its number. */
export function selectId(prompt: PromptRef | undefined, index = 0): string {
  return `s|${promptPart(prompt, MAX_CUSTOM_ID - 5)}${index > 0 ? `|${index}` : ""}`;
}

export function answerId(prompt: PromptRef | undefined): string {
  return `q|${promptPart(prompt, MAX_CUSTOM_ID - 2)}`;
}

export function modalId(prompt: PromptRef | undefined): string {
  return `m|${promptPart(prompt, MAX_CUSTOM_ID - 2)}`;
}

/** What a custom id means; `undefined` for one this channel never made. */
export function openCustomId(customId: string): OpenedCustomId | undefined {
  if (customId.length > MAX_CUSTOM_ID) return undefined;
  const [letter, flow, step, ...rest] = customId.split("|");
  const kind = KINDS[letter as Letter] as OpenedCustomId["kind"] | undefined;
  if (!kind || flow === undefined || step === undefined) return undefined;
  const prompt = flow !== "" && step !== "" ? { prompt: { flow, step } } : {};
  if (kind === "choice") {
    const choiceId = rest.join("|");
    return choiceId === "" ? undefined : { kind, choiceId, ...prompt };
  }
  if (kind === "select") return rest.length === 0 || (rest.length === 1 && /^\d$/.test(rest[0]!)) ? { kind, ...prompt } : undefined;
  return rest.length === 0 ? { kind, ...prompt } : undefined;
}
