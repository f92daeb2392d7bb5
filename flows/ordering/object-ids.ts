// Ids arrive as strings from chats, job data and URLs; a malformed one means "no such
// record", never a crash in the middle of a customer's turn.
import { Types } from "mongoose";

export function asObjectId(value: unknown): Types.ObjectId | undefined {
  if (value instanceof Types.ObjectId) return value;
  if (typeof value === "string" && /^[0-9a-f]{24}$/i.test(value)) return new Types.ObjectId(value);
  return undefined;
}
