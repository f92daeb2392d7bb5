// A broadcast as one recipient receives it: the seller's text as they wrote it (carried as
// a parameter, as a product's description is, so each channel renders it its own way),
// the image as the message's photo with the text as its caption, the seller's buttons as
// command choices (every channel carries those: buttons, or numbered choices to type),
// the opt-out line in the recipient's language, and the opt-out button.
import type { Types } from "mongoose";
import { commandChoice, type ChoiceView, type Outbound } from "../engine/index.ts";
import { Product } from "../ordering/product.ts";
import { BROADCAST_COMMANDS, type BroadcastButton } from "./contract.ts";
import type { BroadcastRecord } from "./broadcast-model.ts";

/** The command that opens the catalog (the ordering flows' `/katalog`); a product's code as its argument. */
export const CATALOG_COMMAND = "katalog";
/** The seller's own buttons; the opt-out button comes after them. */
export const MAX_BUTTONS = 3;

/** Product names by code, for the buttons' labels (a product renamed since still opens by code). */
export async function productNames(tenantId: Types.ObjectId, buttons: readonly BroadcastButton[]): Promise<Map<string, string>> {
  const codes = buttons.flatMap((b) => (b.kind === "product" ? [b.productCode] : []));
  if (codes.length === 0) return new Map();
  const found = await Product.find({ tenantId, code: { $in: codes } }, { _id: 0, code: 1, name: 1 }).lean<{ code: string; name: string }[]>().exec();
  return new Map(found.map((p) => [p.code, p.name]));
}

function buttonChoice(button: BroadcastButton, names: Map<string, string>): ChoiceView {
  if (button.kind === "catalog") return commandChoice({ key: "bcmsg.button.catalog" }, CATALOG_COMMAND);
  return commandChoice({ key: "bcmsg.button.product", params: { name: names.get(button.productCode) ?? button.productCode } }, CATALOG_COMMAND, button.productCode);
}

/** The one message of a broadcast. `content.image.data` must be loaded for the image to go. */
export function broadcastOutbound(content: BroadcastRecord["content"], names: Map<string, string>): Outbound {
  const image = content.image;
  const data = image?.data ? toBytes(image.data) : undefined;
  return {
    text: { key: "bcmsg.message", params: { body: content.text } },
    ...(image && data ? { media: { type: "photo" as const, ref: image.fileName, fileName: image.fileName, data } } : {}),
    choices: [
      ...(content.buttons ?? []).slice(0, MAX_BUTTONS).map((button) => buttonChoice(button, names)),
      commandChoice({ key: "bcmsg.button.stop" }, BROADCAST_COMMANDS.stop),
    ],
  };
}

/** Mongoose hands a lean Buffer back as BSON Binary; the channels want plain bytes. */
function toBytes(data: Buffer | { buffer: ArrayBufferLike }): Uint8Array {
  if (Buffer.isBuffer(data)) return data;
  const binary = data as { buffer: ArrayBufferLike | Uint8Array };
  return binary.buffer instanceof Uint8Array ? binary.buffer : new Uint8Array(binary.buffer);
}
