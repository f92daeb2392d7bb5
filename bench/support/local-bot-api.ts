// The Telegram Bot API answered in process, through grammY's `client.fetch` option: every
// API call a bot makes — including those from inside conversations, which transformers
// installed on `bot.api` never see — lands here and gets a well-formed answer.
import type { Message } from "grammy/types";

export interface LocalBotApi {
  fetch: typeof fetch;
  /** Texts sent to each chat, in order. */
  sent: Map<number, string[]>;
  calls: number;
}

export function createLocalBotApi(): LocalBotApi {
  const api: LocalBotApi = { fetch: undefined as unknown as typeof fetch, sent: new Map(), calls: 0 };
  let messageId = 0;
  api.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    api.calls++;
    const method = String(input).slice(String(input).lastIndexOf("/") + 1);
    const payload = typeof init?.body === "string" ? (JSON.parse(init.body) as Record<string, unknown>) : {};
    if (method !== "sendMessage") return answer({ ok: false, error_code: 404, description: `Not Found: method ${method} is not emulated` });
    const chatId = Number(payload.chat_id);
    const text = String(payload.text);
    const texts = api.sent.get(chatId) ?? [];
    texts.push(text);
    api.sent.set(chatId, texts);
    const result: Message.TextMessage = {
      message_id: ++messageId,
      date: Math.floor(Date.now() / 1000),
      chat: { id: chatId, type: "private", first_name: "Pembeli" },
      from: { id: 1, is_bot: true, first_name: "Toko Bench", username: "toko_bench_bot" },
      text,
    };
    return answer({ ok: true, result });
  }) as typeof fetch;
  return api;
}

function answer(body: unknown): Response {
  return new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/json" } });
}
