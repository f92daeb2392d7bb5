import { userInfo } from "node:os";
import { loadConfig, type Config } from "../config.ts";
import { t, type Locale } from "../../locales/i18n.ts";
import { connectMongo, disconnectMongo } from "../../storage/connection.ts";

/** What every CLI command gets: output streams, texts in the operator's language, config, database. */
export interface CliContext {
  out(line: string): void;
  err(line: string): void;
  t(key: string, params?: Record<string, unknown>): string;
  config(): Config;
  /** Runs `fn` with the default mongoose connection open, and closes it after. */
  withDatabase<T>(fn: () => Promise<T>): Promise<T>;
  /** Who is acting, for the audit log. */
  actor: { channel: string; userId: string };
}

export function createCliContext(env: NodeJS.ProcessEnv = process.env): CliContext {
  let config: Config | undefined;
  const locale = (): Locale => (env.DEFAULT_LOCALE === "en" ? "en" : "id");
  const ctx: CliContext = {
    out: (line) => process.stdout.write(line + "\n"),
    err: (line) => process.stderr.write(line + "\n"),
    t: (key, params) => t(locale(), key, params),
    config: () => (config ??= loadConfig(env)),
    async withDatabase(fn) {
      await connectMongo(ctx.config().mongodbUri, { attempts: 3, delayMs: 300 });
      try {
        return await fn();
      } finally {
        await disconnectMongo();
      }
    },
    actor: { channel: "cli", userId: safeUserName() },
  };
  return ctx;
}

function safeUserName(): string {
  try {
    return userInfo().username || "operator";
  } catch {
    return "operator";
  }
}
