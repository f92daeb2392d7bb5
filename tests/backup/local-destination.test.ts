import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { BackupNotFound } from "../../storage/backup/destination.ts";
import { LocalDestination } from "../../storage/backup/local-destination.ts";

const text = async (stream: Readable) => {
  let out = "";
  for await (const chunk of stream) out += String(chunk);
  return out;
};

describe("LocalDestination", () => {
  let dir: string;
  let local: LocalDestination;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "niaga-local-dest-"));
    local = new LocalDestination(join(dir, "backups"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("lists nothing before the directory exists", async () => {
    assert.deepEqual(await local.list(), []);
  });

  it("stores files, lists backups newest first with their sizes, reads a file back as a stream", async () => {
    await local.put("niaga-20261201T000000Z-aaaa", "manifest.json", Readable.from(["{}"]));
    await local.put("niaga-20261202T000000Z-bbbb", "manifest.json", Readable.from(["{\"a\":1}"]));
    await local.put("niaga-20261202T000000Z-bbbb", "db.ndjson.gz.enc", Readable.from([Buffer.alloc(1000, 7), Buffer.alloc(24, 8)]));
    assert.deepEqual(await local.list(), [
      { id: "niaga-20261202T000000Z-bbbb", files: [{ name: "db.ndjson.gz.enc", size: 1024 }, { name: "manifest.json", size: 7 }] },
      { id: "niaga-20261201T000000Z-aaaa", files: [{ name: "manifest.json", size: 2 }] },
    ]);
    assert.equal(await text(await local.get("niaga-20261202T000000Z-bbbb", "manifest.json")), "{\"a\":1}");
  });

  it("a body that fails half way leaves no file, not even a partial one, and the old file stays", async () => {
    const id = "niaga-20261202T000000Z-bbbb";
    async function* failing() {
      yield Buffer.alloc(4096, 1);
      throw new Error("connection lost");
    }
    await assert.rejects(local.put(id, "manifest.json", Readable.from(failing())), /connection lost/);
    await assert.rejects(local.put(id, "logs.enc", Readable.from(failing())), /connection lost/);
    assert.deepEqual((await readdir(join(local.dir, id))).sort(), ["db.ndjson.gz.enc", "manifest.json"]);
    assert.equal(await text(await local.get(id, "manifest.json")), "{\"a\":1}");
  });

  it("a missing backup or file is BackupNotFound; names that leave the directory are refused", async () => {
    await assert.rejects(local.get("niaga-20990101T000000Z-zzzz", "manifest.json"), BackupNotFound);
    await assert.rejects(local.get("niaga-20261201T000000Z-aaaa", "logs.enc"), BackupNotFound);
    await assert.rejects(local.get("..", "manifest.json"), /not a backup or file name/);
    await assert.rejects(local.put("niaga-x", "../escape", Readable.from(["x"])), /not a backup or file name/);
  });

  it("removes a backup and all its files; removing it again does nothing", async () => {
    await local.remove("niaga-20261201T000000Z-aaaa");
    await local.remove("niaga-20261201T000000Z-aaaa");
    assert.deepEqual((await local.list()).map((b) => b.id), ["niaga-20261202T000000Z-bbbb"]);
  });
});
