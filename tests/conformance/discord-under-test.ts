// Discord as the conformance suite drives it: `DiscordChannel` running the real discord.js
// client against the local Discord. A customer opens the store with `/toko` in its guild,
// then writes to the bot in their DM and presses buttons on the messages they received there.
import type { InboundMedia } from "../../flows/engine/index.ts";
import { LocalDiscord } from "../support/discord/index.ts";
import type { LocalGuild } from "../support/discord/index.ts";
import { eventually } from "../support/eventually.ts";
import type { SeededStore } from "../support/stores.ts";
import { controlLabelled, openDiscordChannel, seedLinkedStore, shownOf } from "../discord/harness.ts";
import type { ChannelFactory, ChannelUnderTest, CustomerUnderTest } from "./channel-suite.ts";
import { recordingFiles } from "./whatsapp-under-test.ts";

/** One local Discord for the file; each `open` makes its own `DiscordChannel`. */
export function discordFactory(): ChannelFactory & { stop(): Promise<void> } {
  let local: Promise<LocalDiscord> | undefined;
  const guilds = new Map<string, LocalGuild>();
  let customers = 0;
  return {
    name: "discord",
    async open(env): Promise<ChannelUnderTest> {
      const discord = await (local ??= LocalDiscord.start());
      const files = new Map<string, InboundMedia>();
      const channel = openDiscordChannel(discord, recordingFiles(env.engine, files));
      return {
        channel,
        async seedStore(options = {}) {
          const linked = await seedLinkedStore(discord, options);
          guilds.set(linked.store.id, linked.guild);
          return linked.store;
        },
        async customer(store: SeededStore): Promise<CustomerUnderTest> {
          const guild = guilds.get(store.id);
          if (!guild) throw new Error(`store ${store.slug} was not seeded for Discord`);
          customers += 1;
          const person = discord.user({ username: `pembeli-${customers}`, globalName: "Sari", locale: "id" });
          guild.member(person);
          // The customer uses the store in its guild once; from then their DMs go to it.
          await env.turns.handled(person.id, () => discord.command(person, guild.defaultChannel, "toko").waitForAnswer(30_000));
          const chatId = person.id;
          const dms = () => discord.dmsOf(person);
          return {
            address: { tenantId: store.id, channel: "discord", chatId },
            write: async (text) => {
              await env.turns.handled(chatId, async () => discord.write(person, person, text));
            },
            press: async (index, label) => {
              const message = dms()[index];
              if (!message) throw new Error(`the customer has no message ${index}`);
              await env.turns.handled(chatId, () => discord.press(person, message, controlLabelled(message, label)).waitForAck());
            },
            received: () => Promise.resolve(dms().map(shownOf)),
            sendFile: async (bytes) => {
              files.delete(chatId);
              discord.write(person, person, "", { attachments: [{ name: "bukti.pdf", data: bytes, contentType: "application/pdf" }] });
              const media = await eventually(() => files.get(chatId), "the file handed to the engine", { timeoutMs: 30_000 });
              return media.fileRef;
            },
          };
        },
        close: async () => void (await channel.stop(1000)),
      };
    },
    async stop() {
      await (await local)?.close();
    },
  };
}
