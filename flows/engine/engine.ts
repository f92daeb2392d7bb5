// The conversation engine: takes an `Inbound`, runs one turn of the chat's conversation
// against its saved session, saves it with an optimistic version check, and returns the
// `Outbound` messages to send. Every channel feeds it; it never names one.
import type { ChatLock } from "../../storage/locks.ts";
import { declaredAction, type ActionRegistry, type DeclaredAction, type EngineLog, type GuardRegistry, type ValidatorRegistry } from "./actions.ts";
import { newErrorId } from "./error-id.ts";
import { ChatQueue } from "./chat-queue.ts";
import type { FlowSpec } from "./flow-schema.ts";
import { FlowSet } from "./flow-set.ts";
import { compileFlows, FlowValidationError, type FlowCheckContext } from "./flow-validation.ts";
import { chatKeyOf, chatKeyString, type Audience, type Inbound, type Outbound } from "./message.ts";
import { DependencyOutage, HeldTurns, OUTAGE_NOTICE, OUTAGE_RESEND, OUTAGE_TOO_OLD, type Deliver, type OutageWatch } from "./outage.ts";
import type { SessionStore, StoredSession } from "./session.ts";
import { i18nTexts, type TextCatalog } from "./texts.ts";
import { SessionCache } from "./session-cache.ts";
import { StaleSession, Turn } from "./turn.ts";
import type { ChannelCapabilities } from "./channel.ts";

/** Where a store's own JSON flows come from (see `MongoStoreFlows`). */
export interface StoreFlowSource {
  flowsOf(tenantId: string): Promise<unknown[]>;
}

export interface EngineOptions {
  /** The platform's flows (`defineFlow` results or parsed JSON); validated here, all at once. */
  flows: readonly (FlowSpec<any, any> | unknown)[];
  actions?: ActionRegistry;
  /** Guards flows name in `guard` (see `Guard`). */
  guards?: GuardRegistry;
  validators?: ValidatorRegistry;
  sessions: SessionStore;
  /** Whether the writer is a customer or a seller of the store (see `memberAudience`). */
  audienceOf: (inbound: Inbound) => Audience | Promise<Audience>;
  /** The i18n catalogue; `locales/` through i18next by default. */
  texts?: TextCatalog;
  /** Cross-process chat lock; without it chats are serialized within this process only. */
  lock?: ChatLock;
  storeFlows?: StoreFlowSource;
  /**
   * How many chats' last written sessions this process remembers, to skip a read per turn
   * (0 turns it off). Safe with several processes: see `SessionCache`.
   */
  sessionCacheSize?: number;
  /** How long a store's loaded JSON flows are trusted before they are read again. */
  storeFlowsTtlMs?: number;
  /** The logger for one store's lines; every line it writes carries the store's slug. */
  logFor?: (tenantSlug: string) => EngineLog;
  /**
   * The systems turns need (the database). While one does not answer, a message is not tried:
   * the customer hears at once that it is held, and it is handled once the system is back.
   */
  outages?: OutageWatch;
  /**
   * What each channel can show (`Channels#get(name)?.capabilities`), for actions that call
   * `ctx.requireCapability`. A channel it does not know is taken to have every capability.
   */
  capabilitiesOf?: (channel: string) => ChannelCapabilities | undefined;
  /**
   * Hears every failure a user was given an error id for (a turn, an action, a guard or a
   * validator that threw), after it is logged: the platform tells its owner. Not called for
   * what a channel cannot show (`NotSupportedOnChannel`), nor for an outage.
   */
  onFailure?: (failure: EngineFailure) => void;
  /** How long a held message stays worth handling; an older one is answered with a request to send it again. Default 10 min. */
  maxHoldMs?: number;
  /**
   * Checked at the start of each turn, once the writer's audience is known: replies it
   * returns are the answer, and the turn does not run (the session is left as it was).
   * Maintenance mode uses it to answer customers while sellers keep working.
   */
  pause?: (inbound: Inbound, audience: Audience) => Promise<Outbound[] | undefined>;
  clock?: () => Date;
}

/** A failure the user got an apology for, with the error id the log line and the apology carry. */
export interface EngineFailure {
  tenant: Inbound["tenant"];
  errorId: string;
  /** What failed: "turn", "action pay", "guard isSeller", … */
  what: string;
  error: unknown;
}

export interface Engine {
  /**
   * Handles one message and returns the replies, in order. Messages of one chat are handled
   * strictly one after another; `deliver`, when given, runs inside that turn, so replies
   * to consecutive messages reach the user in order too. Never rejects for a problem in a
   * flow or the store: the user gets an apology with an error id instead.
   */
  handle(inbound: Inbound, deliver?: (replies: Outbound[]) => Promise<void>): Promise<Outbound[]>;
  /**
   * Reads and validates one store's JSON flows now (at start-up, or after the store saved
   * one). Throws `FlowValidationError` naming the store, flow and step of each problem.
   */
  loadStoreFlows(tenant: { id: string; slug: string }): Promise<void>;
  /** Validates a store's flow definitions against the platform's flows without loading them. */
  checkStoreFlows(tenantSlug: string, definitions: unknown[]): void;
  readonly platformFlows: FlowSet;
  /** Messages held for a dependency that does not answer. */
  readonly heldTurns: number;
  /** On shutdown: every held message's sender is asked to send it again (this process will not handle it). */
  releaseHeld(): Promise<void>;
}

/** A stale remembered session, then a race with another process: the third try reads fresh state twice over. */
const MAX_TURN_ATTEMPTS = 3;
const LOCK_LEASE_MS = 30_000;
const LOCK_WAIT_MS = 15_000;
const silentLog: EngineLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * Creates an engine. Validates every flow first and throws `FlowValidationError` listing
 * each problem with its flow and step: an unknown step, an unreachable step, a missing
 * action, guard or validator, an outcome routed but never returned (or returned but not
 * routed), a missing i18n key.
 *
 * ```ts
 * const engine = createEngine({
 *   flows: [greeting, catalog], actions: catalogActions,
 *   sessions: new MongoSessionStore(), lock: coordination.lock,
 *   audienceOf: memberAudience, logFor: tenantLogger,
 * });
 * const replies = await engine.handle(inbound);
 * ```
 */
export function createEngine(options: EngineOptions): Engine {
  const actions = new Map<string, DeclaredAction>(Object.entries(options.actions ?? {}).map(([name, definition]) => [name, declaredAction(definition)]));
  const guards = options.guards ?? {};
  const validators = options.validators ?? {};
  const texts = options.texts ?? i18nTexts;
  const checkContext: FlowCheckContext = {
    action: (name) => actions.get(name),
    hasGuard: (name) => Object.hasOwn(guards, name),
    hasValidator: (name) => Object.hasOwn(validators, name),
    texts,
  };
  const platformFlows = new FlowSet(compileFlows(options.flows, checkContext));
  const queue = new ChatQueue();
  const cache = new SessionCache(options.sessionCacheSize ?? 10_000);
  const logFor = options.logFor ?? (() => silentLog);
  const clock = options.clock ?? (() => new Date());
  const storeFlowsTtlMs = options.storeFlowsTtlMs ?? 60_000;
  const storeFlowSets = new Map<string, { flows: FlowSet; loadedAt: number }>();
  const outages = options.outages;
  const held = new HeldTurns();
  const maxHoldMs = options.maxHoldMs ?? 10 * 60_000;
  const capabilitiesOf = options.capabilitiesOf ?? (() => undefined);
  const onFailure = (failure: EngineFailure) => {
    try {
      options.onFailure?.(failure);
    } catch {
      // Telling someone about a failure must not become a second one.
    }
  };
  const isOutage = (err: unknown) => err instanceof DependencyOutage || (outages !== undefined && (outages.isOutageError(err) || outages.down().length > 0));

  function compileStoreFlows(tenantSlug: string, definitions: unknown[]): FlowSet {
    return platformFlows.with(compileFlows(definitions, { ...checkContext, knownFlows: platformFlows.byId, tenant: tenantSlug }));
  }

  async function flowsFor(inbound: Inbound): Promise<FlowSet> {
    if (!options.storeFlows) return platformFlows;
    const cached = storeFlowSets.get(inbound.tenant.id);
    if (cached && Date.now() - cached.loadedAt < storeFlowsTtlMs) return cached.flows;
    let flows = platformFlows;
    try {
      flows = compileStoreFlows(inbound.tenant.slug, await options.storeFlows.flowsOf(inbound.tenant.id));
    } catch (err) {
      // One store's broken FAQ must not take its whole bot down: run the platform's flows.
      logFor(inbound.tenant.slug).error("store flows could not be loaded; running the platform's flows only", {
        tenant: inbound.tenant.slug,
        error: (err as Error).message,
      });
    }
    storeFlowSets.set(inbound.tenant.id, { flows, loadedAt: Date.now() });
    return flows;
  }

  async function runTurn(inbound: Inbound, log: EngineLog): Promise<Outbound[]> {
    try {
      return await runTurnOnce(inbound, log);
    } catch (err) {
      // A failed write may or may not have reached the database: remember nothing.
      cache.forget(chatKeyOf(inbound));
      throw err;
    }
  }

  async function runTurnOnce(inbound: Inbound, log: EngineLog): Promise<Outbound[]> {
    const key = chatKeyOf(inbound);
    const [audience, flows] = await Promise.all([options.audienceOf(inbound), flowsFor(inbound)]);
    const paused = await options.pause?.(inbound, audience);
    if (paused) return paused;
    // A session read while confirming a remembered one, handed to the next attempt.
    let freshlyRead: StoredSession | null | undefined;
    for (let attempt = 1; attempt <= MAX_TURN_ATTEMPTS; attempt++) {
      const cached = freshlyRead === undefined ? cache.get(key) : undefined;
      const stored = freshlyRead !== undefined ? freshlyRead : cached !== undefined ? cached : await options.sessions.load(key);
      freshlyRead = undefined;
      let confirmed = cached === undefined;
      const confirm = async () => {
        if (confirmed) return;
        confirmed = true;
        const fresh = await options.sessions.load(key);
        if ((fresh?.version ?? 0) !== (stored?.version ?? 0)) {
          freshlyRead = fresh;
          throw new StaleSession();
        }
      };
      const now = clock();
      const turn = new Turn(inbound, audience, stored, { flows, actions, guards, validators, texts, log, now, beforeSideEffect: confirm, isOutage, capabilitiesOf, onFailure });
      try {
        await turn.run();
        const idleBefore = !stored?.conversation;
        if (idleBefore && !turn.conversation) {
          // Nothing to write, so no version check vouches for the state the reply came from.
          await confirm();
          return turn.replies;
        }
      } catch (err) {
        if (err instanceof StaleSession) continue;
        throw err;
      }
      const expiresAt = new Date(now.getTime() + (turn.flow?.idleTimeoutMs ?? 0));
      if (await options.sessions.save(key, stored, turn.write(), expiresAt)) {
        cache.set(key, { version: (stored?.version ?? 0) + 1, conversation: turn.committed(), expiresAt });
        return turn.replies;
      }
      cache.forget(key);
      // Another process wrote this chat after the state this turn ran on (its lock lease
      // ran out, it has none, or this process remembered an older version). A turn without
      // side effects simply runs again on the stored state; one whose action already ran
      // must not run twice, so the user is asked to send the message again.
      if (confirmed) {
        log.warn("session changed by another process during a turn", {
          tenant: inbound.tenant.slug,
          flow: stored?.conversation?.flowId ?? turn.conversation?.flowId,
          attempt,
          retried: !turn.hadSideEffects,
        });
      }
      if (turn.hadSideEffects) break;
    }
    return [{ text: { key: "engine.busy" } }];
  }

  function apologise(inbound: Inbound, err: unknown, what: string): Outbound[] {
    const errorId = newErrorId();
    logFor(inbound.tenant.slug).error(`${what} failed`, {
      tenant: inbound.tenant.slug,
      channel: inbound.channel,
      errorId,
      error: err instanceof Error ? err.message : String(err),
      ...(err instanceof Error && err.stack !== undefined && { stack: err.stack }),
    });
    onFailure({ tenant: inbound.tenant, errorId, what, error: err });
    return [{ text: { key: "engine.failed", params: { errorId } } }];
  }

  async function handleNow(inbound: Inbound): Promise<Outbound[]> {
    const log = logFor(inbound.tenant.slug);
    if (!options.lock) {
      try {
        return await runTurn(inbound, log);
      } catch (err) {
        if (isOutage(err)) throw new DependencyOutage(err);
        return apologise(inbound, err, "turn");
      }
    }
    let entered = false;
    try {
      return await options.lock.withLock(
        chatKeyString(chatKeyOf(inbound)),
        () => {
          entered = true;
          return runTurn(inbound, log);
        },
        { leaseMs: LOCK_LEASE_MS, waitMs: LOCK_WAIT_MS },
      );
    } catch (err) {
      if (entered && isOutage(err)) throw new DependencyOutage(err);
      if (entered) return apologise(inbound, err, "turn");
      log.warn("chat lock not acquired; asked the user to resend", { tenant: inbound.tenant.slug, error: (err as Error).message });
      return [{ text: { key: "engine.busy" } }];
    }
  }

  /** One message's turn, or its place among the held ones while a dependency is away. */
  async function converse(inbound: Inbound, deliver: Deliver | undefined, chat: string, heldAt: number, told: boolean): Promise<Outbound[]> {
    if (outages && outages.down().length > 0) return hold(inbound, deliver, chat, heldAt, told);
    // The database can stop answering while this turn waits on it: the customer hears so at
    // once, and the turn goes on — its replies follow if it gets through, else it is held.
    let notice: Promise<void> | undefined;
    const stopWatching = outages?.onChange((_name, up) => {
      if (up || notice || told) return;
      notice = deliver ? deliver([OUTAGE_NOTICE]).catch(() => undefined) : Promise.resolve();
    });
    let replies: Outbound[] | undefined;
    try {
      replies = await handleNow(inbound);
    } catch (err) {
      if (!(err instanceof DependencyOutage)) throw err;
    } finally {
      stopWatching?.();
    }
    await notice;
    if (!replies) return hold(inbound, deliver, chat, heldAt, told || notice !== undefined);
    if (deliver) await deliver(replies);
    return replies;
  }

  async function hold(inbound: Inbound, deliver: Deliver | undefined, chat: string, heldAt: number, told: boolean): Promise<Outbound[]> {
    // A customer typing on into the outage is told once, not at every message.
    const alreadyTold = told || held.inChat(chat) > 0;
    const kept = held.hold(chat, { inbound, deliver, heldAt });
    if (kept && alreadyTold) return [];
    const reply = kept ? OUTAGE_NOTICE : OUTAGE_RESEND;
    if (deliver) await deliver([reply]);
    return [reply];
  }

  function replayHeld(): void {
    for (const turn of held.takeAll()) {
      const chat = chatKeyString(chatKeyOf(turn.inbound));
      void queue
        .run(chat, async () => {
          if (Date.now() - turn.heldAt > maxHoldMs) return turn.deliver?.([OUTAGE_TOO_OLD]);
          await converse(turn.inbound, turn.deliver, chat, turn.heldAt, true);
        })
        .catch((err: unknown) => logFor(turn.inbound.tenant.slug).error("a held message could not be handled", { tenant: turn.inbound.tenant.slug, error: (err as Error).message }));
    }
  }
  outages?.onChange((_name, up) => {
    if (up && outages.down().length === 0) replayHeld();
  });

  return {
    platformFlows,
    handle(inbound, deliver) {
      const chat = chatKeyString(chatKeyOf(inbound));
      return queue.run(chat, () => converse(inbound, deliver, chat, Date.now(), false));
    },
    get heldTurns() {
      return held.size;
    },
    async releaseHeld() {
      await Promise.all(held.takeAll().map((turn) => turn.deliver?.([OUTAGE_RESEND]).catch(() => undefined)));
    },
    async loadStoreFlows(tenant) {
      if (!options.storeFlows) return;
      const flows = compileStoreFlows(tenant.slug, await options.storeFlows.flowsOf(tenant.id));
      storeFlowSets.set(tenant.id, { flows, loadedAt: Date.now() });
    },
    checkStoreFlows(tenantSlug, definitions) {
      compileStoreFlows(tenantSlug, definitions);
    },
  };
}

export { FlowValidationError };
