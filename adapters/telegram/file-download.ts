/**
 * Fetches a file a customer sent (a payment proof) through `getFile` and the Bot API's
 * download URL, refusing anything over a size limit before and while reading it. The
 * download URL contains the bot token, so it never appears in an error or a log line.
 */
import type { Api } from "grammy";

/** Telegram's own limit for bot downloads is 20 MB; a payment proof needs far less. */
export const DEFAULT_MAX_DOWNLOAD_BYTES = 10 * 1024 * 1024;
const DOWNLOAD_TIMEOUT_MS = 30_000;

export class TelegramFileError extends Error {
  override name = "TelegramFileError";
  constructor(
    readonly reason: "too-large" | "unavailable",
    message: string,
  ) {
    super(message);
  }
}

export async function downloadTelegramFile(api: Api, apiRoot: string, fileRef: string, maxBytes = DEFAULT_MAX_DOWNLOAD_BYTES): Promise<Buffer> {
  const file = await api.getFile(fileRef);
  if (file.file_size !== undefined && file.file_size > maxBytes) {
    throw new TelegramFileError("too-large", `the file is ${file.file_size} bytes; at most ${maxBytes} are accepted`);
  }
  if (!file.file_path) throw new TelegramFileError("unavailable", "Telegram gave no path for the file; it may have expired");
  let response: Response;
  try {
    response = await fetch(`${apiRoot}/file/bot${api.token}/${file.file_path}`, { signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) });
  } catch (error) {
    throw new TelegramFileError("unavailable", `the file could not be downloaded (${(error as Error).name})`);
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new TelegramFileError("unavailable", `the file download was answered with HTTP ${response.status}`);
  }
  const declared = Number(response.headers.get("content-length") ?? 0);
  if (declared > maxBytes) {
    await response.body.cancel();
    throw new TelegramFileError("too-large", `the file is ${declared} bytes; at most ${maxBytes} are accepted`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    if (size > maxBytes) throw new TelegramFileError("too-large", `the file is over ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
