// The same question-and-answer flow of N steps, built twice: on the Niaga engine (behind a
// minimal Telegram bridge, as a channel adapter would do it) and on @grammyjs/conversations.
import { conversations, createConversation, type Conversation, type ConversationData, type ConversationFlavor } from "@grammyjs/conversations";
import { Bot, type Context } from "grammy";
import type { UserFromGetMe } from "grammy/types";
import { createEngine } from "../../flows/engine/engine.ts";
import type { Inbound } from "../../flows/engine/message.ts";
import { MongoSessionStore } from "../../flows/engine/mongo-session-store.ts";
import { MemorySessionStore, type SessionStore } from "../../flows/engine/session.ts";
import { i18nTexts, renderText } from "../../flows/engine/texts.ts";
import { conversationsMongoStorage } from "./conversations-mongo-storage.ts";
import type { LocalBotApi } from "./local-bot-api.ts";

export type Storage = "memory" | "mongodb";

const TOKEN = "123456789:bench-token-not-a-secret-aaaaaaaaaaaaaaa";
const botInfo: UserFromGetMe = {
  id: 123456789,
  is_bot: true,
  first_name: "Toko Bench",
  username: "toko_bench_bot",
  can_join_groups: true,
  can_read_all_group_messages: false,
  supports_inline_queries: false,
  can_connect_to_business: false,
  has_main_web_app: false,
  has_topics_enabled: false,
  allows_users_to_create_topics: false,
  can_manage_bots: false,
  supports_join_request_queries: false,
};

export const question = (i: number) => `Pertanyaan ${i}: jawab apa saja`;
export const DONE = "Selesai, terima kasih!";

/** The flow on the engine: N `ask` steps saving every answer, then an end. */
export function niagaQaBot(steps: number, storage: Storage, api: LocalBotApi, tenantId: string): Bot {
  const flowSteps: Record<string, unknown> = {};
  for (let i = 1; i <= steps; i++) {
    flowSteps[`q${i}`] = { kind: "ask", text: { id: question(i) }, expect: "text", saveAs: `a${i}`, next: i === steps ? "done" : `q${i + 1}` };
  }
  flowSteps.done = { kind: "end", text: { id: DONE } };
  const sessions: SessionStore = storage === "memory" ? new MemorySessionStore() : new MongoSessionStore();
  const engine = createEngine({
    flows: [{ id: "qa", triggers: { commands: ["qa"] }, steps: flowSteps }],
    sessions,
    audienceOf: () => "customer",
  });
  const tenant = { id: tenantId, slug: "toko-bench", name: "Toko Bench" };
  const bot = new Bot(TOKEN, { botInfo, client: { fetch: api.fetch } });
  bot.on("message:text", async (ctx) => {
    const text = ctx.message.text;
    const command = /^\/(\w+)(?:@\w+)?(?:\s+(.*))?$/s.exec(text);
    const inbound: Inbound = {
      tenant,
      channel: "telegram",
      chatId: String(ctx.chat.id),
      user: { id: String(ctx.from.id), name: ctx.from.first_name },
      locale: "id",
      message: command ? { kind: "command", command: command[1], args: command[2] ?? "" } : { kind: "text", text },
    };
    await engine.handle(inbound, async (replies) => {
      for (const reply of replies) await ctx.api.sendMessage(ctx.chat.id, renderText(reply.text, "id", i18nTexts));
    });
  });
  return bot;
}

type QaContext = ConversationFlavor<Context>;

/** The same flow as a conversation: N questions, each answered by the next text message. */
export function conversationsQaBot(steps: number, storage: Storage, api: LocalBotApi): Bot<QaContext> {
  const bot = new Bot<QaContext>(TOKEN, { botInfo, client: { fetch: api.fetch } });
  bot.use(
    conversations<QaContext, Context>(
      storage === "memory" ? {} : { storage: conversationsMongoStorage<ConversationData>("bench_conversations") },
    ),
  );
  async function qa(conversation: Conversation<QaContext, Context>, ctx: Context) {
    const answers: string[] = [];
    for (let i = 1; i <= steps; i++) {
      await ctx.reply(question(i));
      const answer = await conversation.waitFor("message:text");
      answers.push(answer.message.text);
    }
    await ctx.reply(DONE);
  }
  bot.use(createConversation(qa, "qa"));
  bot.command("qa", (ctx) => ctx.conversation.enter("qa"));
  return bot;
}
