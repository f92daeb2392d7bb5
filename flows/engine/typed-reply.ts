// What a typed message means on a channel without buttons (the console, WhatsApp): a
// `/command args`, the number or the label of a choice the last prompt offered, or text.
import { matchTypedChoice } from "./choice-menu.ts";
import type { InboundMessage, Locale, Outbound } from "./message.ts";
import { i18nTexts, normaliseForMatch, renderText } from "./texts.ts";

const COMMAND = /^\/([A-Za-z0-9_]+)(?:@\S+)?(?:\s+(.*))?$/s;

/**
 * A typed text as the engine's input. `lastPrompt` is the last message with choices the
 * chat was shown, when the channel remembers it: a number or a label answering it becomes
 * a `choice` bound to its prompt. Without it the text goes as text, and the engine matches
 * numbers and labels against the step it is at. Blank text means nothing (undefined).
 *
 * ```ts
 * typedReply("/start promo", undefined, "id"); // → { kind: "command", command: "start", args: "promo" }
 * typedReply("2", menu, "id");                 // → { kind: "choice", choiceId: menu.choices[1].id, prompt: menu.prompt }
 * ```
 */
export function typedReply(text: string, lastPrompt: Outbound | undefined, locale: Locale): InboundMessage | undefined {
  const typed = text.trim();
  if (typed === "") return undefined;
  const command = COMMAND.exec(typed);
  if (command) return { kind: "command", command: command[1].toLowerCase(), args: command[2]?.trim() ?? "" };
  const picked = matchTypedChoice(lastPrompt?.choices ?? [], typed, (choice) => normaliseForMatch(renderText(choice.label, locale, i18nTexts)));
  const prompt = lastPrompt?.prompt;
  if (picked) return { kind: "choice", choiceId: picked.id, ...(prompt && { prompt }) };
  return { kind: "text", text: typed };
}
