/**
 * `niaga whatsapp link|status|unlink`: a store's WhatsApp number from the shell.
 *
 * - `link --tenant SLUG [--phone NUMBER]` draws each QR code in the terminal (or prints the
 *   pairing code for NUMBER) and waits until the phone links or the attempt ends: exit 0
 *   linked, 1 with one line saying why not (expired, busy, refused, cancelled by Ctrl-C).
 * - `status [--tenant SLUG]` lists the stores' numbers, their state and which instance owns
 *   each session (its lease).
 * - `unlink --tenant SLUG` logs the device out and wipes the session, asking nothing (for
 *   scripts); the store's audit log records who did it.
 */
import QRCode from "qrcode";
import type { LinkEvent } from "../../adapters/whatsapp/contract.ts";
import { displayPhone, internationalNumber } from "../../flows/tenant-admin/phone-numbers.ts";
import { configureEncryption } from "../../storage/crypto.ts";
import { createMongoLeases } from "../../storage/leases.ts";
import { Tenant } from "../../storage/models/index.ts";
import { openWhatsAppLinking, whatsappSessionLeaseKey, type WhatsAppLinkingHandle } from "../channels.ts";
import { requireEncryptionKey, type Config } from "../config.ts";
import { logger } from "../logger.ts";
import { parseFlags, requireFlag } from "./args.ts";
import type { CliContext } from "./context.ts";
import { UsageError } from "./usage-error.ts";

/** How the CLI gets the channel's linking; tests and `niaga start` share the real one. */
export type OpenLinking = (config: Config) => Promise<WhatsAppLinkingHandle>;

export async function whatsappCommand(argv: string[], ctx: CliContext, open: OpenLinking = defaultOpenLinking): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case "link":
      return link(rest, ctx, open);
    case "status":
      return status(rest, ctx);
    case "unlink":
      return unlink(rest, ctx, open);
    default:
      throw new UsageError(sub ? "cli.unknown_subcommand" : "cli.missing_subcommand", { sub: sub ?? "" }, "cli.usage_whatsapp");
  }
}

const defaultOpenLinking: OpenLinking = (config) => openWhatsAppLinking(config, logger);

interface StoreRow {
  _id: unknown;
  slug: string;
  name: string;
  channels?: { whatsapp?: { status?: string | null; phone?: string | null; statusReason?: string | null; statusAt?: Date | null } | null } | null;
}

async function storeBySlug(slug: string, usage: string): Promise<StoreRow> {
  const row = await Tenant.findOne({ slug }).lean<StoreRow>().exec();
  if (!row) throw new UsageError("cli.unknown_tenant", { slug }, usage);
  return row;
}

/** The sessions are sealed with the data key: every command that opens one needs it. */
function withKey(ctx: CliContext): Config {
  const config = ctx.config();
  configureEncryption(requireEncryptionKey(config), config.encryptionKeysOld);
  return config;
}

async function link(argv: string[], ctx: CliContext, open: OpenLinking): Promise<number> {
  const usage = "cli.usage_whatsapp_link";
  const { values } = parseFlags(argv, { tenant: { type: "string" }, phone: { type: "string" } }, usage);
  const slug = requireFlag(values.tenant, "--tenant", usage);
  let phone: string | undefined;
  if (values.phone !== undefined) {
    const number = internationalNumber(values.phone);
    if ("problem" in number) throw new UsageError(`cli.whatsapp_phone_${number.problem}`, { phone: values.phone }, usage);
    phone = number.digits;
  }
  const config = withKey(ctx);
  return ctx.withDatabase(async () => {
    const store = await storeBySlug(slug, usage);
    const handle = await open(config);
    const abort = new AbortController();
    const cancel = () => abort.abort();
    process.once("SIGINT", cancel);
    try {
      ctx.out(ctx.t(phone ? "cli.whatsapp_link_by_code" : "cli.whatsapp_link_by_qr", { slug, name: store.name }));
      const end = await handle.linking.link(String(store._id), { ...(phone !== undefined && { phone }), signal: abort.signal, onEvent: (event) => void show(event, ctx) });
      if (end.type === "linked") {
        ctx.out(ctx.t("cli.whatsapp_linked", { slug, phone: displayPhone(end.phone) }));
        return 0;
      }
      ctx.err(`niaga: ${ctx.t(`cli.whatsapp_link_${end.reason}`, { slug })}`);
      return 1;
    } finally {
      process.off("SIGINT", cancel);
      await handle.close();
    }
  });
}

function show(event: LinkEvent, ctx: CliContext): void {
  if (event.type === "qr") {
    // Drawn with half-block characters: a phone reads it from a terminal of 80 columns.
    QRCode.toString(event.qr, { type: "terminal", small: true }, (error, drawn) => {
      if (error) return ctx.err(`niaga: ${ctx.t("cli.failed", { reason: error.message })}`);
      ctx.out(`\n${drawn}${ctx.t("cli.whatsapp_qr", { n: event.n })}`);
    });
  } else if (event.type === "pairing-code") {
    ctx.out(ctx.t("cli.whatsapp_pairing_code", { code: event.code }));
  }
}

async function status(argv: string[], ctx: CliContext): Promise<number> {
  const usage = "cli.usage_whatsapp";
  const { values } = parseFlags(argv, { tenant: { type: "string" } }, usage);
  return ctx.withDatabase(async () => {
    const rows = values.tenant !== undefined ? [await storeBySlug(values.tenant.trim(), usage)] : await Tenant.find({}).sort({ slug: 1 }).lean<StoreRow[]>().exec();
    if (rows.length === 0) {
      ctx.out(ctx.t("cli.no_tenants"));
      return 0;
    }
    const keys = rows.map((row) => whatsappSessionLeaseKey(String(row._id)));
    const holders = await createMongoLeases().holders(keys);
    const table = rows.map((row, i) => {
      const wa = row.channels?.whatsapp;
      return [
        row.slug,
        wa?.status ?? "unlinked",
        wa?.phone ? displayPhone(wa.phone) : "-",
        holders.get(keys[i]!) ?? "-",
        wa?.statusAt ? `${wa.statusAt.toISOString().slice(0, 16).replace("T", " ")} UTC` : "-",
        wa?.statusReason ?? "",
      ];
    });
    const header = ["slug", "status", "phone", "session", "since", "reason"];
    const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
    for (const row of [header, ...table]) ctx.out(row.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd());
    return 0;
  });
}

async function unlink(argv: string[], ctx: CliContext, open: OpenLinking): Promise<number> {
  const usage = "cli.usage_whatsapp_unlink";
  const { values } = parseFlags(argv, { tenant: { type: "string" } }, usage);
  const slug = requireFlag(values.tenant, "--tenant", usage);
  const config = withKey(ctx);
  return ctx.withDatabase(async () => {
    const store = await storeBySlug(slug, usage);
    const handle = await open(config);
    try {
      await handle.linking.unlink(String(store._id), `${ctx.actor.channel}:${ctx.actor.userId}`);
    } finally {
      await handle.close();
    }
    ctx.out(ctx.t("cli.whatsapp_unlinked", { slug }));
    return 0;
  });
}

