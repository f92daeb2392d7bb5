// A real, tiny filesystem (tmpfs) for drills of a full disk. Mounting needs root; where it
// is not permitted, `mountTinyDisk` returns undefined and the test says what it skipped.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TinyDisk {
  readonly dir: string;
  /** Writes zeros until the filesystem is full (ENOSPC). */
  fill(): void;
  unmount(): void;
}

export function mountTinyDisk(sizeKb = 1024): TinyDisk | undefined {
  const dir = mkdtempSync(join(tmpdir(), "niaga-tiny-disk-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${sizeKb}k`, "tmpfs", dir], { stdio: "pipe", timeout: 10_000 });
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  return {
    dir,
    fill() {
      const chunk = Buffer.alloc(64 * 1024);
      for (let i = 0; ; i++) {
        try {
          writeFileSync(join(dir, `fill-${i}`), chunk);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === "ENOSPC") break;
          throw error;
        }
      }
      // The last partial chunk may have left a few bytes free: take them too.
      for (let i = 0; i < 64; i++) {
        try {
          writeFileSync(join(dir, `crumb-${i}`), Buffer.alloc(1024));
        } catch {
          break;
        }
      }
    },
    unmount() {
      try {
        execFileSync("umount", [dir], { stdio: "pipe", timeout: 10_000 });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
