/**
 * Splits a text for a channel that refuses messages over `limit` characters (UTF-16 code
 * units, as JavaScript counts them). Cuts prefer a blank line, then a line break, then a
 * space, in the second half of the window; a text without any is cut between graphemes, so
 * an emoji or a combined letter is never torn in two. Parts keep the text's order; blank
 * parts are dropped.
 *
 * ```ts
 * splitMessage("a".repeat(5000), 4096); // → ["a" × 4096, "a" × 904]
 * ```
 */
const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });
// The longest grapheme cluster worth looking back over (flags, family emoji, stacked marks).
const GRAPHEME_LOOKBACK = 64;

export function splitMessage(text: string, limit: number): string[] {
  const parts: string[] = [];
  let rest = text;
  while (rest.length > limit) {
    const { end, skip } = cutPoint(rest, limit);
    const part = rest.slice(0, end);
    if (part.trim() !== "") parts.push(part);
    rest = rest.slice(end + skip);
  }
  if (rest.trim() !== "") parts.push(rest);
  return parts;
}

/** Where to end this part, and how many separator characters to drop after it. */
function cutPoint(text: string, limit: number): { end: number; skip: number } {
  const window = text.slice(0, limit + 1);
  const floor = Math.floor(limit / 2);
  for (const separator of ["\n\n", "\n"]) {
    const at = window.lastIndexOf(separator, limit - separator.length);
    if (at >= floor) return { end: at, skip: separator.length };
  }
  const space = lastWhitespace(window, limit);
  if (space >= floor) return { end: space, skip: 1 };
  return { end: graphemeBoundary(text, limit), skip: 0 };
}

function lastWhitespace(window: string, limit: number): number {
  for (let i = Math.min(limit, window.length - 1); i >= 0; i--) {
    if (window[i] === " " || window[i] === "\t" || window[i] === "\u00a0") return i;
  }
  return -1;
}

/** The last grapheme boundary at or before `limit`. */
function graphemeBoundary(text: string, limit: number): number {
  const from = Math.max(0, limit - GRAPHEME_LOOKBACK);
  let boundary = from;
  for (const { index } of graphemes.segment(text.slice(from, limit + GRAPHEME_LOOKBACK))) {
    if (from + index > limit) break;
    boundary = from + index;
  }
  // A single cluster longer than the look-back: fall back to not splitting a surrogate pair.
  if (boundary === from && from > 0) return isHighSurrogate(text.charCodeAt(limit - 1)) ? limit - 1 : limit;
  return boundary === 0 ? limit : boundary;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
