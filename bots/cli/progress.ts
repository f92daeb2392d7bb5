/**
 * Progress of long backup work in the terminal. On a TTY, one bar on stderr redrawn in place
 * (phase, where, collection, done/total and rate); otherwise plain lines, few of them: one as
 * each phase starts and at most one every `everyMs` while it runs, so a log or a cron mail
 * stays short however big the database is. Fed by the `onProgress` callbacks of storage/backup.
 *
 * ```ts
 * const progress = progressReporter(process.stderr, ctx.t);
 * await restoreBackup(dest, id, { …, onProgress: progress.update });
 * progress.end();
 * ```
 */
import type { BackupProgress } from "../../storage/backup/progress.ts";

type Translate = (key: string, params?: Record<string, unknown>) => string;

export interface ProgressLine {
  progress: BackupProgress;
  /** Units per second since this collection or file started, when known. */
  rate?: number;
  /** Room on the line, in characters. */
  columns: number;
  /** Draw the bar (a TTY); without it, a plain status line. */
  bar: boolean;
}

const BAR_WIDTH = 24;
const MIB = 1024 * 1024;

function amount(n: number, documents: boolean): string {
  return documents ? Math.round(n).toLocaleString("en-US") : (n / MIB).toFixed(1);
}

/** The words before the figures: "Restoring (offsite) orders". */
function heading(p: BackupProgress, t: Translate): string {
  const where = p.destination ? ` (${t(`cli.backup_where_${p.destination}`)})` : "";
  return `${t(`cli.progress_phase_${p.phase}`)}${where}${p.collection ? ` ${p.collection}` : ""}`;
}

/** One line of progress, as a pure function of what is known: the bar on a TTY, or a status line. */
export function renderProgress({ progress: p, rate, columns, bar }: ProgressLine, t: Translate): string {
  const documents = p.collection !== undefined;
  const unit = t(documents ? "cli.progress_unit_documents" : "cli.progress_unit_megabytes");
  const parts = [heading(p, t)];
  if (p.done !== undefined) {
    const known = p.total !== undefined && p.total > 0;
    const ratio = known ? Math.min(1, p.done / p.total!) : undefined;
    if (bar && ratio !== undefined) {
      const full = Math.round(ratio * BAR_WIDTH);
      parts.push(`[${"█".repeat(full)}${"░".repeat(BAR_WIDTH - full)}]`);
    }
    if (ratio !== undefined) parts.push(`${String(Math.floor(ratio * 100)).padStart(3)}%`);
    parts.push(`${amount(p.done, documents)}${p.total !== undefined ? `/${amount(p.total, documents)}` : ""} ${unit}`);
    if (rate !== undefined && rate > 0) parts.push(`${amount(rate, documents)} ${unit}${t("cli.progress_per_second")}`);
  }
  const line = parts.join("  ");
  return line.length > columns ? line.slice(0, Math.max(0, columns - 1)) + "…" : line;
}

export interface ProgressTarget {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressReporter {
  update: (progress: BackupProgress) => void;
  /** Ends the bar's line (a TTY); call before printing anything else. */
  end(): void;
}

/**
 * Draws progress on `target`: a bar redrawn at most every `redrawMs` on a TTY, or plain lines
 * (phase starts, then at most one every `everyMs`).
 */
export function progressReporter(
  target: ProgressTarget,
  t: Translate,
  opts: { now?: () => number; redrawMs?: number; everyMs?: number } = {},
): ProgressReporter {
  const now = opts.now ?? Date.now;
  const tty = target.isTTY === true;
  const interval = tty ? (opts.redrawMs ?? 100) : (opts.everyMs ?? 10_000);
  let segment = "";
  let phase = "";
  let started = 0;
  let lastDone = 0;
  let lastDrawn = -Infinity;
  let drawn = false;

  const update = (p: BackupProgress) => {
    const at = now();
    const key = `${p.phase}|${p.destination ?? ""}|${p.collection ?? ""}`;
    const restarted = key !== segment || (p.done ?? 0) < lastDone;
    if (restarted) {
      segment = key;
      started = at;
    }
    lastDone = p.done ?? 0;
    const elapsed = (at - started) / 1000;
    const rate = elapsed > 0 && p.done !== undefined ? p.done / elapsed : undefined;
    const newPhase = `${p.phase}|${p.destination ?? ""}` !== phase;
    phase = `${p.phase}|${p.destination ?? ""}`;
    if (tty) {
      const finished = p.total !== undefined && p.done === p.total;
      if (!restarted && !finished && at - lastDrawn < interval) return;
      lastDrawn = at;
      drawn = true;
      target.write(`\r${renderProgress({ progress: p, rate, columns: (target.columns ?? 80) - 1, bar: true }, t)}\x1b[K`);
      return;
    }
    if (newPhase) {
      lastDrawn = at;
      target.write(`${heading({ phase: p.phase, destination: p.destination }, t)}…\n`);
    } else if (at - lastDrawn >= interval && p.done !== undefined) {
      lastDrawn = at;
      target.write(`${renderProgress({ progress: p, rate, columns: 200, bar: false }, t)}\n`);
    }
  };
  return {
    update,
    end() {
      if (drawn) target.write("\n");
      drawn = false;
    },
  };
}
