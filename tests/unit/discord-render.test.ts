// How an Outbound looks on Discord, and what its components carry back.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { answerId, buttonId, MAX_CUSTOM_ID, openCustomId, selectId } from "../../adapters/discord/custom-ids.ts";
import { inboundOfDm } from "../../adapters/discord/dm-messages.ts";
import { componentsOf, renderOutbound } from "../../adapters/discord/render.ts";
import { PAGE_NEXT, type ChoiceView } from "../../flows/engine/index.ts";
import { initI18n, t } from "../../locales/i18n.ts";

const prompt = { flow: "shop", step: "pick" };
const choices = (n: number): ChoiceView[] => Array.from({ length: n }, (_, i) => ({ id: `p${i + 1}`, label: { inline: { id: `Produk ${i + 1}` } } }));

describe("Discord rendering", () => {
  before(() => initI18n());

  it("choices become buttons five to a row, with the page buttons in a row of their own", () => {
    const rows = componentsOf({ text: { inline: { id: "Pilih:" } }, prompt, choices: [...choices(7), { id: PAGE_NEXT, label: { inline: { id: "Berikutnya" } } }] }, "id");
    assert.deepEqual(rows.map((r) => r.components.length), [5, 2, 1]);
    const next = rows[2]!.components[0] as { custom_id: string; label: string };
    assert.deepEqual(openCustomId(next.custom_id), { kind: "choice", choiceId: PAGE_NEXT, prompt });
  });

  it("past 25 choices they become select menus of 25, each with its own custom id", () => {
    const rows = componentsOf({ text: { inline: { id: "Pilih:" } }, prompt, choices: choices(30) }, "id");
    assert.equal(rows.length, 2);
    const menus = rows.map((r) => r.components[0] as { type: number; custom_id: string; options: { value: string }[] });
    assert.deepEqual(menus.map((m) => [m.type, m.options.length]), [[3, 25], [3, 5]]);
    assert.notEqual(menus[0]!.custom_id, menus[1]!.custom_id);
    for (const menu of menus) assert.deepEqual(openCustomId(menu.custom_id), { kind: "select", prompt });
  });

  it("a question gets an Answer button; a plain message none", () => {
    const [row] = componentsOf({ text: { inline: { id: "Berapa?" } }, prompt }, "en");
    const button = row!.components[0] as { custom_id: string; label: string };
    assert.equal(button.label, t("en", "discord.answer"));
    assert.deepEqual(openCustomId(button.custom_id), { kind: "answer", prompt });
    assert.deepEqual(componentsOf({ text: { inline: { id: "Halo" } } }, "id"), []);
  });

  it("a long text is split at 2000 characters in order, the buttons on the last part, a file on the first", () => {
    const text = Array.from({ length: 60 }, (_, i) => `Baris ${i} ${"x".repeat(90)}`).join("\n");
    const parts = renderOutbound({ text: { inline: { id: text } }, prompt, choices: choices(2) }, "id", { bytes: Buffer.from("PNG"), name: "qr.png" });
    assert.ok(parts.length >= 3);
    assert.ok(parts.every((p) => p.content.length <= 2000));
    assert.equal(parts.map((p) => p.content).join("\n"), text);
    assert.deepEqual(parts.map((p) => p.components.length > 0), [...parts.slice(1).map(() => false), true]);
    assert.deepEqual(parts.map((p) => p.files.length), [1, ...parts.slice(1).map(() => 0)]);
  });

  it("a file that could not be fetched shows as its link", () => {
    const [part] = renderOutbound({ text: { inline: { id: "Kode QR" } } }, "id", { link: "https://example.com/qr.png" });
    assert.equal(part!.content, "Kode QR\nhttps://example.com/qr.png");
  });
});

describe("Discord custom ids", () => {
  it("carry the choice and its prompt within 100 characters, and drop a prompt that would not fit", () => {
    assert.deepEqual(openCustomId(buttonId(prompt, "/setujui INV-000123")!), { kind: "choice", choiceId: "/setujui INV-000123", prompt });
    const long = { flow: "f".repeat(48), step: "s".repeat(48) };
    const id = buttonId(long, "choice-id-of-forty-characters-xxxxxxxxxx")!;
    assert.ok(id.length <= MAX_CUSTOM_ID);
    assert.deepEqual(openCustomId(id), { kind: "choice", choiceId: "choice-id-of-forty-characters-xxxxxxxxxx" });
    assert.equal(openCustomId(selectId(prompt, 1))?.kind, "select");
    assert.equal(openCustomId(answerId(undefined))?.kind, "answer");
    assert.equal(openCustomId("x|a|b"), undefined);
    assert.equal(openCustomId("c|a|b|"), undefined);
  });
});

describe("Discord DMs as input", () => {
  const none = { first: () => undefined } as never;
  it("a slash-started text is a command, other text is text, an attachment is a photo or document with its caption", () => {
    assert.deepEqual(inboundOfDm({ content: "/Pesanansaya INV-1", attachments: none }), { kind: "command", command: "pesanansaya", args: "INV-1" });
    assert.deepEqual(inboundOfDm({ content: " halo ", attachments: none }), { kind: "text", text: "halo" });
    assert.equal(inboundOfDm({ content: "", attachments: none }), undefined);
    const photo = { first: () => ({ url: "https://cdn.discordapp.com/a/b/bukti.png", name: "bukti.png", contentType: "image/png", size: 10 }) } as never;
    assert.deepEqual(inboundOfDm({ content: "bukti", attachments: photo }), {
      kind: "media", media: { type: "photo", fileRef: "https://cdn.discordapp.com/a/b/bukti.png", fileName: "bukti.png", mimeType: "image/png", sizeBytes: 10, caption: "bukti" },
    });
  });
});
