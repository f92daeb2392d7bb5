// Every channel (Telegram, the console, WhatsApp, Discord) passes the same tests (channel-suite.ts): a purchase delivered through the
// outbox, a blocked customer, a file fetch, a stale button, a long reply split in order, and
// starting, following store changes and stopping.
import { after } from "node:test";
import { channelConformance } from "./channel-suite.ts";
import { consoleFactory } from "./console-under-test.ts";
import { discordFactory } from "./discord-under-test.ts";
import { telegramFactory } from "./telegram-under-test.ts";
import { whatsappFactory } from "./whatsapp-under-test.ts";

const telegram = telegramFactory();
after(() => telegram.stop());

channelConformance(telegram);
channelConformance(consoleFactory());

const whatsapp = whatsappFactory();
after(() => whatsapp.stop());
channelConformance(whatsapp);

const discord = discordFactory();
after(() => discord.stop());
channelConformance(discord);
