// Talks to an engine the way a user would, and reads its replies as words.
import { randomBytes } from "node:crypto";
import { initI18n } from "../../locales/i18n.ts";
import type { EngineLog } from "../../flows/engine/actions.ts";
import { createEngine, type Engine, type EngineOptions } from "../../flows/engine/engine.ts";
import type { Audience, Inbound, InboundMessage, InboundTenant, Locale, Outbound } from "../../flows/engine/message.ts";
import { MemorySessionStore } from "../../flows/engine/session.ts";
import { i18nTexts, renderText } from "../../flows/engine/texts.ts";

await initI18n();

export function newTenant(name = "Toko Uji"): InboundTenant {
  return { id: randomBytes(12).toString("hex"), slug: `toko-${randomBytes(3).toString("hex")}`, name };
}

export interface LogLine {
  level: "info" | "warn" | "error";
  message: string;
  meta: Record<string, unknown>;
}

/** A logger that remembers its lines, to assert on what an operator would read. */
export function capturingLog(): { lines: LogLine[]; logFor: (slug: string) => EngineLog } {
  const lines: LogLine[] = [];
  const log = (level: LogLine["level"]) => (message: string, meta: Record<string, unknown> = {}) => lines.push({ level, message, meta });
  return { lines, logFor: () => ({ info: log("info"), warn: log("warn"), error: log("error") }) };
}

type TestEngineOptions = Omit<EngineOptions, "sessions" | "audienceOf"> & Partial<Pick<EngineOptions, "sessions" | "audienceOf">>;

/** An engine on in-memory sessions where everyone is a customer, unless told otherwise. */
export function testEngine(options: TestEngineOptions): Engine {
  return createEngine({ sessions: new MemorySessionStore(), audienceOf: () => "customer", ...options });
}

export function render(outbound: Outbound, locale: Locale = "id"): string {
  const text = renderText(outbound.text, locale, i18nTexts);
  const choices = (outbound.choices ?? []).map((c, i) => `  ${i + 1}. ${renderText(c.label, locale, i18nTexts)} [${c.id}]`);
  return [text, ...choices].join("\n");
}

/** One user in one chat of one store. */
export class ChatUser {
  /** The replies of the last message, as sent. */
  last: Outbound[] = [];
  readonly #engine: Engine;
  readonly #base: Omit<Inbound, "message">;

  constructor(engine: Engine, opts: { tenant: InboundTenant; chatId?: string; userId?: string; name?: string; locale?: Locale; channel?: string }) {
    this.#engine = engine;
    const chatId = opts.chatId ?? randomBytes(4).toString("hex");
    this.#base = {
      tenant: opts.tenant,
      channel: opts.channel ?? "test",
      chatId,
      user: { id: opts.userId ?? chatId, name: opts.name ?? "Sari" },
      locale: opts.locale ?? "id",
    };
  }

  get inbound(): Omit<Inbound, "message"> {
    return this.#base;
  }

  /** Sends what a user types: "/cmd args" is a command, anything else text. Returns the rendered replies. */
  async say(typed: string): Promise<string[]> {
    const command = /^\/([a-z0-9_]+)(?:\s+(.*))?$/s.exec(typed);
    return this.send(command ? { kind: "command", command: command[1], args: command[2] ?? "" } : { kind: "text", text: typed });
  }

  /** Presses a button of the last prompt (or an older one, with `prompt`). */
  async press(choiceId: string, prompt = this.last.at(-1)?.prompt): Promise<string[]> {
    return this.send({ kind: "choice", choiceId, ...(prompt && { prompt }) });
  }

  async send(message: InboundMessage): Promise<string[]> {
    this.last = await this.#engine.handle({ ...this.#base, message });
    return this.last.map((o) => render(o, this.#base.locale));
  }

  /** The ids of the choices the last message offered. */
  get choiceIds(): string[] {
    return this.last.at(-1)?.choices?.map((c) => c.id) ?? [];
  }

  /** The i18n keys (or "inline") of the last replies, for asserting on engine texts. */
  get keys(): string[] {
    return this.last.map((o) => ("key" in o.text ? o.text.key : "inline"));
  }
}

export const asSeller = (sellers: Set<string>) => (inbound: Inbound): Audience => (sellers.has(inbound.user.id) ? "seller" : "customer");
