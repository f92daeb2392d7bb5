/**
 * What an inline button carries back: the choice, a short tag of the prompt it was shown
 * for, and a signature binding both to the store and the chat. A forged or altered
 * callback fails the signature and never reaches the engine; a genuine button from an old
 * message still names its prompt, so the engine can tell it is stale.
 *
 * ```ts
 * const buttons = new ButtonSigner(encryptionKey);
 * const data = buttons.sign(tenantId, chatId, "p1", tags.tagOf({ flow: "shop", step: "pick" }));
 * buttons.open(tenantId, chatId, data); // → { choiceId: "p1", tag: "…" }, or undefined when forged
 * ```
 *
 * Layout: `<choiceId>|<tag>|<signature>`, at most 40 + 1 + 6 + 1 + 12 = 60 bytes, inside
 * Telegram's 64. The signature is 72 bits of HMAC-SHA256 under a key derived per store from
 * `ENCRYPTION_KEY`, so buttons keep working across restarts and on another instance, and
 * a button copied to another store or chat does not open there.
 */
import { createHash, createHmac, hkdfSync, timingSafeEqual } from "node:crypto";
import type { PromptRef } from "../../flows/engine/index.ts";

/** Telegram refuses callback data over this many bytes. */
export const MAX_CALLBACK_DATA_BYTES = 64;

const CHOICE_ID = /^[A-Za-z0-9_.:-]{1,40}$/;
const TAG = /^[A-Za-z0-9_-]{6}$/;
const SIGNATURE_BYTES = 9;

export interface OpenedButton {
  choiceId: string;
  /** The prompt's tag, or `""` when the button was sent without a prompt. */
  tag: string;
}

export class ButtonSigner {
  readonly #master: Buffer;
  readonly #keys = new Map<string, Buffer>();

  constructor(encryptionKey: Buffer) {
    if (encryptionKey.length < 16) throw new Error("the button signing key needs at least 16 bytes (pass ENCRYPTION_KEY)");
    this.#master = Buffer.from(encryptionKey);
  }

  /** The callback data for a choice; throws when the choice id could not fit. */
  sign(tenantId: string, chatId: string, choiceId: string, tag = ""): string {
    if (!CHOICE_ID.test(choiceId)) throw new Error(`choice id "${choiceId}" cannot be a Telegram button (1–40 of A-Z a-z 0-9 _ . : -)`);
    return `${choiceId}|${tag}|${this.#signature(tenantId, chatId, choiceId, tag)}`;
  }

  /** The choice behind callback data, or `undefined` when it is not a button this store sent to this chat. */
  open(tenantId: string, chatId: string, data: string | undefined): OpenedButton | undefined {
    if (data === undefined || Buffer.byteLength(data) > MAX_CALLBACK_DATA_BYTES) return undefined;
    const parts = data.split("|");
    if (parts.length !== 3) return undefined;
    const [choiceId, tag, signature] = parts;
    if (!CHOICE_ID.test(choiceId) || (tag !== "" && !TAG.test(tag))) return undefined;
    const expected = Buffer.from(this.#signature(tenantId, chatId, choiceId, tag));
    const given = Buffer.from(signature);
    return given.length === expected.length && timingSafeEqual(given, expected) ? { choiceId, tag } : undefined;
  }

  #signature(tenantId: string, chatId: string, choiceId: string, tag: string): string {
    return createHmac("sha256", this.#keyFor(tenantId))
      .update(`${chatId}\n${tag}\n${choiceId}`)
      .digest()
      .subarray(0, SIGNATURE_BYTES)
      .toString("base64url");
  }

  #keyFor(tenantId: string): Buffer {
    let key = this.#keys.get(tenantId);
    if (!key) {
      key = Buffer.from(hkdfSync("sha256", this.#master, "niaga-telegram-buttons", `tenant:${tenantId}`, 32));
      this.#keys.set(tenantId, key);
    }
    return key;
  }
}

/**
 * Short names for prompts (flow + step), so a button can say which question it answered
 * within 64 bytes. A tag is a hash, the same in every process; resolving one back needs
 * the prompt to be known here — the platform's flows are registered up front, a store's
 * own flows as their prompts are rendered.
 */
export class PromptTags {
  readonly #byTag = new Map<string, PromptRef>();
  readonly #limit: number;

  constructor(limit = 50_000) {
    this.#limit = limit;
  }

  tagOf(prompt: PromptRef): string {
    const tag = promptTag(prompt);
    if (!this.#byTag.has(tag)) {
      if (this.#byTag.size >= this.#limit) this.#byTag.delete(this.#byTag.keys().next().value as string);
      this.#byTag.set(tag, { flow: prompt.flow, step: prompt.step });
    }
    return tag;
  }

  resolve(tag: string): PromptRef | undefined {
    const prompt = this.#byTag.get(tag);
    return prompt && { ...prompt };
  }

  /** Registers every step of these flows (the engine's `platformFlows.flows`). */
  learnFlows(flows: Iterable<{ id: string; steps: ReadonlyMap<string, unknown> }>): void {
    for (const flow of flows) for (const step of flow.steps.keys()) this.tagOf({ flow: flow.id, step });
  }
}

export function promptTag(prompt: PromptRef): string {
  return createHash("sha256").update(`${prompt.flow}\n${prompt.step}`).digest().subarray(0, 6).toString("base64url").slice(0, 6);
}
