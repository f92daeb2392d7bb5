// `niaga chat --tenant SLUG [--user ID] [--name NAME] [--as customer|seller] [--locale id|en]`:
// a store's conversations in a terminal, or scripted through a pipe. The composition root
// builds the engine (the same way `niaga start` does) through `openEngine`; this file reads
// the flags, opens the store's chat on the console channel and runs it.
import { userInfo } from "node:os";
import { parseArgs } from "node:util";
import { FlowValidationError, MongoSessionStore, StoreFlow } from "../../flows/engine/index.ts";
import type { Audience, Engine, Locale } from "../../flows/engine/index.ts";
import { initI18n, resolveLocale, t } from "../../locales/i18n.ts";
import { Tenant } from "../../storage/models/index.ts";
import { runConsoleChat } from "./console-chat.ts";
import { ConsoleChannel } from "./console-channel.ts";

export interface ChatIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

const processIo = (): ChatIo => ({ stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env });

/** The engine a chat talks to, and how to let go of what it holds (the database, locks). */
export interface ChatSession {
  engine: Engine;
  close(): Promise<void>;
}

/**
 * Builds the chat's engine, given the console channel its messages outside a turn go to,
 * the audience forced by `--as`, and the environment (its configuration). Throws a
 * `FlowValidationError` when the flows fail their start-up validation; configuration and
 * database errors are thrown for the CLI to report.
 */
export type OpenChatEngine = (chat: { console: ConsoleChannel; audience?: Audience; env: NodeJS.ProcessEnv }) => Promise<ChatSession>;

/**
 * The `niaga chat` command. Returns the exit code: 0 at the end of input, 2 for bad flags
 * or an unknown store (one line saying which), 1 when the flows fail their start-up
 * validation. Configuration and database errors are thrown for the CLI to report.
 */
export async function runChatCommand(argv: string[], openEngine: OpenChatEngine, io: ChatIo = processIo()): Promise<number> {
  await initI18n();
  // Flags first: the usage must show even when the environment is not configured yet.
  const cliLocale = resolveLocale(io.env.DEFAULT_LOCALE);
  const usage = (reason: string) => {
    io.stderr.write(`niaga chat: ${reason}\n${t(cliLocale, "console.usage")}\n`);
    return 2;
  };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        tenant: { type: "string" },
        user: { type: "string" },
        name: { type: "string" },
        as: { type: "string" },
        locale: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    return usage((err as Error).message.split("\n")[0]);
  }
  if (values.help) {
    io.stdout.write(`${t(cliLocale, "console.usage")}\n`);
    return 0;
  }
  if (typeof values.tenant !== "string" || values.tenant === "") return usage(t(cliLocale, "console.tenant_required"));
  if (values.as !== undefined && values.as !== "customer" && values.as !== "seller") return usage(t(cliLocale, "console.bad_audience", { value: values.as }));
  if (values.locale !== undefined && values.locale !== "id" && values.locale !== "en") return usage(t(cliLocale, "console.bad_locale", { value: values.locale }));
  if (values.user !== undefined && !/^[A-Za-z0-9_.:@-]{1,64}$/.test(String(values.user))) return usage(t(cliLocale, "console.bad_user", { value: values.user }));

  const consoleChannel = new ConsoleChannel();
  let session: ChatSession;
  try {
    session = await openEngine({ console: consoleChannel, env: io.env, ...(values.as !== undefined && { audience: values.as as Audience }) });
  } catch (err) {
    if (!(err instanceof FlowValidationError)) throw err;
    io.stderr.write(`niaga chat: ${err.message}\n`);
    return 1;
  }
  try {
    return await openStoreChat({
      slug: values.tenant,
      userId: (values.user as string | undefined) ?? "console",
      userName: (values.name as string | undefined) ?? userInfo().username,
      ...(values.locale !== undefined && { locale: values.locale as Locale }),
      engine: session.engine,
      console: consoleChannel,
      io,
    });
  } finally {
    await session.close();
  }
}

export interface StoreChatOptions {
  slug: string;
  userId: string;
  userName?: string;
  /** The user's language; the store's by default. */
  locale?: Locale;
  engine: Engine;
  /** Prints what the store sends this chat outside its turns (the goods after a payment). */
  console?: ConsoleChannel;
  io: ChatIo;
}

/** Opens a console chat with a store on the connected database; returns the exit code. */
export async function openStoreChat(opts: StoreChatOptions): Promise<number> {
  const { io } = opts;
  const fallbackLocale = opts.locale ?? resolveLocale(io.env.DEFAULT_LOCALE);
  const tenant = await Tenant.findOne({ slug: opts.slug }).lean().exec();
  if (!tenant) {
    io.stderr.write(`niaga chat: ${t(fallbackLocale, "console.unknown_store", { slug: opts.slug })}\n`);
    return 2;
  }
  if (tenant.status === "suspended") {
    io.stderr.write(`niaga chat: ${t(fallbackLocale, "console.suspended_store", { slug: opts.slug })}\n`);
    return 2;
  }
  const locale = opts.locale ?? resolveLocale(tenant.locale);
  await Promise.all([MongoSessionStore.ensureIndexes(), StoreFlow.createIndexes()]);
  const tenantRef = { id: tenant._id.toString(), slug: tenant.slug, name: tenant.name };
  const { engine } = opts;
  try {
    await engine.loadStoreFlows(tenantRef);
  } catch (err) {
    if (!(err instanceof FlowValidationError)) throw err;
    io.stderr.write(`niaga chat: ${err.message}\n`);
    return 1;
  }
  const detach = opts.console?.attach({ tenantId: tenantRef.id, chatId: opts.userId, locale, output: io.stdout });
  try {
    await runConsoleChat({
      engine,
      tenant: tenantRef,
      user: { id: opts.userId, ...(opts.userName !== undefined && { name: opts.userName }) },
      locale,
      input: io.stdin,
      output: io.stdout,
      interactive: io.stdin.isTTY === true && io.stdout.isTTY === true,
    });
  } finally {
    detach?.();
  }
  return 0;
}
