// mongod's `failCommand` fail point (`configureFailPoint`, a test command), for servers
// started with `enableTestCommands`: the next commands named fail with a given error code
// and labels, or have their connection closed, so a client's error handling can be tested
// against real replies. Modes: "alwaysOn", "off", { times: n }, { skip: n } (then always on).
import type { Document } from "bson";
import { CommandError } from "./errors.ts";
import { isPlainObject, toNumber } from "./bson-values.ts";

interface FailCommand {
  commands: Set<string>;
  errorCode?: number;
  errorLabels?: string[];
  closeConnection: boolean;
  /** Commands still to let through first. */
  skip: number;
  /** How many times still to fail; Infinity for alwaysOn. */
  times: number;
}

/** What a command is to undergo, if a fail point catches it. */
export type Fault = { closeConnection: true } | { closeConnection: false; reply: Document };

export class FailPoints {
  private failCommand: FailCommand | undefined;

  /** The fault for this command, if the fail point is on for it (counting it). */
  check(name: string): Fault | undefined {
    const fp = this.failCommand;
    if (!fp || !fp.commands.has(name)) return undefined;
    if (fp.skip > 0) {
      fp.skip -= 1;
      return undefined;
    }
    fp.times -= 1;
    if (fp.times <= 0) this.failCommand = undefined;
    if (fp.closeConnection) return { closeConnection: true };
    const reply: Document = { ok: 0, errmsg: `Failing command ${name} via 'failCommand' failpoint`, code: fp.errorCode ?? 1, codeName: "FailPointEnabled" };
    if (fp.errorLabels) reply.errorLabels = fp.errorLabels;
    return { closeConnection: false, reply };
  }

  /** The `configureFailPoint` command: its reply without `ok`. */
  configure(command: Document): Document {
    if (command.configureFailPoint !== "failCommand") {
      throw new CommandError("BadValue", `the embedded MongoDB server has only the 'failCommand' fail point, not '${String(command.configureFailPoint)}'`);
    }
    const mode = command.mode;
    if (mode === "off") {
      this.failCommand = undefined;
      return { count: 0 };
    }
    const data = isPlainObject(command.data) ? command.data : {};
    if (!Array.isArray(data.failCommands) || !data.failCommands.every((c) => typeof c === "string")) {
      throw new CommandError("BadValue", "failCommand needs data.failCommands, an array of command names");
    }
    let skip = 0;
    let times = Number.POSITIVE_INFINITY;
    if (isPlainObject(mode) && mode.times !== undefined) times = toNumber(mode.times);
    else if (isPlainObject(mode) && mode.skip !== undefined) skip = toNumber(mode.skip);
    else if (mode !== "alwaysOn") throw new CommandError("BadValue", "mode must be 'alwaysOn', 'off', { times: n } or { skip: n }");
    if (times <= 0) {
      this.failCommand = undefined;
      return { count: 0 };
    }
    this.failCommand = {
      commands: new Set(data.failCommands as string[]),
      errorCode: data.errorCode === undefined ? undefined : toNumber(data.errorCode),
      errorLabels: Array.isArray(data.errorLabels) ? (data.errorLabels as string[]) : undefined,
      closeConnection: data.closeConnection === true,
      skip,
      times,
    };
    return { count: 0 };
  }
}
