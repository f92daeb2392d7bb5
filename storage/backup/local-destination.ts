/**
 * Backups in a local directory (`BACKUP_DIR`): one folder per backup id, one file per part.
 * A file is written under a temporary name, fsynced, then renamed, so a reader never sees a
 * partial file; the folder is fsynced after the rename so the name survives a crash.
 *
 * ```ts
 * const local = new LocalDestination("/var/backups/niaga");
 * await local.put(id, "manifest.json", Readable.from([text]));
 * ```
 */
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, open, readdir, rename, rm, stat } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join, resolve } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { BackupNotFound, type BackupDestination, type StoredBackup } from "./destination.ts";

const TEMP_MARK = ".partial-";
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function safe(name: string): string {
  if (!SAFE_NAME.test(name) || name.includes("..")) throw new Error(`not a backup or file name: ${JSON.stringify(name)}`);
  return name;
}

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class LocalDestination implements BackupDestination {
  readonly name = "local" as const;
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  get describe(): string {
    return this.dir;
  }

  async put(backupId: string, file: string, body: Readable): Promise<void> {
    const folder = join(this.dir, safe(backupId));
    const temp = join(folder, `${TEMP_MARK}${safe(file)}-${randomBytes(4).toString("hex")}`);
    await mkdir(folder, { recursive: true });
    try {
      const out = createWriteStream(temp, { flags: "wx" });
      await pipeline(body, out);
      await fsyncPath(temp);
      await rename(temp, join(folder, file));
      await fsyncPath(folder);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  async list(): Promise<StoredBackup[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
    const backups: StoredBackup[] = [];
    for (const id of names.filter((n) => n.startsWith("niaga-")).sort().reverse()) {
      const folder = join(this.dir, id);
      if (!(await stat(folder)).isDirectory()) continue;
      const files = [];
      for (const name of (await readdir(folder)).sort()) {
        if (name.startsWith(TEMP_MARK)) continue;
        files.push({ name, size: (await stat(join(folder, name))).size });
      }
      // A folder whose first file failed holds nothing: no backup, as on S3 (where folders do not exist).
      if (files.length > 0) backups.push({ id, files });
    }
    return backups;
  }

  async get(backupId: string, file: string): Promise<Readable> {
    const path = join(this.dir, safe(backupId), safe(file));
    try {
      if (!(await stat(path)).isFile()) throw new BackupNotFound(`${backupId}/${file} is not in ${this.dir}`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new BackupNotFound(`${backupId}/${file} is not in ${this.dir}`);
      throw err;
    }
    return createReadStream(path);
  }

  async remove(backupId: string): Promise<void> {
    await rm(join(this.dir, safe(backupId)), { recursive: true, force: true });
  }
}
