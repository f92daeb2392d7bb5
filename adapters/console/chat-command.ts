// `niaga chat --tenant SLUG [--user ID] [--name NAME] [--as customer|seller] [--locale id|en]`:
// a store's conversations in a terminal, or scripted through a pipe.
import { userInfo } from "node:os";
import { parseArgs } from "node:util";
import { loadConfig, type Config } from "../../bots/config.ts";
import { configureLogging, logger, tenantLogger } from "../../bots/logger.ts";
import { memberAudience } from "../../flows/engine/audience.ts";
import { createEngine, FlowValidationError, type Engine } from "../../flows/engine/engine.ts";
import type { FlowBundle } from "../../flows/engine/flow-bundle.ts";
import type { Audience, Locale } from "../../flows/engine/message.ts";
import { MongoSessionStore } from "../../flows/engine/mongo-session-store.ts";
import { MongoStoreFlows, StoreFlow } from "../../flows/engine/store-flows.ts";
import { initI18n, resolveLocale, t } from "../../locales/i18n.ts";
import { connectMongo, disconnectMongo } from "../../storage/connection.ts";
import { createCoordination } from "../../storage/coordination.ts";
import { configureEncryption } from "../../storage/crypto.ts";
import { Tenant } from "../../storage/models/index.ts";
import { runConsoleChat } from "./console-chat.ts";
import { ConsoleOutbox } from "./console-outbox.ts";

export interface ChatIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

const processIo = (): ChatIo => ({ stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env });

/** What a chat offers the flows' services before they are built: where its messages print. */
export interface ChatServices {
  config: Config;
  /** The console channel's sender for this chat (register it with `CustomerMessages`). */
  outbox: ConsoleOutbox;
}

/**
 * The `niaga chat` command. `flows` are the platform's flows: the composition root
 * (the CLI, the demo) passes them, or builds them from the chat's services, since an
 * adapter never imports a flow.
 *
 * Returns the exit code: 0 at the end of input, 2 for bad flags or an unknown store
 * (one line saying which), 1 when the flows fail their start-up validation.
 * Configuration and database errors are thrown for the CLI to report.
 */
export async function runChatCommand(argv: string[], flows: FlowBundle | ((services: ChatServices) => FlowBundle), io: ChatIo = processIo()): Promise<number> {
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

  const config = loadConfig(io.env);

  // Log lines go to stderr (and LOG_DIR); stdout carries only the conversation.
  configureLogging({ level: config.logLevel, ...(config.logDir !== undefined && { dir: config.logDir }) });
  if (config.encryptionKey) configureEncryption(config.encryptionKey, config.encryptionKeysOld);
  await connectMongo(config.mongodbUri);
  const outbox = new ConsoleOutbox();
  try {
    return await openStoreChat({
      slug: values.tenant,
      userId: (values.user as string | undefined) ?? "console",
      userName: (values.name as string | undefined) ?? userInfo().username,
      ...(values.as !== undefined && { audience: values.as as Audience }),
      ...(values.locale !== undefined && { locale: values.locale as Locale }),
      flows: typeof flows === "function" ? flows({ config, outbox }) : flows,
      outbox,
      io,
      redisUrl: config.redisUrl,
    });
  } finally {
    await disconnectMongo();
  }
}

export interface StoreChatOptions {
  slug: string;
  userId: string;
  userName?: string;
  /** Forces the audience; by default a member of the store (on the console channel) is a seller. */
  audience?: Audience;
  /** The user's language; the store's by default. */
  locale?: Locale;
  flows: FlowBundle;
  /** Prints what the store sends this chat outside its turns (the goods after a payment). */
  outbox?: ConsoleOutbox;
  io: ChatIo;
  redisUrl?: string;
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
  const coordination = createCoordination({ ...(opts.redisUrl !== undefined && { redisUrl: opts.redisUrl }), log: logger });
  try {
    let engine: Engine;
    const tenantRef = { id: tenant._id.toString(), slug: tenant.slug, name: tenant.name };
    try {
      engine = createEngine({
        ...opts.flows,
        sessions: new MongoSessionStore(),
        lock: coordination.lock,
        audienceOf: opts.audience ? () => opts.audience! : memberAudience(),
        storeFlows: new MongoStoreFlows(),
        logFor: tenantLogger,
      });
      await engine.loadStoreFlows(tenantRef);
    } catch (err) {
      if (!(err instanceof FlowValidationError)) throw err;
      io.stderr.write(`niaga chat: ${err.message}\n`);
      return 1;
    }
    const detach = opts.outbox?.attach({ tenantId: tenantRef.id, chatId: opts.userId, locale, output: io.stdout });
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
  } finally {
    await coordination.close();
  }
}
