/**
 * What a backup holds besides the database: the environment file, and the recent logs of
 * `LOG_DIR` (files changed in the last 7 days, each after a one-line header), as streams.
 */
import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";

const RECENT_MS = 7 * 24 * 60 * 60 * 1000;

/** The recent log files, oldest first; empty when the folder is not there. */
export async function recentLogFiles(logDir: string, now = Date.now()): Promise<{ path: string; name: string; size: number; mtime: Date }[]> {
  let names: string[];
  try {
    names = await readdir(logDir);
  } catch (err) {
    if (["ENOENT", "ENOTDIR"].includes((err as NodeJS.ErrnoException).code ?? "")) return [];
    throw err;
  }
  const files = [];
  for (const name of names) {
    const path = join(logDir, name);
    const st = await stat(path).catch(() => undefined);
    if (st?.isFile() && now - st.mtimeMs <= RECENT_MS) files.push({ path, name, size: st.size, mtime: st.mtime });
  }
  return files.sort((a, b) => a.mtime.getTime() - b.mtime.getTime());
}

export async function* logChunks(files: { path: string; name: string; size: number; mtime: Date }[]): AsyncGenerator<Buffer> {
  for (const file of files) {
    yield Buffer.from(`==> ${file.name} (${file.size} bytes, ${file.mtime.toISOString()}) <==\n`);
    for await (const chunk of createReadStream(file.path)) yield chunk as Buffer;
    yield Buffer.from("\n");
  }
}
