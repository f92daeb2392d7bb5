// Public API of the embedded MongoDB-compatible server: an in-memory standalone "mongod 7.0"
// speaking the wire protocol, for tests and `npm run demo` on machines without a mongod.
// Started with `{ replicaSet: "rs0" }` it is instead the primary of a one-member replica
// set: change streams (over a bounded log of its writes) and retryable writes work there.
//
// Deliberately refused with an error rather than answered wrongly: transactions (code 20,
// as a standalone mongod; 263 in replica-set mode), change streams on a standalone (40573),
// pre- and post-images in change streams, $text/geo queries, JavaScript $where,
// non-simple collations, $jsonSchema validators, $out/$merge, views, time series,
// authentication. Numbers come back as int32/double (a stored 5.0 reads back as 5);
// Decimal128 and Long keep their types.
export { startEmbeddedServer } from "./server.ts";
export type { EmbeddedServer, EmbeddedServerOptions } from "./server.ts";
export { runEmbeddedServerCli, DEFAULT_PORT } from "./cli.ts";
export type { CliIo } from "./cli.ts";
