/**
 * Secrets kept out of anything printed: bot tokens, keys and passwords are registered as
 * soon as they are read or decrypted, and `redactText` masks them (and anything shaped like
 * a Telegram bot token, and URL passwords) in free text. The logger applies it to every
 * line; a channel applies it to what it reports back from its API.
 *
 * ```ts
 * registerSecret(botToken);
 * redactText(`getMe failed for ${botToken}`);   // "getMe failed for [REDACTED]"
 * ```
 */
export const REDACTED = "[REDACTED]";

const registeredSecrets = new Set<string>();
/**
 * Registered secrets by their first `PREFIX` characters, longest first within each: a
 * platform with a thousand store bots registers two thousand forms of tokens, and one
 * regular expression of that many alternatives cost seconds of CPU per thousand log lines.
 * A lookup per position of the text costs the same however many secrets there are.
 */
const PREFIX = 4;
const byPrefix = new Map<string, string[]>();
/** Secrets shorter than `PREFIX` (unusual), matched by a small expression. */
const shortSecrets: string[] = [];
let shortPattern: RegExp | undefined;

/**
 * Masks every later occurrence of `value` in log output. Register bot tokens, keys and
 * passwords as soon as they are read or decrypted. Empty strings are ignored.
 */
export function registerSecret(value: string): void {
  if (typeof value !== "string" || value === "") return;
  for (const form of [value, encodeURIComponent(value)]) {
    if (registeredSecrets.has(form)) continue;
    registeredSecrets.add(form);
    if (form.length < PREFIX) {
      shortSecrets.push(form);
      // Longest first, so a secret that contains another is masked whole.
      shortPattern = new RegExp(shortSecrets.sort((a, b) => b.length - a.length).map(escapeRegExp).join("|"), "g");
      continue;
    }
    const key = form.slice(0, PREFIX);
    const bucket = byPrefix.get(key) ?? [];
    bucket.push(form);
    bucket.sort((a, b) => b.length - a.length);
    byPrefix.set(key, bucket);
  }
}

/** The text with every registered secret of `PREFIX` characters or more masked, leftmost first, the longest at a position. */
function maskRegistered(text: string): string {
  if (byPrefix.size === 0 || text.length < PREFIX) return text;
  let out = "";
  let copied = 0;
  for (let i = 0; i + PREFIX <= text.length; ) {
    const hit = byPrefix.get(text.slice(i, i + PREFIX))?.find((secret) => text.startsWith(secret, i));
    if (!hit) {
      i++;
      continue;
    }
    out += text.slice(copied, i) + REDACTED;
    i += hit.length;
    copied = i;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const TELEGRAM_BOT_TOKEN = /\d{6,}:[A-Za-z0-9_-]{30,}/g;
// Runs to the last `@` of the URL so an unescaped `@` inside the password cannot leak its tail.
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)\S+@/gi;

/** Masks secrets in free text (registered secrets, Telegram bot tokens, URL passwords), e.g. before showing an error to the owner. */
export function redactText(text: string): string {
  let out = maskRegistered(text);
  if (shortPattern) out = out.replace(shortPattern, REDACTED);
  out = out.replace(TELEGRAM_BOT_TOKEN, REDACTED);
  return out.replace(URL_PASSWORD, `$1${REDACTED}@`);
}

