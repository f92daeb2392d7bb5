// Public API of the embedded MongoDB-compatible server: an in-memory standalone "mongod 7.0"
// speaking the wire protocol, for tests and `npm run demo` on machines without a mongod.
//
// Deliberately refused with an error rather than answered wrongly: transactions (code 20,
// as a standalone mongod), change streams (40573), $text/geo queries, JavaScript $where,
// non-simple collations, $jsonSchema validators, $out/$merge, views, time series,
// authentication. Numbers come back as int32/double (a stored 5.0 reads back as 5);
// Decimal128 and Long keep their types.
export { startEmbeddedServer } from "./server.ts";
export type { EmbeddedServer, EmbeddedServerOptions } from "./server.ts";
export { runEmbeddedServerCli, DEFAULT_PORT } from "./cli.ts";
export type { CliIo } from "./cli.ts";
