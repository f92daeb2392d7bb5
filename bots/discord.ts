/**
 * What the Discord channel needs from the platform's stores but may not import itself
 * (`DiscordServices`, adapters/discord/contract.ts): the codes an autocomplete offers while a
 * person types a command's argument, and the platform bot's invite link for the store owner.
 *
 * ```ts
 * new DiscordChannel({ …, services: discordServices() });
 * await discordServices().autocomplete!({ tenantId, userId, source: "order", query: "12", audience: "customer" });
 * ```
 */
import { PermissionFlagsBits } from "discord.js";
import { Types } from "mongoose";
import type { AutocompleteChoice, DiscordServices } from "../adapters/discord/contract.ts";
import { DISCORD_CHANNEL } from "../adapters/discord/contract.ts";
import { Order } from "../flows/ordering/order.ts";
import { Product } from "../flows/ordering/product.ts";

/** Discord shows at most 25 choices. */
const MAX_CHOICES = 25;

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export function discordServices(): DiscordServices {
  return {
    async autocomplete({ tenantId, userId, source, query, audience }) {
      const typed = escapeRegex(query.trim().slice(0, 40));
      const tenant = new Types.ObjectId(tenantId);
      switch (source) {
        case "product":
          return productCodes(tenant, typed, audience);
        case "order":
          return orderCodes(tenant, typed, audience === "customer" ? userId : undefined);
        case "ticket":
          // Ticket numbers come with the ticketing domain.
          return [];
      }
    },
  };
}

/** Customers see what is on sale; sellers every product, hidden ones too. */
async function productCodes(tenantId: Types.ObjectId, typed: string, audience: "customer" | "seller"): Promise<AutocompleteChoice[]> {
  const rows = await Product.find({ tenantId, code: { $regex: `^${typed.toLowerCase()}` }, ...(audience === "customer" && { status: "active" }) }, { code: 1, name: 1 })
    .sort({ code: 1 }).limit(MAX_CHOICES).lean<{ code: string; name: string }[]>().exec();
  return rows.map((p) => ({ name: `${p.code} — ${p.name}`, value: p.code }));
}

/** A customer sees only their own orders (`customerId`), newest first; sellers all of the store's. */
async function orderCodes(tenantId: Types.ObjectId, typed: string, customerId: string | undefined): Promise<AutocompleteChoice[]> {
  const rows = await Order.find(
    { tenantId, code: { $regex: typed.toUpperCase() }, ...(customerId !== undefined && { "customer.channel": DISCORD_CHANNEL, "customer.channelUserId": customerId }) },
    { code: 1, status: 1 },
  ).sort({ createdAt: -1 }).limit(MAX_CHOICES).lean<{ code: string; status: string }[]>().exec();
  return rows.map((o) => ({ name: `${o.code} — ${o.status}`, value: o.code }));
}

/** What the bot may do in a store's guild: read and write its channels, run ticket threads, send files. */
const BOT_PERMISSIONS =
  PermissionFlagsBits.ViewChannel | PermissionFlagsBits.SendMessages | PermissionFlagsBits.EmbedLinks | PermissionFlagsBits.AttachFiles |
  PermissionFlagsBits.ReadMessageHistory | PermissionFlagsBits.CreatePublicThreads | PermissionFlagsBits.SendMessagesInThreads | PermissionFlagsBits.ManageThreads;

/** The link that invites the platform's bot into a guild, with its slash commands. */
export function discordInviteUrl(applicationId: string): string {
  return `https://discord.com/oauth2/authorize?client_id=${applicationId}&scope=bot+applications.commands&permissions=${BOT_PERMISSIONS}`;
}
