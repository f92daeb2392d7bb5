// Handshake and server-information commands. The server presents itself as a standalone
// mongod 7.0 (no setName, no topologyVersion, so drivers poll instead of streaming hello),
// or, started with `replicaSet`, as the primary of a one-member replica set.
import type { Document } from "bson";
import type { CommandContext, CommandHandler } from "../command.ts";
import { CommandError } from "../errors.ts";
import { MAX_BSON_OBJECT_SIZE, MAX_MESSAGE_SIZE } from "../wire.ts";

export const SERVER_VERSION = "7.0.0";
export const MAX_WIRE_VERSION = 21;

function helloReply(ctx: CommandContext, legacy: boolean): Document {
  return {
    ...(legacy ? { ismaster: true } : { isWritablePrimary: true }),
    helloOk: true,
    maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
    maxMessageSizeBytes: MAX_MESSAGE_SIZE,
    maxWriteBatchSize: 100_000,
    localTime: new Date(),
    logicalSessionTimeoutMinutes: 30,
    connectionId: ctx.connectionId,
    minWireVersion: 0,
    maxWireVersion: MAX_WIRE_VERSION,
    readOnly: false,
    ...(ctx.server.replication && { ...(legacy && { secondary: false }), ...ctx.server.replication.set.helloFields() }),
  };
}

const buildInfo: CommandHandler = () => ({
  version: SERVER_VERSION,
  gitVersion: "embedded",
  versionArray: [7, 0, 0, 0],
  modules: [],
  allocator: "system",
  javascriptEngine: "none",
  sysInfo: "deprecated",
  bits: 64,
  debug: false,
  maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
  storageEngines: ["memory"],
});

const KNOWN_PARAMETERS: Record<string, unknown> = {
  featureCompatibilityVersion: { version: "7.0" },
  authenticationMechanisms: [],
  cursorTimeoutMillis: 600_000,
  maxBSONDepth: 100,
};

const getParameter: CommandHandler = ({ command }) => {
  const all = command.getParameter === "*" || (typeof command.getParameter === "object" && command.getParameter?.allParameters);
  const out: Document = {};
  for (const [name, value] of Object.entries(KNOWN_PARAMETERS)) {
    if (all || name in command) out[name] = value;
  }
  return out;
};

const serverStatus: CommandHandler = ({ server }) => {
  const now = Date.now();
  return {
    host: `${server.host}:${server.port}`,
    version: SERVER_VERSION,
    process: "mongod",
    pid: process.pid,
    uptime: Math.floor((now - server.startedAt.getTime()) / 1000),
    uptimeMillis: now - server.startedAt.getTime(),
    localTime: new Date(now),
    connections: { current: server.connections.current, available: 1_000_000, totalCreated: server.connections.totalCreated },
    storageEngine: { name: "memory", supportsCommittedReads: false, persistent: false },
    metrics: { cursor: { open: { total: server.cursors.size + (server.replication?.streams.size ?? 0) } } },
    ...(server.replication && { repl: { setName: server.replication.set.name, isWritablePrimary: true, secondary: false, primary: server.replication.set.member, me: server.replication.set.member, hosts: [server.replication.set.member] } }),
  };
};

const refuseAuthentication: CommandHandler = () => {
  throw new CommandError("AuthenticationFailed", "the embedded MongoDB server has no users; connect without credentials");
};

export const handshakeCommands: Record<string, CommandHandler> = {
  hello: (ctx) => helloReply(ctx, false),
  isMaster: (ctx) => helloReply(ctx, true),
  ismaster: (ctx) => helloReply(ctx, true),
  ping: () => ({}),
  buildInfo,
  buildinfo: buildInfo,
  getParameter,
  getCmdLineOpts: () => ({ argv: ["niaga-embedded-mongod"], parsed: {} }),
  serverStatus,
  hostInfo: () => ({ system: { currentTime: new Date(), hostname: "embedded", numCores: 1 }, os: { type: process.platform }, extra: {} }),
  whatsmyuri: ({ server }) => ({ you: `${server.host}:0` }),
  connectionStatus: () => ({ authInfo: { authenticatedUsers: [], authenticatedUserRoles: [] } }),
  saslStart: refuseAuthentication,
  authenticate: refuseAuthentication,
};
