/**
 * `niaga chat`: a store's conversations in a terminal, with the engine, the outbox and the
 * store's business built exactly as `niaga start` builds them (`createPlatformEngine`,
 * `platformOutbox`, `createCommerce`), on the console channel. Buying works; the pay link
 * points at the platform's pay pages (`PUBLIC_URL`, else this machine's `HTTP_PORT`),
 * which a running `niaga start` serves; expiry and reminders are that platform's jobs.
 * Without `ENCRYPTION_KEY` the chat can browse but not buy.
 */
import { Channels } from "../flows/engine/index.ts";
import type { FlowBundle } from "../flows/engine/index.ts";
import { platformFlows } from "../flows/platform.ts";
import { connectMongo, disconnectMongo } from "../storage/connection.ts";
import { createCoordination } from "../storage/coordination.ts";
import { configureEncryption } from "../storage/crypto.ts";
import { platformOwners, runChatCommand } from "./channels.ts";
import type { ChatIo, OpenChatEngine } from "./channels.ts";
import { createCommerce } from "./commerce.ts";
import { loadConfig } from "./config.ts";
import { configureLogging, logger } from "./logger.ts";
import { createPlatformEngine, platformOutbox } from "./platform-engine.ts";

export interface ChatCommandOptions {
  /** The flows to talk to instead of the platform's (tests). */
  flows?: FlowBundle;
}

/** Runs `niaga chat ARGV`; returns the exit code (see `runChatCommand`). */
export function chatCommand(argv: string[], options: ChatCommandOptions = {}, io?: ChatIo): Promise<number> {
  return runChatCommand(argv, chatEngine(options), io);
}

function chatEngine(options: ChatCommandOptions): OpenChatEngine {
  return async ({ console, audience, env }) => {
    const config = loadConfig(env);
    // Log lines go to stderr (and LOG_DIR); stdout carries only the conversation.
    configureLogging({ level: config.logLevel, ...(config.logDir !== undefined && { dir: config.logDir }) });
    if (config.encryptionKey) configureEncryption(config.encryptionKey, config.encryptionKeysOld);
    await connectMongo(config.mongodbUri);
    const coordination = createCoordination({ ...(config.redisUrl !== undefined && { redisUrl: config.redisUrl }), log: logger });
    const close = async () => {
      await coordination.close();
      await disconnectMongo();
    };
    try {
      const channels = new Channels([console]);
      const outbox = platformOutbox(channels);
      const flows =
        options.flows ??
        (config.encryptionKey
          ? createCommerce({
              outbox,
              files: channels,
              encryptionKey: config.encryptionKey,
              payPageUrl: () => config.publicUrl ?? `http://127.0.0.1:${config.httpPort}`,
              platformOwners: platformOwners(config),
              onMembershipChanged: (change) => channels.membershipChanged(change),
            }).flows
          : platformFlows);
      const engine = createPlatformEngine({ flows, config, coordination, channels, ...(audience && { audience }) });
      return { engine, close };
    } catch (error) {
      await close();
      throw error;
    }
  };
}
