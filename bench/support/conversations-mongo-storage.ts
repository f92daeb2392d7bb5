// MongoDB storage for @grammyjs/conversations: one document per chat holding the plugin's
// versioned state, on the same connection the engine's sessions use.
import type { VersionedStateStorage } from "@grammyjs/conversations";
import mongoose from "mongoose";

export function conversationsMongoStorage<S>(collectionName: string): VersionedStateStorage<string, S> {
  const collection = () => mongoose.connection.db!.collection<{ _id: string; state: unknown }>(collectionName);
  return {
    async read(key) {
      const doc = await collection().findOne({ _id: key });
      return (doc?.state ?? undefined) as never;
    },
    async write(key, state) {
      await collection().replaceOne({ _id: key }, { state }, { upsert: true });
    },
    async delete(key) {
      await collection().deleteOne({ _id: key });
    },
  };
}
