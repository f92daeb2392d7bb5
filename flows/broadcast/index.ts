// What the platform and the broadcast flows use: the domain with its runner, its jobs, its model.
export * from "./contract.ts";
export { createBroadcasting, type Broadcasting } from "./broadcasts.ts";
export type { BroadcastingOptions, BroadcastLog } from "./broadcast-records.ts";
export { defineBroadcastJobs, BROADCAST_JOBS, type BroadcastStartData } from "./broadcast-jobs.ts";
export { Broadcast, BroadcastRecipient, MAX_IMAGE_BYTES } from "./broadcast-model.ts";
export { chatAddressOf } from "./audiences.ts";
export { broadcastOutbound, CATALOG_COMMAND, MAX_BUTTONS } from "./message.ts";
export type { StartOutcome } from "./ledger.ts";
