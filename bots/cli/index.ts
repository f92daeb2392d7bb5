import { ConfigError } from "../config.ts";
import { initI18n } from "../../locales/i18n.ts";
import { DatabaseUnreachableError } from "../../storage/connection.ts";
import { EncryptionKeyError, DecryptionError } from "../../storage/crypto.ts";
import { createCliContext, type CliContext } from "./context.ts";
import { memberCommand } from "./member.ts";
import { migrateCommand, rotateKeyCommand } from "./maintenance.ts";
import { tenantCommand } from "./tenant.ts";
import { UsageError } from "./usage-error.ts";

type Command = (argv: string[], ctx: CliContext) => Promise<number>;

const commands: Record<string, Command> = {
  tenant: tenantCommand,
  member: memberCommand,
  migrate: migrateCommand,
  "rotate-key": rotateKeyCommand,
  // Loaded when used: Baileys and the S3 SDK take a second to load, which every other command would pay.
  backup: async (argv, ctx) => (await import("./backup.ts")).backupCommand(argv, ctx),
  whatsapp: async (argv, ctx) => (await import("./whatsapp.ts")).whatsappCommand(argv, ctx),
  db: async (argv) => (await import("../../storage/embedded/cli.ts")).runEmbeddedServerCli(argv),
  start: async (argv, ctx) => (await import("../start.ts")).startCommand(argv, ctx),
  chat: async (argv) => (await import("../chat.ts")).chatCommand(argv),
};

/**
 * `niaga <command> …`. Returns the exit code: 0 done, 2 bad input or configuration
 * (with one line saying what and the usage), 1 anything else.
 */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  await initI18n();
  const ctx = createCliContext(env);
  const [name, ...rest] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    (name ? ctx.out : ctx.err)(ctx.t("cli.usage"));
    return name ? 0 : 2;
  }
  const command = commands[name];
  try {
    if (!command) throw new UsageError("cli.unknown_command", { command: name }, "cli.usage");
    return await command(rest, ctx);
  } catch (err) {
    if (err instanceof UsageError) {
      ctx.err(`niaga: ${ctx.t(err.key, err.params)}`);
      if (err.usageKey) ctx.err(ctx.t(err.usageKey));
      return 2;
    }
    if (err instanceof ConfigError || err instanceof EncryptionKeyError) {
      ctx.err(`niaga: ${ctx.t("cli.invalid_configuration", { reason: err.message })}`);
      return 2;
    }
    if (err instanceof DatabaseUnreachableError || err instanceof DecryptionError) {
      ctx.err(`niaga: ${err.message}`);
      return 1;
    }
    ctx.err(`niaga: ${ctx.t("cli.failed", { reason: (err as Error).message.split("\n")[0] })}`);
    return 1;
  }
}
