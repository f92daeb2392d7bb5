// WhatsApp as the conformance suite drives it: `WhatsAppChannel` running the real Baileys
// socket against the local WhatsApp Web; customers are emulated WhatsApp users who write to
// the store's number (no buttons: choices are typed).
import type { Engine, InboundMedia } from "../../flows/engine/index.ts";
import { createMongoWhatsAppIdentities } from "../../storage/whatsapp/identities.ts";
import { LocalWhatsAppWeb } from "../support/whatsapp-web/index.ts";
import { eventually } from "../support/eventually.ts";
import type { SeededStore } from "../support/stores.ts";
import { newPhone, openChannel, seedLinkedStore } from "../whatsapp/harness.ts";
import type { ChannelFactory, ChannelUnderTest, CustomerUnderTest } from "./channel-suite.ts";

/** The engine, remembering the last file each chat sent (the reference `sendFile` returns). */
export function recordingFiles(engine: Engine, files: Map<string, InboundMedia>): Engine {
  const handle: Engine["handle"] = (inbound, deliver) => {
    if (inbound.message.kind === "media") files.set(inbound.chatId, inbound.message.media);
    return engine.handle(inbound, deliver);
  };
  return Object.assign(Object.create(engine) as Engine, { handle });
}

/** One local WhatsApp Web for the file; each `open` makes its own `WhatsAppChannel`. */
export function whatsappFactory(): ChannelFactory & { stop(): Promise<void> } {
  let web: Promise<LocalWhatsAppWeb> | undefined;
  const phones = new Map<string, string>();
  let customers = 0;
  return {
    name: "whatsapp",
    async open(env): Promise<ChannelUnderTest> {
      const wa = await (web ??= LocalWhatsAppWeb.start());
      const files = new Map<string, InboundMedia>();
      const { channel } = openChannel(wa, recordingFiles(env.engine, files));
      const identities = createMongoWhatsAppIdentities();
      return {
        channel,
        async seedStore(options = {}) {
          const phone = newPhone();
          const store = await seedLinkedStore(wa, phone, options);
          phones.set(store.id, phone);
          return store;
        },
        async customer(store: SeededStore): Promise<CustomerUnderTest> {
          const storePhone = phones.get(store.id);
          if (!storePhone) throw new Error(`store ${store.slug} was not seeded for WhatsApp`);
          await eventually(() => channel.sessions.running(store.id)?.socket !== undefined, `the number of ${store.slug} connected`, { timeoutMs: 60_000 });
          customers += 1;
          const person = wa.customer({ phone: `62857${String(process.pid % 10_000).padStart(4, "0")}${String(customers).padStart(4, "0")}`, pushName: "Sari" });
          // A customer opens the chat by writing to the store; from then the store knows where to answer.
          const before = person.received().length;
          await person.sendText(storePhone, "halo");
          await eventually(() => person.received().length > before, "the store's first answer", { timeoutMs: 60_000 });
          const chatId = await identities.resolve(store.id, { pn: person.jid }, person.jid);
          return {
            address: { tenantId: store.id, channel: "whatsapp", chatId },
            // The turn ends when WhatsApp took the reply; the customer's phone has it a moment later.
            write: async (text) => {
              const before = person.received().length;
              await env.turns.handled(chatId, () => person.sendText(storePhone, text));
              await eventually(() => person.received().length > before, "the answer on the customer's phone");
            },
            press: () => Promise.reject(new Error("WhatsApp shows no buttons")),
            received: () => Promise.resolve(person.received().map((m) => ({ text: m.text ?? m.caption ?? "", buttons: [] }))),
            sendFile: async (bytes) => {
              files.delete(chatId);
              await person.sendDocument(storePhone, bytes, "bukti.pdf", "application/pdf");
              const media = await eventually(() => files.get(chatId), "the file handed to the engine", { timeoutMs: 30_000 });
              return media.fileRef;
            },
          };
        },
        close: async () => void (await channel.stop(1000)),
      };
    },
    async stop() {
      await (await web)?.close();
    },
  };
}
