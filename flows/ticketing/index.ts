// What the platform and the ticketing flows use: the domain, its jobs, its notices, its report.
export * from "./contract.ts";
export { createTicketing, type Ticketing } from "./tickets.ts";
export type { TicketingOptions, TicketingLog } from "./ticket-records.ts";
export { defineTicketJobs, slaJobTimers, TICKET_JOBS } from "./sla-jobs.ts";
export { setSlaTargets, storeSlaTargets, slaTargetsFrom, dueTimes, SLA_SUPERVISORS, type SlaScheduler, type SlaCheck, type SlaCheckOutcome, type SetSlaResult } from "./sla.ts";
export { staffReplyNotice, closedNotice, mergedNotice, ratingChoices, escalatedAlert, breachedAlert, priorityName, targetName, type TicketNoticeChoices } from "./ticket-notices.ts";
export { Ticket, TicketMessage, LIVE_STATUSES } from "./ticket-model.ts";
export { ticketReport, ticketReportMessage, hasTicketActivity, durationFigures, type TicketReport, type DurationFigures } from "./ticket-report.ts";
