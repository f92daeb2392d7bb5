import { Schema, Types, model } from "mongoose";

/**
 * Which store a Discord user's direct messages go to (`discord_dm_stores`, one document per
 * Discord user id, no tenant scope: it is how a DM finds its tenant). Written when the user
 * uses a store in its guild; a DM from someone never seen in a linked guild has no store.
 */
const dmStoreSchema = new Schema(
  {
    _id: { type: String, required: true },
    tenantId: { type: Schema.Types.ObjectId, required: true },
    at: { type: Date, required: true },
  },
  { collection: "discord_dm_stores", versionKey: false },
);

const DiscordDmStore = model("DiscordDmStore", dmStoreSchema);

/** Remembers that `userId` last used the store `tenantId` (a guild interaction). */
export async function rememberDmStore(userId: string, tenantId: string, at = new Date()): Promise<void> {
  // Conditional on time, so an interaction handled late cannot overwrite a newer choice.
  await DiscordDmStore.updateOne(
    { _id: userId, $or: [{ at: { $lte: at } }, { at: { $exists: false } }] },
    { $set: { tenantId: new Types.ObjectId(tenantId), at } },
    { upsert: true },
  ).exec().catch((error: unknown) => {
    // A concurrent newer write won the upsert race on _id: theirs stands.
    if ((error as { code?: number }).code !== 11000) throw error;
  });
}

/** The store `userId` last used in a guild, if any. */
export async function dmStoreOf(userId: string): Promise<string | undefined> {
  const row = await DiscordDmStore.findById(userId, { tenantId: 1 }).lean<{ tenantId: Types.ObjectId }>().exec();
  return row ? String(row.tenantId) : undefined;
}
