/**
 * Scheduled jobs in a restored database: a job that was locked when the backup was made (it
 * was running, or about to: the running backup job itself, for one) would otherwise wait for
 * its lock to lapse (Agenda's lock lifetime) before any instance takes it again. A restore
 * releases those locks, and makes such a job due at the time it was locked, so the scheduler
 * runs it again as soon as it starts: what Agenda does once a lock lapses, without the wait.
 *
 * ```ts
 * releaseJobLock({ name: "snk-reminder", lockedAt, nextRunAt: null }) // → { name, nextRunAt: lockedAt }
 * ```
 */
import type { Document } from "mongodb";

export function releaseJobLock(job: Document): Document {
  const { lockedAt, ...rest } = job;
  if (!(lockedAt instanceof Date)) return lockedAt === undefined ? job : rest;
  const next = rest.nextRunAt;
  const due = next instanceof Date && next.getTime() <= lockedAt.getTime() ? next : lockedAt;
  return { ...rest, nextRunAt: due };
}
