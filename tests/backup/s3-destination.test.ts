// S3Destination against a real S3-compatible server on 127.0.0.1 (s3rver, tests/support/s3-server.ts):
// the destination contract, pagination, and a server that stops answering.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, connect, type AddressInfo, type Socket } from "node:net";
import { Readable } from "node:stream";
import { loadConfig } from "../../bots/config.ts";
import { S3Destination, type S3DestinationOptions } from "../../storage/backup/s3-destination.ts";
import { startS3Server, type TestS3Server } from "../support/s3-server.ts";
import { destinationContract, textOf } from "./destination-contract.ts";

let server: TestS3Server;
let prefixes = 0;

before(async () => {
  server = await startS3Server();
});
after(async () => {
  await server?.stop();
});

/** A destination on its own prefix, listing 3 objects a page so every listing paginates. */
function destination(options: Partial<S3DestinationOptions> = {}): S3Destination {
  return new S3Destination({
    endpoint: server.endpoint,
    bucket: server.bucket,
    region: server.region,
    ...server.credentials,
    forcePathStyle: true,
    prefix: `test-${++prefixes}/`,
    pageSize: 3,
    partSize: 5 * 1024 * 1024,
    ...options,
  });
}

/** A TCP proxy to the server that hangs up on the first `drop` connections as soon as they send a request: a flaky network. */
async function flakyProxy(drop: number) {
  let connections = 0;
  const open = new Set<Socket>();
  const proxy = createServer((client) => {
    connections++;
    open.add(client);
    client.on("close", () => open.delete(client));
    client.on("error", () => {});
    if (connections <= drop) {
      client.once("data", () => client.destroy());
      return;
    }
    const upstream = connect(server.port, "127.0.0.1");
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        proxy.close(() => resolve());
        for (const socket of open) socket.destroy();
      }),
  };
}

destinationContract("S3 (s3rver)", async () => destination());

describe("S3Destination", () => {
  test("describes where it stores without any key", () => {
    const offsite = destination({ accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", prefix: "shop" });
    assert.equal(offsite.describe, `s3://${server.bucket}/shop/ at ${server.endpoint}`);
    assert.doesNotMatch(offsite.describe, /AKIDEXAMPLE|wJalrX/);
  });

  test("removes a backup of more files than a listing page holds, and only its own prefix", async () => {
    const offsite = destination();
    const neighbour = destination({ prefix: "neighbour/" });
    const id = "niaga-20261202T010000Z-0001";
    for (let i = 0; i < 8; i++) await offsite.put(id, `part-${i}.enc`, Readable.from([Buffer.from(`part ${i}`)]));
    await neighbour.put(id, "manifest.json", Readable.from([Buffer.from("{}")]));
    assert.equal((await offsite.list())[0]!.files.length, 8);

    await offsite.remove(id);
    assert.deepEqual(await offsite.list(), []);
    assert.equal(await textOf(await neighbour.get(id, "manifest.json")), "{}");
  });

  test("works from the BACKUP_S3_* settings as bots/config.ts returns them", async () => {
    const { offsiteBackup } = loadConfig({
      BACKUP_S3_ENDPOINT: server.endpoint,
      BACKUP_S3_BUCKET: server.bucket,
      BACKUP_S3_PREFIX: "from-config",
      BACKUP_S3_ACCESS_KEY_ID: server.credentials.accessKeyId,
      // s3rver checks the key id only, not SigV4 signatures; any secret of a valid shape is accepted.
      BACKUP_S3_SECRET_ACCESS_KEY: "unchecked-by-s3rver",
    });
    const offsite = new S3Destination(offsiteBackup!);
    assert.equal(offsite.describe, `s3://${server.bucket}/from-config/ at ${server.endpoint}`);
    await offsite.put("niaga-20261202T050000Z-0005", "manifest.json", Readable.from([Buffer.from("{}")]));
    assert.deepEqual(await offsite.list(), [{ id: "niaga-20261202T050000Z-0005", files: [{ name: "manifest.json", size: 2 }] }]);
  });

  test("a request the network drops is retried, up to maxAttempts", async (t) => {
    const proxy = await flakyProxy(2);
    t.after(() => proxy.close());
    const id = "niaga-20261202T060000Z-0006";
    const once = destination({ endpoint: proxy.endpoint, maxAttempts: 1 });
    await assert.rejects(once.put(id, "manifest.json", Readable.from([Buffer.from("{}")])), /storing .* failed: .*(socket hang up|ECONNRESET)/);
    assert.equal(proxy.connections(), 1);

    const retrying = destination({ endpoint: proxy.endpoint, maxAttempts: 3, prefix: "retried/" });
    await retrying.put(id, "manifest.json", Readable.from([Buffer.from("{}")]));
    assert.equal(proxy.connections(), 3); // the second dropped, the third went through
    assert.equal(await textOf(await retrying.get(id, "manifest.json")), "{}");
  });

  test("rejects ids and file names that would leave the backup's folder", async () => {
    const offsite = destination();
    await assert.rejects(offsite.get("../other", "manifest.json"), /not a backup id/);
    await assert.rejects(offsite.put("niaga-1", "a/b", Readable.from([])), /not a backup file name/);
  });

  test("a server that stops answering makes put and list fail with a timeout instead of hanging, and it works again after", { timeout: 60_000 }, async () => {
    const offsite = destination({ connectTimeoutMs: 1_000, requestTimeoutMs: 2_000, idleTimeoutMs: 500, operationTimeoutMs: 4_000, maxAttempts: 2 });
    const id = "niaga-20261202T020000Z-0002";
    await offsite.put(id, "manifest.json", Readable.from([Buffer.from("{}")]));

    process.kill(server.pid, "SIGSTOP");
    try {
      await assert.rejects(offsite.put(id, "db.ndjson.gz.enc", Readable.from([Buffer.from("rows")])), /storing niaga-20261202T020000Z-0002\/db\.ndjson\.gz\.enc failed: timed out/);
      await assert.rejects(offsite.list(), /listing backups failed: timed out/);
      await assert.rejects(offsite.get(id, "manifest.json"), /reading .* failed: timed out/);
    } finally {
      process.kill(server.pid, "SIGCONT");
    }

    await offsite.put(id, "db.ndjson.gz.enc", Readable.from([Buffer.from("rows")]));
    assert.deepEqual(await offsite.list(), [
      { id, files: [{ name: "db.ndjson.gz.enc", size: 4 }, { name: "manifest.json", size: 2 }] },
    ]);
  });
});
