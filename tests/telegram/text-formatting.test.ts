// The emulator's parse_mode handling: what Telegram would store as text and entities.
import { test } from "node:test";
import assert from "node:assert/strict";
import { detectEntities, formatText } from "../support/telegram-emulator/text-formatting.ts";

test("MarkdownV2 nests entities, reads pre languages, links and quotes, and takes escapes literally", () => {
  assert.deepEqual(formatText("*tebal _miring_*", "MarkdownV2", undefined), {
    text: "tebal miring",
    entities: [{ type: "bold", offset: 0, length: 12 }, { type: "italic", offset: 6, length: 6 }],
  });
  assert.deepEqual(formatText("```json\n{\"a\":1}```", "MarkdownV2", undefined), {
    text: "{\"a\":1}",
    entities: [{ type: "pre", offset: 0, length: 7, language: "json" }],
  });
  assert.deepEqual(formatText("[toko](https://toko.example/a\\)b) \\- `x\\`y`", "MarkdownV2", undefined), {
    text: "toko - x`y",
    entities: [{ type: "text_link", offset: 0, length: 4, url: "https://toko.example/a)b" }, { type: "code", offset: 7, length: 3 }],
  });
  assert.deepEqual(formatText(">kutipan\n>dua\nbiasa", "MarkdownV2", undefined), {
    text: "kutipan\ndua\nbiasa",
    entities: [{ type: "blockquote", offset: 0, length: 11 }],
  });
  assert.deepEqual(formatText("__garis__ ~coret~ ||rahasia||", "MarkdownV2", undefined).entities.map((e) => e.type), ["underline", "strikethrough", "spoiler"]);
});

test("MarkdownV2 refuses what Telegram refuses", () => {
  for (const [source, message] of [
    ["Harga: 25.000", /Character '\.' is reserved/],
    ["(1 item)", /Character '\(' is reserved/],
    ["_miring", /Can't find end of Italic entity at byte offset 0/],
    ["`kode", /Can't find end of Code entity/],
  ] as const) {
    assert.throws(() => formatText(source, "MarkdownV2", undefined), message, source);
  }
});

test("HTML decodes entities, reads pre/code languages and refuses unknown or unbalanced tags", () => {
  assert.deepEqual(formatText("<pre><code class=\"language-ts\">a &lt; b</code></pre>", "HTML", undefined), {
    text: "a < b",
    entities: [{ type: "pre", offset: 0, length: 5, language: "ts" }],
  });
  assert.deepEqual(formatText("<tg-spoiler>x</tg-spoiler><span class=\"tg-spoiler\">y</span> &#128512;", "HTML", undefined).text, "xy 😀");
  assert.throws(() => formatText("<b>tebal</i>", "HTML", undefined), /Unmatched end tag at byte offset 8, expected "<\/b>", found "<\/i>"/);
  assert.throws(() => formatText("<b>tebal", "HTML", undefined), /Can't find end tag corresponding to start tag "b"/);
  assert.throws(() => formatText("1 < 2", "HTML", undefined), /Unsupported start tag "" at byte offset 2/);
  assert.throws(() => formatText("<constructor>x</constructor>", "HTML", undefined), /Unsupported start tag "constructor"/);
});

test("offsets count UTF-16 code units, as the Bot API's do", () => {
  assert.deepEqual(formatText("😀 <b>ok</b>", "HTML", undefined).entities, [{ type: "bold", offset: 3, length: 2 }]);
});

test("legacy Markdown and plain text with explicit entities", () => {
  assert.deepEqual(formatText("*tebal* dan [tautan](https://x.example)", "Markdown", undefined), {
    text: "tebal dan tautan",
    entities: [{ type: "bold", offset: 0, length: 5 }, { type: "text_link", offset: 10, length: 6, url: "https://x.example" }],
  });
  const entities = [{ type: "italic" as const, offset: 0, length: 2 }];
  assert.deepEqual(formatText("*a*", "MarkdownV2", entities), { text: "*a*", entities }, "explicit entities win over parse_mode");
});

test("what a customer types gets the entities a Telegram client would attach", () => {
  assert.deepEqual(detectEntities("/start@toko_bot promo #diskon @toko_demo https://toko.example/p"), [
    { type: "bot_command", offset: 0, length: 15 },
    { type: "hashtag", offset: 22, length: 7 },
    { type: "mention", offset: 30, length: 10 },
    { type: "url", offset: 41, length: 22 },
  ]);
  assert.deepEqual(detectEntities("harga 1/2 dan a/b"), []);
});
