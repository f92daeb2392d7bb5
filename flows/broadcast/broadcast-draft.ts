// What a seller composed in `/siaran`, kept in the conversation's data until it is saved as a
// draft: the buttons as short tokens, the audience as the answers given. Turning them into
// the domain's `BroadcastButton[]` and `BroadcastAudience` happens here, in one place.
import type { BroadcastAudience, BroadcastButton } from "./contract.ts";
import { parseStoreDay } from "./store-time.ts";

/** The text's longest length; with an image it is a caption, shorter. */
export const MAX_TEXT = 3500;
export const MAX_CAPTION = 900;

export const AUDIENCE_KINDS = ["all", "channel", "buyers", "period", "lapsed"] as const;
export type AudienceKind = (typeof AUDIENCE_KINDS)[number];

/** "product:netflix-1m" or "catalog". */
export function buttonToken(button: BroadcastButton): string {
  return button.kind === "catalog" ? "catalog" : `product:${button.productCode}`;
}

export function buttonsOf(tokens: readonly string[] | undefined): BroadcastButton[] {
  return (tokens ?? []).flatMap((token): BroadcastButton[] => {
    if (token === "catalog") return [{ kind: "catalog" }];
    if (token.startsWith("product:")) return [{ kind: "product", productCode: token.slice("product:".length) }];
    return [];
  });
}

/** Two store days typed "2026-12-01 2026-12-31" (or with "-", "s/d", "sampai", "to" between). */
export function parsePeriod(typed: string, timeZone: string): { from: Date; to: Date } | undefined {
  const parts = typed.trim().split(/\s+(?:-|–|s\/d|sd|sampai|to|until)\s+|\s+/i).filter(Boolean);
  if (parts.length !== 2) return undefined;
  const [from, to] = [parseStoreDay(parts[0]!, timeZone), parseStoreDay(parts[1]!, timeZone)];
  if (!from || !to || to.end < from.start) return undefined;
  return { from: from.start, to: to.end };
}

export interface AudienceAnswers {
  audienceKind?: string;
  audienceChannel?: string;
  audienceProduct?: string;
  /** The period as typed, checked by the step's validator. */
  audiencePeriod?: string;
  audienceDays?: number;
}

/** The audience the answers name; `undefined` when they are incomplete. */
export function audienceOf(answers: AudienceAnswers, timeZone: string): BroadcastAudience | undefined {
  switch (answers.audienceKind) {
    case "all":
      return { kind: "all" };
    case "channel":
      return answers.audienceChannel ? { kind: "all", channel: answers.audienceChannel } : undefined;
    case "buyers":
      return answers.audienceProduct ? { kind: "buyers", productCode: answers.audienceProduct } : undefined;
    case "period": {
      const period = answers.audiencePeriod === undefined ? undefined : parsePeriod(answers.audiencePeriod, timeZone);
      return period && { kind: "period", ...period };
    }
    case "lapsed":
      return answers.audienceDays === undefined ? undefined : { kind: "lapsed", days: answers.audienceDays };
    default:
      return undefined;
  }
}
