/**
 * `niaga start`: runs the platform (see `platform-process.ts`) until SIGTERM or SIGINT.
 *
 * Exit codes: 0 after a clean stop; 2 for a bad configuration (one line naming the
 * variable, printed by the CLI); 1 when MongoDB cannot be reached or the start fails
 * otherwise, or after an uncaught exception (see `process-failures.ts`). The first signal
 * stops gracefully; a second one exits at once (code 1).
 */
import { parseFlags } from "./cli/args.ts";
import type { CliContext } from "./cli/context.ts";
import { logger } from "./logger.ts";
import { startPlatform } from "./platform-process.ts";
import { catchProcessFailures } from "./process-failures.ts";
import type { RunningPlatform } from "./platform-process.ts";

/** After a stop, how long a forgotten timer or socket may keep the process before it exits anyway. */
const EXIT_AFTER_STOP_MS = 3_000;

export async function startCommand(argv: string[], ctx: CliContext): Promise<number> {
  parseFlags(argv, {}, "platform.usage");
  const config = ctx.config();
  const running: { platform?: RunningPlatform } = {};
  // An unhandled rejection is logged and alerted and the process goes on; an uncaught exception exits 1 for the supervisor.
  catchProcessFailures({ alerts: () => running.platform?.services.alerts });
  const platform = (running.platform = await startPlatform(config));
  const code = await untilSignalled(platform);
  // Agenda and HTTP keep-alive can leave a timer behind; nothing is left to lose by now.
  setTimeout(() => process.exit(code), EXIT_AFTER_STOP_MS).unref();
  return code;
}

function untilSignalled(platform: RunningPlatform): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn("niaga: second signal; exiting without waiting", { signal });
        process.exit(1);
      }
      stopping = true;
      logger.info("niaga: signal received; stopping", { signal });
      platform.stop().then(
        () => resolve(0),
        (error: unknown) => {
          logger.error("niaga did not stop cleanly", { error: (error as Error).message });
          resolve(1);
        },
      );
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
}
