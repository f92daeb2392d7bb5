/**
 * What the owner bot's backup commands show, in the owner's language: a progress line, a
 * finished backup, the list of backups with each destination's state, a verification's
 * outcome, a restore plan and why something failed. Pure functions of what `Backups`
 * answered, like `owner-views.ts`.
 *
 * ```ts
 * progress.update(progressText("ownerbot.backup.creating", {}, { phase: "upload", destination: "offsite", done: 2e6, total: 8e6 }, view));
 * await say(backupsPage(await backups.list(), 1, view));
 * ```
 */
import { t } from "../locales/i18n.ts";
import type { DestinationName } from "../storage/backup/destination.ts";
import type { BackupError } from "../storage/backup/errors.ts";
import { BACKUP_SCHEMA_VERSION } from "../storage/backup/manifest.ts";
import type { RestorePlan } from "../storage/backup/restore.ts";
import type { BackupListing, BackupProgress, DestinationStatus, VerifyOutcome } from "../storage/backup/service.ts";
import { formatWhen } from "../locales/format-when.ts";
import type { ViewOptions } from "./owner-views.ts";

export const BACKUPS_PER_PAGE = 8;

const DESTINATIONS: readonly DestinationName[] = ["local", "offsite"];
const BYTE_PHASES = new Set<BackupProgress["phase"]>(["upload", "verify"]);

/** The title of long work and, under it, where it is now. */
export function progressText(titleKey: string, params: Record<string, unknown>, progress: BackupProgress | undefined, v: ViewOptions): string {
  const title = t(v.locale, titleKey, params);
  if (!progress) return `${title}\n${t(v.locale, "ownerbot.backup.waiting")}`;
  const parts = [t(v.locale, `ownerbot.backup.phase.${progress.phase}`)];
  if (progress.destination) parts.push(where(progress.destination, v));
  if (progress.collection) parts.push(progress.collection);
  const unit = BYTE_PHASES.has(progress.phase) ? (n: number) => size(n, v) : (n: number) => count(n, v);
  if (progress.done !== undefined) parts.push(progress.total !== undefined ? `${unit(progress.done)}/${unit(progress.total)}` : unit(progress.done));
  return `${title}\n${t(v.locale, "ownerbot.backup.step", { step: parts.join(" · ") })}`;
}

/** A backup just made: its id, size, documents, and each destination's state. */
export function createdText(backup: BackupListing, v: ViewOptions): string {
  const head = t(v.locale, "ownerbot.backup.created", {
    id: backup.id,
    size: size(backup.size, v),
    documents: count(backup.documents ?? 0, v),
    collections: count(backup.collections ?? 0, v),
  });
  return [head, ...destinationsOf(backup).map(([name, status]) => t(v.locale, "ownerbot.backup.dest_line", { where: where(name, v), state: stateText(status, v) }))].join("\n");
}

/** One page of `/backups`, 1-based, newest first; the line naming the next page when there is one. */
export function backupsPage(backups: readonly BackupListing[], page: number, v: ViewOptions): string {
  if (backups.length === 0) return t(v.locale, "ownerbot.backup.none");
  const pages = Math.ceil(backups.length / BACKUPS_PER_PAGE);
  const at = Math.min(Math.max(page, 1), pages);
  const from = (at - 1) * BACKUPS_PER_PAGE;
  const shown = backups.slice(from, from + BACKUPS_PER_PAGE);
  const lines = [t(v.locale, "ownerbot.backup.list.header", { from: from + 1, to: from + shown.length, total: backups.length })];
  for (const backup of shown) {
    lines.push(
      t(v.locale, "ownerbot.backup.list.line", {
        id: backup.id,
        when: when(backup.createdAt, v),
        size: size(backup.size, v),
        documents: backup.documents === undefined ? "?" : count(backup.documents, v),
        destinations: destinationsOf(backup).map(([name, status]) => t(v.locale, "ownerbot.backup.dest_inline", { where: where(name, v), state: stateText(status, v) })).join(" · "),
      }),
    );
  }
  if (at < pages) lines.push(t(v.locale, "ownerbot.backup.list.next", { page: at + 1 }));
  return lines.join("\n");
}

/** A verification's outcome: ok, or per destination the problems found. */
export function verifyText(outcome: VerifyOutcome, v: ViewOptions): string {
  const lines = [t(v.locale, outcome.ok ? "ownerbot.backup.verified" : "ownerbot.backup.verify_failed", { id: outcome.id })];
  for (const name of DESTINATIONS) {
    const result = outcome.destinations[name];
    if (!result) continue;
    lines.push(
      result.ok
        ? t(v.locale, "ownerbot.backup.verify_ok", { where: where(name, v) })
        : t(v.locale, "ownerbot.backup.verify_bad", { where: where(name, v), problems: result.problems.map((p) => reasonText(p, v)).join("; ") }),
    );
  }
  return lines.join("\n");
}

/** What a restore would do: the collections replaced (documents now → in the backup), those left alone, a migration. */
export function planText(plan: RestorePlan, v: ViewOptions): string {
  const manifest = plan.manifest;
  const changed = plan.collections.filter((c) => c.current !== c.backup);
  const same = plan.collections.filter((c) => c.current === c.backup);
  const lines = [
    t(v.locale, "ownerbot.backup.plan.header", { id: plan.id, when: when(new Date(manifest.createdAt), v), app: manifest.appVersion }),
    t(v.locale, "ownerbot.backup.plan.replaced"),
    ...changed.map((c) => t(v.locale, "ownerbot.backup.plan.line", { name: c.name, current: count(c.current, v), backup: count(c.backup, v) })),
  ];
  // Every collection is replaced; those whose count stays the same share one line, so the changes stand out.
  if (same.length > 0) lines.push(t(v.locale, "ownerbot.backup.plan.same", { count: same.length, names: same.map((c) => `${c.name} (${count(c.backup, v)})`).join(", ") }));
  if (plan.untouched.length > 0) lines.push(t(v.locale, "ownerbot.backup.plan.untouched", { names: plan.untouched.join(", ") }));
  if (manifest.schemaVersion < BACKUP_SCHEMA_VERSION) lines.push(t(v.locale, "ownerbot.backup.plan.migrate", { from: manifest.schemaVersion, to: BACKUP_SCHEMA_VERSION }));
  lines.push("", t(v.locale, "ownerbot.backup.plan.maintenance"));
  return lines.join("\n");
}

/** Why a backup cannot be used, in words (the `BackupError`'s reason and what it names). */
export function reasonText(error: BackupError, v: ViewOptions): string {
  return t(v.locale, `ownerbot.backup.error.${error.reason}`, { ...error.params, file: error.params.file ?? error.params.id ?? "?", collection: error.params.collection ?? "?", detail: error.message });
}

/** The states of a backup's copies, local first. */
function destinationsOf(backup: BackupListing): Array<[DestinationName, DestinationStatus]> {
  return DESTINATIONS.flatMap((name) => (backup.destinations[name] ? [[name, backup.destinations[name]] as [DestinationName, DestinationStatus]] : []));
}

function stateText(status: DestinationStatus, v: ViewOptions): string {
  switch (status.state) {
    case "verified":
      return t(v.locale, "ownerbot.backup.state.verified", { when: status.verifiedAt ? when(status.verifiedAt, v) : "" }).trim();
    case "failed":
      return t(v.locale, "ownerbot.backup.state.failed", { error: (status.error ?? "?").slice(0, 200) });
    case "missing":
      return t(v.locale, "ownerbot.backup.state.missing");
    default:
      return t(v.locale, "ownerbot.backup.state.stored");
  }
}

function where(name: DestinationName, v: ViewOptions): string {
  return t(v.locale, `ownerbot.backup.where.${name}`);
}

function when(at: Date, v: ViewOptions): string {
  return formatWhen(new Date(at), { locale: v.locale, timeZone: v.timeZone });
}

function count(n: number, v: ViewOptions): string {
  return new Intl.NumberFormat(v.locale === "id" ? "id-ID" : "en-US").format(n);
}

/** `512 B`, `3,4 KB`, `12,5 MB`, `1,2 GB` (1024-based). */
export function size(bytes: number, v: ViewOptions): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 ? 0 : 1;
  return `${new Intl.NumberFormat(v.locale === "id" ? "id-ID" : "en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }).format(value)} ${units[unit]}`;
}
