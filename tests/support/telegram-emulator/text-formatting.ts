// Turns `text` + `parse_mode` into what Telegram stores and returns: the plain text and
// its entities (offsets in UTF-16 code units). Mistakes that Telegram rejects — an
// unescaped `.` in MarkdownV2, an unknown HTML tag, an unclosed entity — are rejected
// here too with Telegram's wording, because in production they lose the message.
import type { MessageEntity } from "grammy/types";
import { badRequest } from "./bot-api-error.ts";

export interface FormattedText {
  readonly text: string;
  readonly entities: MessageEntity[];
}

export function formatText(source: string, parseMode: string | undefined, entities: MessageEntity[] | undefined): FormattedText {
  // Explicit entities win over parse_mode, as documented ("instead of parse_mode").
  if (entities !== undefined) return { text: source, entities };
  if (parseMode === undefined || parseMode === "") return { text: source, entities: [] };
  switch (parseMode.toLowerCase()) {
    case "html": return parseHtml(source);
    case "markdownv2": return parseMarkdownV2(source);
    case "markdown": return parseLegacyMarkdown(source);
    default: throw badRequest("unsupported parse_mode");
  }
}

/** Entities a Telegram client finds in what a user types (commands, mentions, hashtags, links). */
export function detectEntities(text: string): MessageEntity[] {
  const found: MessageEntity[] = [];
  const patterns: Array<[MessageEntity["type"], RegExp]> = [
    ["bot_command", /(?<![\w/])\/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w/])/g],
    ["mention", /(?<![\w@])@[A-Za-z][A-Za-z0-9_]{4,31}(?!\w)/g],
    ["hashtag", /(?<![\w#])#[\p{L}\p{N}_]*\p{L}[\p{L}\p{N}_]*/gu],
    ["url", /\bhttps?:\/\/[^\s<>"]+[^\s<>".,;:!?)\]]/g],
  ];
  for (const [type, pattern] of patterns) {
    for (const match of text.matchAll(pattern)) {
      found.push({ type, offset: match.index, length: match[0].length } as MessageEntity);
    }
  }
  return found.sort((a, b) => a.offset - b.offset);
}

const cantParse = (detail: string) => badRequest(`can't parse entities: ${detail}`);
const byteOffset = (source: string, index: number) => Buffer.byteLength(source.slice(0, index), "utf8");

function finish(text: string, entities: MessageEntity[]): FormattedText {
  return {
    text,
    entities: entities.filter((e) => e.length > 0).sort((a, b) => a.offset - b.offset || b.length - a.length),
  };
}

// ---------------------------------------------------------------- HTML

interface OpenTag {
  tag: string;
  start: number;
  entity: Omit<MessageEntity, "offset" | "length"> | undefined;
}

const HTML_TAGS: Record<string, MessageEntity["type"]> = {
  b: "bold", strong: "bold", i: "italic", em: "italic", u: "underline", ins: "underline",
  s: "strikethrough", strike: "strikethrough", del: "strikethrough", "tg-spoiler": "spoiler",
  code: "code", pre: "pre", blockquote: "blockquote", a: "text_link", "tg-emoji": "custom_emoji", span: "spoiler",
};

function parseHtml(source: string): FormattedText {
  let text = "";
  const entities: MessageEntity[] = [];
  const open: OpenTag[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    if (c === "&") {
      const ref = /^&(lt|gt|amp|quot|#\d{1,7}|#x[0-9a-fA-F]{1,6});/.exec(source.slice(i, i + 12));
      if (ref) {
        text += decodeHtmlEntity(ref[1]);
        i += ref[0].length;
        continue;
      }
    }
    if (c !== "<") {
      text += c;
      i += 1;
      continue;
    }
    const at = byteOffset(source, i);
    if (source[i + 1] === "/") {
      const end = source.indexOf(">", i);
      if (end < 0) throw cantParse(`Unclosed end tag at byte offset ${at}`);
      const name = source.slice(i + 2, end).trim().toLowerCase();
      i = end + 1;
      const top = open.pop();
      if (!top) throw cantParse(`Unexpected end tag at byte offset ${at}`);
      if (top.tag !== name) throw cantParse(`Unmatched end tag at byte offset ${at}, expected "</${top.tag}>", found "</${name}>"`);
      if (top.entity) entities.push({ ...top.entity, offset: top.start, length: text.length - top.start } as MessageEntity);
      continue;
    }
    // Telegram reads the tag name (up to whitespace or ">") before anything else, so a
    // bare "<" reports an unsupported tag "" rather than an unclosed one.
    const rawName = /^[^\s>]*/.exec(source.slice(i + 1))?.[0] ?? "";
    const name = rawName.toLowerCase();
    if (!Object.hasOwn(HTML_TAGS, name)) throw cantParse(`Unsupported start tag "${rawName}" at byte offset ${at}`);
    const end = source.indexOf(">", i);
    if (end < 0) throw cantParse(`Unclosed start tag at byte offset ${at}`);
    const attributes = parseAttributes(source.slice(i + 1 + rawName.length, end));
    i = end + 1;
    open.push({ tag: name, start: text.length, entity: htmlEntity(name, attributes, open, at) });
  }
  if (open.length > 0) throw cantParse(`Can't find end tag corresponding to start tag "${open[open.length - 1].tag}"`);
  return finish(text, entities);
}

function htmlEntity(name: string, attributes: Map<string, string>, open: OpenTag[], at: number): OpenTag["entity"] {
  switch (name) {
    case "span":
      if (attributes.get("class") !== "tg-spoiler") throw cantParse(`Tag "span" must have class "tg-spoiler" at byte offset ${at}`);
      return { type: "spoiler" };
    case "a": {
      const url = attributes.get("href");
      if (!url) return undefined; // Telegram keeps the text of an <a> without href as plain text
      return { type: "text_link", url } as OpenTag["entity"];
    }
    case "code": {
      // <pre><code class="language-x"> names the language of the pre block instead of nesting code.
      const parent = open[open.length - 1];
      const language = /^language-(.+)$/.exec(attributes.get("class") ?? "")?.[1];
      if (parent?.tag === "pre" && parent.entity) {
        if (language) Object.assign(parent.entity, { language });
        return undefined;
      }
      return { type: "code" };
    }
    case "blockquote":
      return { type: attributes.has("expandable") ? "expandable_blockquote" : "blockquote" };
    case "tg-emoji": {
      const id = attributes.get("emoji-id");
      if (!id) throw cantParse(`Custom emoji entity must contain a tg://emoji URL or emoji-id at byte offset ${at}`);
      return { type: "custom_emoji", custom_emoji_id: id } as OpenTag["entity"];
    }
    default:
      return { type: HTML_TAGS[name] };
  }
}

function parseAttributes(raw: string): Map<string, string> {
  const attributes = new Map<string, string>();
  for (const m of raw.matchAll(/([a-zA-Z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g)) {
    const value = m[2] ?? m[3] ?? m[4] ?? "";
    attributes.set(m[1].toLowerCase(), value.replace(/&(lt|gt|amp|quot|#\d{1,7}|#x[0-9a-fA-F]{1,6});/g, (_, ref: string) => decodeHtmlEntity(ref)));
  }
  return attributes;
}

function decodeHtmlEntity(ref: string): string {
  switch (ref) {
    case "lt": return "<";
    case "gt": return ">";
    case "amp": return "&";
    case "quot": return "\"";
    default: return String.fromCodePoint(ref.startsWith("#x") ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10));
  }
}

// ---------------------------------------------------------------- MarkdownV2

const MARKDOWN_V2_RESERVED = new Set("_*[]()~`>#+-=|{}.!");
const ENTITY_NAMES: Record<string, string> = {
  bold: "Bold", italic: "Italic", underline: "Underline", strikethrough: "Strikethrough",
  spoiler: "Spoiler", text_link: "TextUrl", custom_emoji: "CustomEmoji",
};

interface OpenMarker {
  type: MessageEntity["type"];
  start: number;
  at: number;
}

function parseMarkdownV2(source: string): FormattedText {
  let text = "";
  const entities: MessageEntity[] = [];
  const open: OpenMarker[] = [];
  let quoteStart: number | undefined;
  let i = 0;

  const toggle = (type: MessageEntity["type"], width: number) => {
    const top = open[open.length - 1];
    if (top?.type === type) {
      open.pop();
      entities.push({ type, offset: top.start, length: text.length - top.start } as MessageEntity);
    } else if (open.some((m) => m.type === type)) {
      throw cantParse(`Can't find end of ${ENTITY_NAMES[top.type] ?? top.type} entity at byte offset ${top.at}`);
    } else {
      open.push({ type, start: text.length, at: byteOffset(source, i) });
    }
    i += width;
  };

  while (i < source.length) {
    const c = source[i];
    const lineStart = i === 0 || source[i - 1] === "\n";
    if (lineStart && c === ">") {
      quoteStart ??= text.length;
      i += 1;
      continue;
    }
    if (lineStart && quoteStart !== undefined) {
      // The quote ended on the previous line; its newline is not part of it.
      entities.push({ type: "blockquote", offset: quoteStart, length: text.length - 1 - quoteStart });
      quoteStart = undefined;
    }
    switch (c) {
      case "\\": {
        const next = source[i + 1];
        if (next !== undefined && next.charCodeAt(0) >= 1 && next.charCodeAt(0) <= 126) {
          text += next;
          i += 2;
        } else {
          text += c;
          i += 1;
        }
        continue;
      }
      case "*": toggle("bold", 1); continue;
      case "~": toggle("strikethrough", 1); continue;
      case "_":
        if (source[i + 1] === "_") toggle("underline", 2);
        else toggle("italic", 1);
        continue;
      case "|":
        if (source[i + 1] !== "|") throw reservedCharacter(c);
        toggle("spoiler", 2);
        continue;
      case "`": {
        const block = source.startsWith("```", i);
        const fence = block ? "```" : "`";
        const at = byteOffset(source, i);
        let j = i + fence.length;
        let content = "";
        while (j < source.length && !source.startsWith(fence, j)) {
          if (source[j] === "\\" && j + 1 < source.length) {
            content += source[j + 1];
            j += 2;
          } else {
            content += source[j];
            j += 1;
          }
        }
        if (j >= source.length) throw cantParse(`Can't find end of ${block ? "Pre" : "Code"} entity at byte offset ${at}`);
        let language: string | undefined;
        if (block) {
          const firstLine = /^([^\s`]+)\n/.exec(content);
          if (firstLine) {
            language = firstLine[1];
            content = content.slice(firstLine[0].length);
          } else if (content.startsWith("\n")) {
            content = content.slice(1);
          }
        }
        entities.push({ type: block ? "pre" : "code", offset: text.length, length: content.length, ...(language ? { language } : {}) } as MessageEntity);
        text += content;
        i = j + fence.length;
        continue;
      }
      case "!":
        if (source[i + 1] !== "[") throw reservedCharacter(c);
        open.push({ type: "custom_emoji", start: text.length, at: byteOffset(source, i) });
        i += 2;
        continue;
      case "[":
        open.push({ type: "text_link", start: text.length, at: byteOffset(source, i) });
        i += 1;
        continue;
      case "]": {
        const top = open[open.length - 1];
        if ((top?.type !== "text_link" && top?.type !== "custom_emoji") || source[i + 1] !== "(") throw reservedCharacter(c);
        open.pop();
        let j = i + 2;
        let url = "";
        while (j < source.length && source[j] !== ")") {
          if (source[j] === "\\" && j + 1 < source.length) j += 1;
          url += source[j];
          j += 1;
        }
        if (j >= source.length) throw cantParse(`Can't find end of a URL at byte offset ${byteOffset(source, i + 1)}`);
        const span = { offset: top.start, length: text.length - top.start };
        if (top.type === "custom_emoji") {
          const id = /^tg:\/\/emoji\?id=(\d+)$/.exec(url)?.[1];
          if (!id) throw cantParse(`Custom emoji entity must contain a tg://emoji URL at byte offset ${top.at}`);
          entities.push({ type: "custom_emoji", custom_emoji_id: id, ...span });
        } else {
          entities.push({ type: "text_link", url, ...span });
        }
        i = j + 1;
        continue;
      }
      default:
        if (MARKDOWN_V2_RESERVED.has(c)) throw reservedCharacter(c);
        text += c;
        i += 1;
    }
  }
  const unclosed = open[open.length - 1];
  if (unclosed) throw cantParse(`Can't find end of ${ENTITY_NAMES[unclosed.type] ?? unclosed.type} entity at byte offset ${unclosed.at}`);
  if (quoteStart !== undefined) entities.push({ type: "blockquote", offset: quoteStart, length: text.length - quoteStart });
  return finish(text, entities);
}

const reservedCharacter = (c: string) => cantParse(`Character '${c}' is reserved and must be escaped with the preceding '\\'`);

// ---------------------------------------------------------------- legacy Markdown

function parseLegacyMarkdown(source: string): FormattedText {
  let text = "";
  const entities: MessageEntity[] = [];
  let i = 0;
  const markers: Record<string, MessageEntity["type"]> = { "*": "bold", _: "italic", "`": "code" };
  while (i < source.length) {
    const c = source[i];
    if (c === "\\" && "_*`[".includes(source[i + 1] ?? "")) {
      text += source[i + 1];
      i += 2;
      continue;
    }
    const at = byteOffset(source, i);
    if (source.startsWith("```", i)) {
      const end = source.indexOf("```", i + 3);
      if (end < 0) throw cantParse(`Can't find end of the entity starting at byte offset ${at}`);
      let content = source.slice(i + 3, end);
      const firstLine = /^([^\s`]+)\n/.exec(content);
      if (firstLine) content = content.slice(firstLine[0].length);
      entities.push({ type: "pre", offset: text.length, length: content.length, ...(firstLine ? { language: firstLine[1] } : {}) } as MessageEntity);
      text += content;
      i = end + 3;
      continue;
    }
    if (c in markers) {
      const end = source.indexOf(c, i + 1);
      if (end < 0) throw cantParse(`Can't find end of the entity starting at byte offset ${at}`);
      const content = source.slice(i + 1, end);
      entities.push({ type: markers[c], offset: text.length, length: content.length } as MessageEntity);
      text += content;
      i = end + 1;
      continue;
    }
    if (c === "[") {
      const link = /^\[([^\]]*)\]\(([^)]*)\)/.exec(source.slice(i));
      if (!link) throw cantParse(`Can't find end of the entity starting at byte offset ${at}`);
      entities.push({ type: "text_link", offset: text.length, length: link[1].length, url: link[2] });
      text += link[1];
      i += link[0].length;
      continue;
    }
    text += c;
    i += 1;
  }
  return finish(text, entities);
}
