import { ObjectId } from "bson";
import type { Document } from "bson";
import type { CommandHandler } from "../command.ts";
import { collectionArg, docArray } from "./arguments.ts";
import { WriteBatch } from "./write-errors.ts";

/** mongod stores _id as the first field, generating it when the client did not. */
function withId(doc: Document): Document {
  if (Object.keys(doc)[0] === "_id") return doc;
  const { _id, ...rest } = doc;
  return { _id: _id === undefined ? new ObjectId() : _id, ...rest };
}

const insert: CommandHandler = ({ server, db, command }) => {
  const name = collectionArg(command, "insert");
  const docs = docArray(command, "documents");
  const coll = server.store.ensureCollection(db, name);
  const batch = new WriteBatch(command);
  let n = 0;
  for (let i = 0; i < docs.length; i++) {
    // The documents were just deserialized from this request, so nothing else holds them.
    const ok = batch.run(i, () => {
      coll.insert(withId(docs[i]));
      n += 1;
    });
    if (!ok) break;
  }
  return batch.reply({ n });
};

export const insertCommands: Record<string, CommandHandler> = { insert };
