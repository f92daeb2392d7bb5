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
let registeredPattern: RegExp | undefined;
let registeredPatternStale = false;

/**
 * Masks every later occurrence of `value` in log output. Register bot tokens, keys and
 * passwords as soon as they are read or decrypted. Empty strings are ignored.
 */
export function registerSecret(value: string): void {
  if (typeof value !== "string" || value === "") return;
  for (const form of [value, encodeURIComponent(value)]) {
    if (!registeredSecrets.has(form)) {
      registeredSecrets.add(form);
      registeredPatternStale = true;
    }
  }
}

// Rebuilt lazily: start-up registers a token per store bot, and rebuilding on each would be quadratic.
function secretsPattern(): RegExp | undefined {
  if (registeredPatternStale) {
    // Longest first, so a secret that contains another is masked whole.
    const alternatives = [...registeredSecrets].sort((a, b) => b.length - a.length).map(escapeRegExp);
    registeredPattern = new RegExp(alternatives.join("|"), "g");
    registeredPatternStale = false;
  }
  return registeredPattern;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const TELEGRAM_BOT_TOKEN = /\d{6,}:[A-Za-z0-9_-]{30,}/g;
// Runs to the last `@` of the URL so an unescaped `@` inside the password cannot leak its tail.
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)\S+@/gi;

/** Masks secrets in free text (registered secrets, Telegram bot tokens, URL passwords), e.g. before showing an error to the owner. */
export function redactText(text: string): string {
  const registered = secretsPattern();
  let out = registered ? text.replace(registered, REDACTED) : text;
  out = out.replace(TELEGRAM_BOT_TOKEN, REDACTED);
  return out.replace(URL_PASSWORD, `$1${REDACTED}@`);
}

