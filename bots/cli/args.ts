import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./usage-error.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * `node:util` parseArgs in strict mode, with its errors turned into a UsageError that
 * names the offending flag and shows the command's usage.
 */
export function parseFlags<O extends Options>(argv: string[], options: O, usageKey: string, maxPositionals = 0) {
  try {
    const parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: true });
    if (parsed.positionals.length > maxPositionals) {
      throw new UsageError("cli.unexpected_argument", { arg: parsed.positionals[maxPositionals] }, usageKey);
    }
    return parsed;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const code = (err as { code?: string }).code ?? "";
    const flag = /'(-{1,2}[^' ]+)/.exec((err as Error).message)?.[1] ?? "";
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") throw new UsageError("cli.unknown_flag", { flag }, usageKey);
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") throw new UsageError("cli.flag_needs_value", { flag }, usageKey);
    throw new UsageError("cli.bad_arguments", { reason: (err as Error).message }, usageKey);
  }
}

export function requireFlag(value: string | undefined, flag: string, usageKey: string): string {
  if (value === undefined || value.trim() === "") throw new UsageError("cli.missing_flag", { flag }, usageKey);
  return value.trim();
}
