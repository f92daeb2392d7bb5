/**
 * Bad input on the command line: the message (an i18n key + params) says what was wrong,
 * the usage key shows how to say it right. The CLI exits 2 and writes nothing.
 */
export class UsageError extends Error {
  override name = "UsageError";
  constructor(
    readonly key: string,
    readonly params: Record<string, unknown> = {},
    readonly usageKey?: string,
  ) {
    super(key);
  }
}
