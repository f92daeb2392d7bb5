import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MIN_SUPPORTED_SERVER, checkSupportedServer } from "./fixture.ts";
import { unsupportedMongoDb } from "../../storage/connection.ts";

describe("the oldest MongoDB the suite accepts", () => {
  it("is MongoDB 6.0 (wire version 17), the platform's minimum", () => {
    assert.deepEqual(MIN_SUPPORTED_SERVER, { version: "6.0", wireVersion: 17 });
    assert.doesNotThrow(() => checkSupportedServer({ maxWireVersion: 17, version: "6.0.0" }));
    assert.doesNotThrow(() => checkSupportedServer({ maxWireVersion: 21, version: "7.0.0" }));
  });

  it("refuses an older server with a message naming the minimum, before any scenario runs", () => {
    assert.throws(
      () => checkSupportedServer({ maxWireVersion: 13, version: "5.0.26" }),
      { message: "the conformance suite needs MongoDB 6.0 or newer (wire version 17), the platform's minimum; this server is MongoDB 5.0.26 (wire version 13)" },
    );
  });
});

describe("the platform on a MongoDB older than its minimum", () => {
  it("refuses it at connect with one line naming the server and the minimum", () => {
    assert.equal(
      unsupportedMongoDb({ maxWireVersion: 13, version: "5.0.26" }),
      "needs MongoDB 6.0 or newer (wire version 17); this server is MongoDB 5.0.26 (wire version 13)",
    );
    assert.equal(unsupportedMongoDb({ maxWireVersion: 21, version: "7.0.14" }), undefined);
  });
});
