import { Schema, model, type HydratedDocument, type InferSchemaType } from "mongoose";
import { decryptSecret, encryptSecret } from "../crypto.ts";
import { registerSecretFields } from "../secret-fields.ts";
import { stampChanges } from "./change-stamp.ts";

/** A store. `slug` names it in commands; `name` is its `bot_store_name`, shown to customers and in alerts. */
export const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]{1,30}[a-z0-9])$/;
export const FEATURES = ["ordering", "ticketing", "broadcast", "admin"] as const;
export const CHANNELS = ["telegram", "discord", "whatsapp", "console"] as const;
export type Channel = (typeof CHANNELS)[number];

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** What the platform owner may set as a store's own broadcast limits (`limits.broadcast`); 0 allows none. */
export const BROADCAST_LIMIT_RANGE = { perDay: { max: 100 }, maxRecipients: { max: 1_000_000 } } as const;

const tenantSchema = new Schema(
  {
    slug: { type: String, required: true, unique: true, match: SLUG_PATTERN, immutable: true },
    name: { type: String, required: true, trim: true, minlength: 1, maxlength: 64 },
    status: { type: String, enum: ["active", "suspended"], default: "active", index: true },
    locale: { type: String, enum: ["id", "en"], default: "id" },
    timezone: { type: String, default: "Asia/Jakarta", validate: { validator: isTimeZone, message: "unknown time zone" } },
    currency: { type: String, default: "IDR", match: /^[A-Z]{3}$/ },
    features: { type: [String], enum: FEATURES, default: () => ["ordering", "admin"] },
    channels: {
      // Secret fields hold ciphertexts from storage/crypto.ts, never plain text.
      telegram: {
        token: { type: String },
        mode: { type: String, enum: ["polling", "webhook"], default: "polling" },
        webhookSecret: { type: String },
        botUsername: { type: String },
        // Set when Telegram answered 401 for the token: the bot stays stopped until re-tokened.
        revokedAt: { type: Date },
        // What Telegram already has for the token whose digest is `token`, so a start skips the
        // calls that would not change it (adapters/telegram/telegram-memory.ts). Digests only, no secret.
        known: {
          token: { type: String },
          // getMe's answer, as JSON: grammY's botInfo.
          botInfo: { type: String },
          // The webhook set (url, secret, allowed updates), the customer menus, the members' menus.
          webhook: { type: String },
          commands: { type: String },
          memberMenus: { type: String },
        },
      },
      // adapters/discord/contract.ts DiscordStoreLink: the store's guild, once linked.
      discord: {
        guildId: { type: String },
        // Members holding this role count as the store's staff.
        staffRoleId: { type: String },
        // Where tickets' threads and sellers' alerts go.
        staffChannelId: { type: String },
        linkedAt: { type: Date },
        // "<channel>:<userId>" of who linked it, or "cli".
        linkedBy: { type: String, maxlength: 128 },
      },
      whatsapp: {
        // The linked number, digits only (628…), and the device's addresses once linked.
        phone: { type: String },
        jid: { type: String },
        lid: { type: String },
        // Unused: the session's credentials and keys live in whatsapp_auth (storage/whatsapp), sealed per record.
        credentials: { type: String },
        // adapters/whatsapp/contract.ts WhatsAppLinkStatus; absent means never linked.
        status: { type: String, enum: ["unlinked", "linked", "logged-out", "restricted"] },
        // Why the status last changed (a disconnect code, "unlinked by owner", …), and when.
        statusReason: { type: String, maxlength: 200 },
        statusAt: { type: Date },
        // When the number was linked: new numbers are paced slower for a while.
        linkedAt: { type: Date },
      },
    },
    suspendedReason: { type: String, maxlength: 200 },
    // What the platform owner allows the store; unset means the platform's defaults (flows/broadcast/contract.ts DEFAULT_BROADCAST_LIMITS).
    limits: {
      broadcast: {
        perDay: { type: Number, min: 0, max: BROADCAST_LIMIT_RANGE.perDay.max },
        maxRecipients: { type: Number, min: 0, max: BROADCAST_LIMIT_RANGE.maxRecipients.max },
      },
    },
    settings: {
      // What the seller sets for their checkout (`/pengaturan` edits these).
      ordering: {
        paymentMethods: { type: [String], enum: ["manual", "simulator"], default: () => ["manual"] },
        paymentTimeoutMinutes: { type: Number, min: 5, max: 1440, default: 60 },
        paymentInstructions: { type: String, maxlength: 2000, default: "" },
        snkText: { type: String, maxlength: 4000, default: "" },
        snkWindowHours: { type: Number, min: 1, max: 720, default: 24 },
        proofRetentionDays: { type: Number, min: 1, max: 365, default: 30 },
        maxQuantityPerOrder: { type: Number, min: 1, max: 1000, default: 10 },
      },
      // Ticketing (flows/ticketing): SLA targets in minutes per priority; unset means the defaults (DEFAULT_SLA).
      tickets: {
        sla: {
          normal: { firstResponseMinutes: { type: Number, min: 1, max: 43200 }, resolutionMinutes: { type: Number, min: 1, max: 43200 } },
          high: { firstResponseMinutes: { type: Number, min: 1, max: 43200 }, resolutionMinutes: { type: Number, min: 1, max: 43200 } },
          critical: { firstResponseMinutes: { type: Number, min: 1, max: 43200 }, resolutionMinutes: { type: Number, min: 1, max: 43200 } },
        },
      },
    },
  },
  { timestamps: true },
);

// `changedAt` on every write not marked QUIET: what `storage/store-changes.ts` asks about.
tenantSchema.plugin(stampChanges);

// One store per guild: a second store cannot claim a guild already linked.
tenantSchema.index({ "channels.discord.guildId": 1 }, { unique: true, partialFilterExpression: { "channels.discord.guildId": { $type: "string" } } });

export type TenantFields = InferSchemaType<typeof tenantSchema>;
export type TenantDoc = HydratedDocument<TenantFields>;
export const Tenant = model("Tenant", tenantSchema);

export const TENANT_SECRET_PATHS = [
  "channels.telegram.token",
  "channels.telegram.webhookSecret",
  "channels.whatsapp.credentials",
] as const;
export type TenantSecretPath = (typeof TENANT_SECRET_PATHS)[number];

/** Binds each secret to its tenant and field, so a ciphertext copied elsewhere does not open. */
export function tenantSecretContext(tenantId: unknown, path: string): string {
  return `tenant:${String(tenantId)}:${path}`;
}

export function sealTenantSecret(tenant: { _id: unknown }, path: TenantSecretPath, plain: string): string {
  return encryptSecret(plain, tenantSecretContext(tenant._id, path));
}

export function openTenantSecret(tenant: { _id: unknown; channels?: TenantFields["channels"] }, path: TenantSecretPath): string | undefined {
  const sealed = path.split(".").reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], tenant);
  return typeof sealed === "string" && sealed ? decryptSecret(sealed, tenantSecretContext(tenant._id, path)) : undefined;
}

registerSecretFields({
  model: Tenant,
  paths: [...TENANT_SECRET_PATHS],
  context: (doc, path) => tenantSecretContext(doc._id, path),
});
