// Ticketing's scheduled work, on the platform's Agenda (bots/scheduler.ts):
//
// - `ticket-sla-check`  one per ticket, target and stage (80, 90, 100 % of the target):
//                       raises the priority or records the breach (sla-watch.ts)
//
// The jobs are documents in `agenda_jobs`, so a check scheduled before a restart runs after
// it, on whichever instance takes it. Each is unique per ticket, target and stage:
// scheduling again (a re-prioritised ticket) moves the one job instead of adding another,
// and the check itself acts at most once, whatever runs it.
import type { Agenda, Job } from "agenda";
import type { SlaCheck, SlaScheduler } from "./sla.ts";
import type { Ticketing } from "./tickets.ts";

export const TICKET_JOBS = {
  slaCheck: "ticket-sla-check",
} as const;

/** Registers the handlers. Call before `scheduler.start()` on every instance that should run them. */
export function defineTicketJobs(agenda: Agenda, ticketing: Pick<Ticketing, "checkSla">): void {
  agenda.define<SlaCheck>(
    TICKET_JOBS.slaCheck,
    async (job: Job<SlaCheck>) => {
      await ticketing.checkSla(job.attrs.data);
    },
    { removeOnComplete: true },
  );
}

/** The `SlaScheduler` for `createTicketing({ sla })`, on Agenda. */
export function slaJobTimers(agenda: Agenda): SlaScheduler {
  return {
    async schedule({ tenantId, ticketId, round, target, stages }) {
      for (const { stage, at } of stages) {
        const data: SlaCheck = { tenantId, ticketId, target, stage, round };
        await agenda
          .create(TICKET_JOBS.slaCheck, data)
          .unique({ "data.ticketId": ticketId, "data.target": target, "data.stage": stage })
          .schedule(at)
          .save();
      }
    },
    async cancel(ticketId, target) {
      await agenda.cancel({ name: TICKET_JOBS.slaCheck, data: { ticketId, ...(target ? { target } : {}) } });
    },
  };
}
