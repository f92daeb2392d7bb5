// Phone numbers as sellers and operators type them, for linking a store's WhatsApp number by
// pairing code: WhatsApp wants the digits with the country code first (628…), so a local
// number (0812…) is refused rather than guessed — a store may sell outside Indonesia.

export type PhoneNumberProblem = "local" | "malformed";

/**
 * `+62 812-3456-7890`, `62 812 3456 7890`, `(62) 812.3456.7890` → `6281234567890`; a number
 * starting with 0 is `local` (the country code is missing); anything else that is not 8–15
 * digits (E.164) is `malformed`.
 */
export function internationalNumber(typed: string): { digits: string } | { problem: PhoneNumberProblem } {
  const trimmed = typed.trim();
  if (!/^\+?[\d\s().-]+$/.test(trimmed)) return { problem: "malformed" };
  const digits = trimmed.replace(/\D/g, "");
  if (!trimmed.startsWith("+") && digits.startsWith("0")) return { problem: "local" };
  if (!/^[1-9]\d{7,14}$/.test(digits)) return { problem: "malformed" };
  return { digits };
}

/** `6281234567890` → `+62 812-3456-7890` for Indonesian numbers, `+<digits>` otherwise. */
export function displayPhone(digits: string): string {
  const m = /^62(\d{3})(\d{4})(\d{3,5})$/.exec(digits);
  return m ? `+62 ${m[1]}-${m[2]}-${m[3]}` : `+${digits}`;
}
