// Broadcasting's scheduled work, on the platform's Agenda (bots/scheduler.ts):
//
// - `broadcast-start`  one per broadcast, at its time: fixes the ledger and moves it to
//                      sending; every instance's runner then sends (sender.ts)
//
// The job is unique per broadcast: rescheduling moves it, cancelling removes it. Starting
// is a conditional update, so a job that runs twice, late, or after the runner's own poll
// already started the broadcast changes nothing.
import type { Agenda, Job } from "agenda";
import type { StartOutcome } from "./ledger.ts";

const AREA = "broadcast";
export const BROADCAST_JOBS = {
  start: [AREA, "start"].join("-"),
} as const;

export interface BroadcastStartData {
  tenantId: string;
  broadcastId: string;
}

/** Registers the handler. Call before `scheduler.start()` on every instance that should run it. */
export function defineBroadcastJobs(agenda: Agenda, broadcasting: { startDue(tenantId: string, broadcastId: string): Promise<StartOutcome> }): void {
  agenda.define<BroadcastStartData>(
    BROADCAST_JOBS.start,
    async (job: Job<BroadcastStartData>) => {
      await broadcasting.startDue(job.attrs.data.tenantId, job.attrs.data.broadcastId);
    },
    { removeOnComplete: true },
  );
}

/** Schedules (or moves) the broadcast's start. */
export async function scheduleStartJob(agenda: Agenda, data: BroadcastStartData, at: Date): Promise<void> {
  await agenda.create(BROADCAST_JOBS.start, data).unique({ "data.broadcastId": data.broadcastId }).schedule(at).save();
}

export async function cancelStartJob(agenda: Agenda, broadcastId: string): Promise<void> {
  await agenda.cancel({ name: BROADCAST_JOBS.start, data: { broadcastId } });
}
