// Collection validators (`create` with `validator`): query-style validators are enforced on
// every insert and update like mongod's default strict/error settings; $jsonSchema needs a
// schema validator this server does not have, so such collections are refused up front.
import type { Document } from "bson";
import { isPlainObject } from "./bson-values.ts";
import { CommandError } from "./errors.ts";
import { compileFilter } from "./filter.ts";

export type DocumentCheck = (doc: Document) => void;

export function compileValidator(options: Document): DocumentCheck | undefined {
  const validator = options.validator;
  if (validator === undefined || validator === null) return undefined;
  if (!isPlainObject(validator)) throw new CommandError("TypeMismatch", "'validator' must be an object");
  if (JSON.stringify(validator).includes('"$jsonSchema"')) {
    throw new CommandError("InvalidOptions", "$jsonSchema validators are not supported by the embedded MongoDB server");
  }
  if (options.validationLevel === "off" || options.validationAction === "warn") return undefined;
  const matches = compileFilter(validator);
  return (doc) => {
    if (!matches(doc)) {
      throw new CommandError("DocumentValidationFailure", "Document failed validation", { errInfo: { failingDocumentId: doc._id } });
    }
  };
}
