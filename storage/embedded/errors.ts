// Server errors carry mongod's numeric code and codeName, because drivers and mongoose
// branch on them (11000 for duplicates, 48 NamespaceExists, 26 NamespaceNotFound, ...).
import type { Document } from "bson";
import { MingoError } from "mingo/util";

export const ErrorCodes = {
  InternalError: 1,
  BadValue: 2,
  FailedToParse: 9,
  TypeMismatch: 14,
  AuthenticationFailed: 18,
  IllegalOperation: 20,
  NamespaceNotFound: 26,
  IndexNotFound: 27,
  PathNotViable: 28,
  ConflictingUpdateOperators: 40,
  CursorNotFound: 43,
  NamespaceExists: 48,
  DollarPrefixedFieldName: 52,
  InvalidIdField: 53,
  CommandNotFound: 59,
  ImmutableField: 66,
  CannotCreateIndex: 67,
  InvalidOptions: 72,
  InvalidNamespace: 73,
  IndexOptionsConflict: 85,
  IndexKeySpecsConflict: 86,
  CannotIndexParallelArrays: 171,
  DocumentValidationFailure: 121,
  InvalidIndexSpecificationOption: 197,
  NoSuchTransaction: 251,
  InvalidResumeToken: 260,
  OperationNotSupportedInTransaction: 263,
  ChangeStreamFatalError: 280,
  ChangeStreamHistoryLost: 286,
  DuplicateKey: 11000,
  Location40324: 40324,
  Location40573: 40573,
  Location40415: 40415,
  Location40602: 40602,
  Location40647: 40647,
  Location40674: 40674,
  Location50768: 50768,
} as const;

export type CodeName = keyof typeof ErrorCodes;

export class CommandError extends Error {
  readonly code: number;
  readonly codeName: string;
  readonly extra: Document;

  constructor(codeName: CodeName, message: string, extra: Document = {}) {
    super(message);
    this.code = ErrorCodes[codeName];
    this.codeName = codeName;
    this.extra = extra;
  }

  /** The shape mongod uses both for a failed command and for one entry of `writeErrors`. */
  toDocument(): Document {
    return { errmsg: this.message, code: this.code, codeName: this.codeName, ...this.extra };
  }
}

/**
 * Turns anything thrown while running a command into a CommandError. mingo reports unknown
 * or malformed operators with MingoError; mongod answers those with BadValue. Anything else
 * is a bug in this server and says so.
 */
export function asCommandError(err: unknown): CommandError {
  if (err instanceof CommandError) return err;
  if (err instanceof MingoError) return new CommandError("BadValue", err.message);
  const message = err instanceof Error ? err.message : String(err);
  return new CommandError("InternalError", `embedded server error: ${message}`);
}
