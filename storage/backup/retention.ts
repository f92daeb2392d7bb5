/**
 * Which backups a retention policy keeps: the newest backup of each of the last `daily` days,
 * `weekly` ISO weeks and `monthly` months that have one (days, weeks and months in `timeZone`),
 * counted the way restic's `forget --keep-daily/--keep-weekly/--keep-monthly` counts them. A
 * backup can be kept by several rules at once. What else must never go (the newest verified
 * backup, a local copy whose offsite copy is not checked) is the caller's to add.
 *
 * ```ts
 * const keep = keptByPolicy(backups, { daily: 7, weekly: 4, monthly: 6 }, "Asia/Jakarta");
 * for (const b of backups) if (!keep.has(b.id)) await destination.remove(b.id);
 * ```
 */
/** Keep the newest backup of each of the last `daily` days, `weekly` ISO weeks and `monthly` months. */
export interface RetentionPolicy {
  daily: number;
  weekly: number;
  monthly: number;
}

export interface Dated {
  id: string;
  createdAt: Date;
}

/** Year, month, day and ISO week of `at` as seen in `timeZone`. */
function calendar(at: Date, timeZone: string): { day: string; week: string; month: string } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(at).map((p) => [p.type, p.value]),
  ) as Record<"year" | "month" | "day", string>;
  const local = new Date(Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day)));
  // ISO week: the week's Thursday decides its year.
  const thursday = new Date(local.getTime() + (4 - (local.getUTCDay() || 7)) * 86_400_000);
  const week = Math.ceil(((thursday.getTime() - Date.UTC(thursday.getUTCFullYear(), 0, 1)) / 86_400_000 + 1) / 7);
  return { day: `${parts.year}-${parts.month}-${parts.day}`, week: `${thursday.getUTCFullYear()}-W${week}`, month: `${parts.year}-${parts.month}` };
}

/** The ids `policy` keeps among `backups` (any order). */
export function keptByPolicy(backups: readonly Dated[], policy: RetentionPolicy, timeZone: string): Set<string> {
  const newestFirst = [...backups].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.id.localeCompare(a.id));
  const kept = new Set<string>();
  for (const rule of ["day", "week", "month"] as const) {
    const limit = { day: policy.daily, week: policy.weekly, month: policy.monthly }[rule];
    const seen = new Set<string>();
    for (const backup of newestFirst) {
      if (seen.size >= limit) break;
      const bucket = calendar(backup.createdAt, timeZone)[rule];
      if (seen.has(bucket)) continue;
      seen.add(bucket);
      kept.add(backup.id);
    }
  }
  return kept;
}
