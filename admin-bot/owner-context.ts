/** The grammY context of the owner bot's updates: with the conversations plugin, for its wizards. */
import type { ConversationFlavor } from "@grammyjs/conversations";
import type { Context } from "grammy";

export type OwnerContext = ConversationFlavor<Context>;
