// What a turn is given by the engine, and the one error that sends it back to start over.
import type { DeclaredAction, EngineLog, GuardRegistry, ValidatorRegistry } from "./actions.ts";
import type { FlowSet } from "./flow-set.ts";
import type { TextCatalog } from "./texts.ts";
import type { ChannelCapabilities } from "./channel.ts";

export interface TurnDeps {
  flows: FlowSet;
  actions: ReadonlyMap<string, DeclaredAction>;
  guards: GuardRegistry;
  validators: ValidatorRegistry;
  texts: TextCatalog;
  log: EngineLog;
  now: Date;
  /**
   * Called before anything with side effects (an action, a guard, a validator) runs. Throws
   * `StaleSession` when the session the turn started from is no longer the stored one.
   */
  beforeSideEffect: () => Promise<void>;
  /** What the inbound's channel can show; `undefined`: every capability. */
  capabilitiesOf: (channel: string) => ChannelCapabilities | undefined;
  /** Whether an error means a dependency did not answer: the turn stops unsaved, to be run again later. */
  isOutage?: (err: unknown) => boolean;
  /** Hears each failure the user got an error id for (`EngineOptions.onFailure`); never throws. */
  onFailure?: (failure: { tenant: { id: string; slug: string; name: string }; errorId: string; what: string; error: unknown }) => void;
}

/** The turn ran on a session another process has replaced since; run it again on the stored one. */
export class StaleSession extends Error {
  override name = "StaleSession";
}
