import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startEmbeddedServer } from "../../storage/embedded/index.ts";
import type { EmbeddedServer } from "../../storage/embedded/index.ts";
import { MORE_TO_COME, WireClient, opMsg, opQuery } from "./wire-client.ts";

describe("embedded server wire protocol", () => {
  let server: EmbeddedServer;
  let client: WireClient;

  before(async () => {
    server = await startEmbeddedServer();
    client = await WireClient.open(server.port);
  });
  after(async () => {
    client.close();
    await server.close();
  });

  it("answers the legacy OP_QUERY isMaster handshake with an OP_REPLY", async () => {
    const reply = await client.request(opQuery("admin.$cmd", { isMaster: 1, helloOk: true, client: { driver: { name: "test" } } }));
    assert.equal(reply.opCode, 1);
    assert.equal(reply.doc.ok, 1);
    assert.equal(reply.doc.ismaster, true);
    assert.equal(reply.doc.helloOk, true);
    assert.equal(reply.doc.setName, undefined);
    assert.equal(reply.doc.maxWireVersion, 21);
    assert.equal(reply.doc.minWireVersion, 0);
    assert.equal(reply.doc.logicalSessionTimeoutMinutes, 30);
    assert.equal(reply.doc.maxBsonObjectSize, 16 * 1024 * 1024);
    assert.ok(reply.doc.localTime instanceof Date);
    assert.equal(typeof reply.doc.connectionId, "number");
    assert.equal(reply.doc.compression, undefined);
  });

  it("answers hello over OP_MSG with isWritablePrimary", async () => {
    const reply = await client.request(opMsg({ hello: 1, $db: "admin" }));
    assert.equal(reply.opCode, 2013);
    assert.equal(reply.flags, 0);
    assert.equal(reply.doc.isWritablePrimary, true);
  });

  it("answers an unknown command with code 59", async () => {
    const reply = await client.request(opMsg({ frobnicate: 1, $db: "test" }));
    assert.deepEqual(reply.doc, { ok: 0, errmsg: "no such command: 'frobnicate'", code: 59, codeName: "CommandNotFound" });
  });

  it("merges kind-1 document sequences into the command", async () => {
    const reply = await client.request(opMsg({ insert: "seq", $db: "wire" }, { sequences: { documents: [{ _id: 1 }, { _id: 2 }, { _id: 3 }] } }));
    assert.equal(reply.doc.n, 3);
    const found = await client.request(opMsg({ find: "seq", filter: {}, sort: { _id: -1 }, $db: "wire" }));
    assert.deepEqual(found.doc.cursor.firstBatch, [{ _id: 3 }, { _id: 2 }, { _id: 1 }]);
  });

  it("sends no reply when the client sets moreToCome, but still applies the write", async () => {
    client.send(opMsg({ insert: "fire", documents: [{ _id: "silent" }], $db: "wire" }, { flags: MORE_TO_COME }));
    // The next reply must be the count's, not one for the unacknowledged insert.
    const reply = await client.request(opMsg({ count: "fire", $db: "wire" }));
    assert.equal(reply.doc.n, 1);
  });

  it("refuses transaction numbers like a standalone mongod (code 20)", async () => {
    const reply = await client.request(
      opMsg({ insert: "txn", documents: [{ a: 1 }], txnNumber: 1, autocommit: false, startTransaction: true, $db: "wire" }),
    );
    assert.equal(reply.doc.ok, 0);
    assert.equal(reply.doc.code, 20);
    assert.equal(reply.doc.codeName, "IllegalOperation");
    const count = await client.request(opMsg({ count: "txn", $db: "wire" }));
    assert.equal(count.doc.n, 0);
  });

  it("handles a message split across many TCP writes and two messages in one write", async () => {
    const bytes = opMsg({ ping: 1, $db: "admin" });
    const reply = client.request(bytes.subarray(0, 3));
    for (let i = 3; i < bytes.length; i += 5) client.send(bytes.subarray(i, i + 5));
    assert.equal((await reply).doc.ok, 1);
    const first = client.request(Buffer.concat([opMsg({ ping: 1, $db: "admin" }), opMsg({ buildInfo: 1, $db: "admin" })]));
    const second = client.nextReply();
    assert.equal((await first).doc.ok, 1);
    assert.equal((await second).doc.version, "7.0.0");
  });

  it("closes only the offending connection on a malformed message", async () => {
    const bad = await WireClient.open(server.port);
    bad.send(Buffer.from([8, 0, 0, 0, 1, 2, 3, 4]));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(bad.closed, true);
    const reply = await client.request(opMsg({ ping: 1, $db: "admin" }));
    assert.equal(reply.doc.ok, 1);
  });
});
