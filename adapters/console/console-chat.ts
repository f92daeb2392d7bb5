// The console channel: a terminal (or a pipe) as a chat. Lines in become `Inbound`s,
// the engine's `Outbound`s come back as text with numbered choices.
import { createInterface } from "node:readline";
import type { Engine } from "../../flows/engine/index.ts";
import type { Inbound, InboundMessage, InboundTenant, Locale, Outbound } from "../../flows/engine/index.ts";
import { i18nTexts, renderText, typedReply } from "../../flows/engine/index.ts";
import { t } from "../../locales/i18n.ts";

/** The channel name sessions and members of the console are stored under. */
export const CONSOLE_CHANNEL = "console";

export interface ConsoleChatOptions {
  engine: Engine;
  tenant: InboundTenant;
  user: { id: string; name?: string };
  locale: Locale;
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  /** A person at a terminal: show a prompt. Otherwise (a pipe) echo each line, so a transcript reads like the chat. */
  interactive: boolean;
}

/**
 * Runs a chat until the input ends: one line at a time, strictly in order, each line's
 * replies printed before the next line is read.
 */
export async function runConsoleChat(opts: ConsoleChatOptions): Promise<void> {
  const { engine, output, locale } = opts;
  const base: Omit<Inbound, "message"> = { tenant: opts.tenant, channel: CONSOLE_CHANNEL, chatId: opts.user.id, user: opts.user, locale };
  const lines = createInterface({ input: opts.input, ...(opts.interactive && { output }), terminal: opts.interactive });
  let lastPrompt: Outbound | undefined;

  if (opts.interactive) {
    output.write(`${t(locale, "console.welcome", { store: opts.tenant.name })}\n\n`);
    lines.setPrompt("> ");
    lines.prompt();
  }
  for await (const line of lines) {
    const message = parseConsoleLine(line, lastPrompt, locale);
    if (message) {
      if (!opts.interactive) output.write(`> ${line.trim()}\n`);
      const replies = await engine.handle({ ...base, message });
      for (const reply of replies) output.write(`${renderForConsole(reply, locale)}\n\n`);
      lastPrompt = [...replies].reverse().find((reply) => reply.choices?.length);
    }
    if (opts.interactive) lines.prompt();
  }
}

/**
 * What a typed line means: `/command args`; `!photo ref`, `!document ref` or
 * `!contact phone [name]` for what a phone would attach; a choice's number or label
 * when the last message offered choices; otherwise text. Blank lines mean nothing.
 */
export function parseConsoleLine(line: string, lastPrompt: Outbound | undefined, locale: Locale): InboundMessage | undefined {
  const attachment = /^!(photo|document|contact)\s+(\S+)(?:\s+(.*))?$/.exec(line.trim());
  if (attachment) {
    const [, kind, ref, rest] = attachment;
    if (kind === "contact") return { kind: "contact", contact: { phone: ref, ...(rest && { name: rest.trim() }) } };
    const fileName = ref.split("/").at(-1);
    return { kind: "media", media: { type: kind as "photo" | "document", fileRef: ref, ...(fileName && { fileName }), ...(rest && { caption: rest.trim() }) } };
  }
  return typedReply(line, lastPrompt, locale);
}

/** An `Outbound` as terminal text: the message, its attachment, its choices numbered from 1. */
export function renderForConsole(outbound: Outbound, locale: Locale): string {
  const parts = [renderText(outbound.text, locale, i18nTexts)];
  if (outbound.media) {
    const key = outbound.media.type === "photo" ? "console.attached_photo" : "console.attached_document";
    parts.push(t(locale, key, { ref: outbound.media.fileName ?? outbound.media.ref }));
  }
  (outbound.choices ?? []).forEach((choice, i) => parts.push(`  ${i + 1}) ${renderText(choice.label, locale, i18nTexts)}`));
  return parts.join("\n");
}
