// The built-in checks of an `ask` step: does this message answer the question, and
// what value does it give? A refusal carries the text that explains what is expected.
import type { Step } from "./flow-schema.ts";
import type { InboundMessage, Locale, Text } from "./message.ts";

type AskStep = Extract<Step, { kind: "ask" }>;

export type AnswerCheck = { ok: true; value: unknown } | { ok: false; reask: Text };

/** Long enough for an address or a complaint; a 10,000-character paste is refused politely. */
const DEFAULT_MAX_TEXT = 1000;

export function checkAnswer(step: AskStep, message: InboundMessage, locale: Locale): AnswerCheck {
  switch (step.expect) {
    case "text":
      return checkText(step, message);
    case "number":
    case "integer":
      return checkNumber(step, message, locale);
    case "email":
      return checkEmail(message);
    case "phone":
      return checkPhone(message);
    case "photo":
    case "document":
      return checkMedia(step.expect, message);
    case "contact":
      return message.kind === "contact"
        ? { ok: true, value: { ...message.contact, phone: normalisePhone(message.contact.phone) ?? message.contact.phone } }
        : refuse("engine.reask.contact");
  }
}

function refuse(key: string, params?: Record<string, unknown>): AnswerCheck {
  return { ok: false, reask: params ? { key, params } : { key } };
}

function checkText(step: AskStep, message: InboundMessage): AnswerCheck {
  if (message.kind !== "text") return refuse("engine.reask.text");
  const text = message.text.trim();
  const min = step.min ?? 1;
  const max = step.max ?? DEFAULT_MAX_TEXT;
  if (text.length < min || text.length > max) return refuse("engine.reask.text_length", { min, max, length: text.length });
  if (step.pattern !== undefined && !new RegExp(`^(?:${step.pattern})$`, "u").test(text)) return refuse("engine.reask.pattern");
  return { ok: true, value: text };
}

function checkNumber(step: AskStep, message: InboundMessage, locale: Locale): AnswerCheck {
  const integer = step.expect === "integer";
  const rangeParams = { min: step.min ?? "", max: step.max ?? "" };
  const outOfRange = () =>
    step.min !== undefined && step.max !== undefined
      ? refuse("engine.reask.number_between", rangeParams)
      : step.min !== undefined
        ? refuse("engine.reask.number_at_least", rangeParams)
        : refuse("engine.reask.number_at_most", rangeParams);
  if (message.kind !== "text") return refuse(integer ? "engine.reask.integer" : "engine.reask.number");
  const value = parseNumber(message.text, locale);
  if (value === undefined || (integer && !Number.isInteger(value))) return refuse(integer ? "engine.reask.integer" : "engine.reask.number");
  if ((step.min !== undefined && value < step.min) || (step.max !== undefined && value > step.max)) return outOfRange();
  return { ok: true, value };
}

/**
 * Reads a number the way people type it: "25000", "25.000" and "25.000,50" in Indonesian,
 * "25,000.50" in English, with an optional leading "Rp".
 */
export function parseNumber(raw: string, locale: Locale): number | undefined {
  let text = raw.trim().replace(/^rp\.?\s*/i, "").replace(/\s+/g, "");
  const [thousands, decimal] = locale === "id" ? [".", ","] : [",", "."];
  const grouped = new RegExp(`^-?\\d{1,3}(\\${thousands}\\d{3})+(\\${decimal}\\d+)?$`);
  if (grouped.test(text)) text = text.split(thousands).join("");
  text = text.replace(decimal, ".");
  if (!/^-?\d+(\.\d+)?$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

function checkEmail(message: InboundMessage): AnswerCheck {
  if (message.kind !== "text") return refuse("engine.reask.email");
  const email = message.text.trim().toLowerCase();
  return /^[^\s@]{1,64}@[^\s@]+\.[^\s@]{2,}$/.test(email) && email.length <= 254 ? { ok: true, value: email } : refuse("engine.reask.email");
}

function checkPhone(message: InboundMessage): AnswerCheck {
  const raw = message.kind === "text" ? message.text : message.kind === "contact" ? message.contact.phone : undefined;
  const phone = raw === undefined ? undefined : normalisePhone(raw);
  return phone === undefined ? refuse("engine.reask.phone") : { ok: true, value: phone };
}

/** "0812-3456-789" → "+628123456789": Indonesian local numbers gain the country code. */
export function normalisePhone(raw: string): string | undefined {
  const compact = raw.trim().replace(/[\s().-]/g, "");
  if (!/^\+?\d{8,15}$/.test(compact)) return undefined;
  if (compact.startsWith("+")) return compact;
  if (compact.startsWith("0")) return `+62${compact.slice(1)}`;
  return `+${compact}`;
}

function checkMedia(expect: "photo" | "document", message: InboundMessage): AnswerCheck {
  if (message.kind !== "media") return refuse(expect === "photo" ? "engine.reask.photo" : "engine.reask.document");
  const { media } = message;
  // A photo sent "as a file" keeps its quality; it is still a photo.
  const fits = media.type === expect || (expect === "photo" && media.mimeType?.startsWith("image/") === true);
  return fits ? { ok: true, value: { ...media } } : refuse(expect === "photo" ? "engine.reask.photo" : "engine.reask.document");
}
