// A choice that stands for a command: a button on a message sent outside any conversation
// (a notice from the outbox: "Balas" under a store's answer, 1–5 under a closing notice)
// has no step waiting for it, so pressing it (or typing its number on a channel without
// buttons) runs a command as if the person had typed it, with their own permissions.
import type { ChoiceView, Text } from "./message.ts";

const PREFIX = "cmd:";
const COMMAND = /^[a-z0-9_]{1,32}$/;
const ARG = /^[A-Za-z0-9_.-]+$/;
/** Every channel can carry this much in a button (Telegram's callback data with its signature). */
const MAX_ID = 40;

/**
 * The choice id that runs `/command args…` when pressed: `cmd:<command>[:<arg>…]`. Each
 * argument is letters, digits, `_ . -` (a ticket number, an order code); the id fits every
 * channel's buttons and a flow's choice id rules.
 *
 * ```ts
 * commandChoiceId("nilai", 12, 4); // → "cmd:nilai:12:4", pressed: /nilai 12 4
 * ```
 */
export function commandChoiceId(command: string, ...args: (string | number)[]): string {
  const parts = args.map(String);
  if (!COMMAND.test(command) || parts.some((arg) => !ARG.test(arg))) throw new Error(`"${command} ${parts.join(" ")}" cannot be a command choice`);
  const id = [PREFIX + command, ...parts].join(":");
  if (id.length > MAX_ID) throw new Error(`command choice "${id}" is longer than ${MAX_ID} characters`);
  return id;
}

/** A command choice with its label. */
export function commandChoice(label: Text, command: string, ...args: (string | number)[]): ChoiceView {
  return { id: commandChoiceId(command, ...args), label };
}

/** The command a choice id stands for, or `undefined` when it is an ordinary choice. */
export function commandOfChoice(choiceId: string): { command: string; args: string } | undefined {
  if (!choiceId.startsWith(PREFIX)) return undefined;
  const [command, ...args] = choiceId.slice(PREFIX.length).split(":");
  if (!command || !COMMAND.test(command) || args.some((arg) => !ARG.test(arg))) return undefined;
  return { command, args: args.join(" ") };
}
