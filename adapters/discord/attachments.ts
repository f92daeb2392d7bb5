/**
 * Downloading a file a person sent on Discord, by its attachment URL (the `fileRef` of their
 * inbound message): only from Discord's CDN, or from the host `DISCORD_API_ROOT` names (a
 * local Discord), never an arbitrary URL; within a timeout and `maxBytes`.
 */
import { FileFetchError } from "../../flows/engine/index.ts";

const CDN_HOSTS = ["cdn.discordapp.com", "media.discordapp.net"];

export async function downloadAttachment(fileRef: string, maxBytes: number, apiRoot?: string, timeoutMs = 30_000): Promise<Buffer> {
  if (!isAttachmentUrl(fileRef, apiRoot)) throw new FileFetchError("not a Discord attachment", "not-found");
  let response: Response;
  try {
    response = await fetch(fileRef, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new FileFetchError(`the file could not be downloaded: ${error instanceof Error ? error.message : String(error)}`, "failed");
  }
  if (response.status === 404 || response.status === 403) throw new FileFetchError(`the file answered ${response.status}`, "not-found");
  if (!response.ok || !response.body) throw new FileFetchError(`the file answered ${response.status}`, "failed");
  if (Number(response.headers.get("content-length") ?? 0) > maxBytes) {
    await response.body.cancel().catch(() => undefined);
    throw new FileFetchError(`the file is over ${maxBytes} bytes`, "too-large");
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += (chunk as Uint8Array).length;
    if (size > maxBytes) throw new FileFetchError(`the file is over ${maxBytes} bytes`, "too-large");
    chunks.push(Buffer.from(chunk as Uint8Array));
  }
  return Buffer.concat(chunks);
}

function isAttachmentUrl(ref: string, apiRoot: string | undefined): boolean {
  let url: URL;
  try {
    url = new URL(ref);
  } catch {
    return false;
  }
  if (CDN_HOSTS.includes(url.hostname)) return url.protocol === "https:";
  if (url.protocol !== "https:" && url.protocol !== "http:") return false;
  return apiRoot !== undefined && new URL(apiRoot).host === url.host;
}
