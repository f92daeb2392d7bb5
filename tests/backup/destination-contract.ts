/**
 * What every backup destination must do (`storage/backup/destination.ts`), as tests that run
 * against any of them: the S3 one against a local S3 server, the local directory one against a
 * temp dir.
 *
 * ```ts
 * destinationContract("offsite", async () => new S3Destination({ …, prefix: `t${++n}/` }));
 * ```
 *
 * `make` returns an empty destination each time (a new prefix, a new directory).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { BackupNotFound, type BackupDestination } from "../../storage/backup/destination.ts";

const MIB = 1024 * 1024;
const CHUNK = 64 * 1024;

/** A deterministic body of `bytes` bytes, generated chunk by chunk (never whole in memory); throws after `failAfter` bytes if given. */
export function generatedBody(bytes: number, seed: number, failAfter?: number): Readable {
  return Readable.from(chunks(bytes, seed, failAfter), { objectMode: false });
}

function* chunks(bytes: number, seed: number, failAfter?: number): Generator<Buffer> {
  for (let offset = 0, index = 0; offset < bytes; offset += CHUNK, index++) {
    if (failAfter !== undefined && offset >= failAfter) throw new Error("the backup stream broke");
    const chunk = Buffer.alloc(Math.min(CHUNK, bytes - offset), (seed * 31 + index * 7) & 255);
    if (chunk.length >= 8) {
      chunk.writeUInt32BE(index, 0);
      chunk.writeUInt32BE(seed, 4);
    }
    yield chunk;
  }
}

/** SHA-256 of what `generatedBody(bytes, seed)` yields. */
export function generatedDigest(bytes: number, seed: number): string {
  const hash = createHash("sha256");
  for (const chunk of chunks(bytes, seed)) hash.update(chunk);
  return hash.digest("hex");
}

export async function digestOf(stream: Readable): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest("hex"), bytes };
}

export async function textOf(stream: Readable): Promise<string> {
  let text = "";
  for await (const chunk of stream) text += (chunk as Buffer).toString();
  return text;
}

const idAt = (hour: number, tail = "a1b2") => `niaga-20261202T${String(hour).padStart(2, "0")}0000Z-${tail}`;

export function destinationContract(label: string, make: () => Promise<BackupDestination>): void {
  describe(`backup destination contract: ${label}`, () => {
    test("a multi-megabyte streamed file and a small one go in, come back byte for byte, and go away", async () => {
      const destination = await make();
      const id = idAt(3);
      const size = 12 * MIB + 12345; // more than two 5 MiB parts, not a multiple of anything
      await destination.put(id, "db.ndjson.gz.enc", generatedBody(size, 1));
      await destination.put(id, "manifest.json", Readable.from([Buffer.from('{"files":[]}')]));

      const [backup, ...others] = await destination.list();
      assert.equal(others.length, 0);
      assert.equal(backup!.id, id);
      assert.deepEqual(
        [...backup!.files].sort((a, b) => a.name.localeCompare(b.name)),
        [
          { name: "db.ndjson.gz.enc", size },
          { name: "manifest.json", size: 12 },
        ],
      );
      assert.deepEqual(await digestOf(await destination.get(id, "db.ndjson.gz.enc")), { sha256: generatedDigest(size, 1), bytes: size });
      assert.equal(await textOf(await destination.get(id, "manifest.json")), '{"files":[]}');

      await destination.remove(id);
      assert.deepEqual(await destination.list(), []);
      await assert.rejects(destination.get(id, "manifest.json"), BackupNotFound);
    });

    test("lists every backup, newest first, each with its own files", async () => {
      const destination = await make();
      const hours = [5, 1, 9, 3, 7, 2, 8, 4, 6];
      for (const hour of hours) {
        await destination.put(idAt(hour), "manifest.json", Readable.from([Buffer.from(`{"hour":${hour}}`)]));
        await destination.put(idAt(hour), "db.ndjson.gz.enc", generatedBody(100 + hour, hour));
      }
      const listed = await destination.list();
      assert.deepEqual(
        listed.map((b) => b.id),
        [...hours].sort((a, b) => b - a).map((hour) => idAt(hour)),
      );
      for (const backup of listed) {
        const hour = Number(backup.id.slice(15, 17));
        assert.deepEqual(
          [...backup.files].sort((a, b) => a.name.localeCompare(b.name)),
          [
            { name: "db.ndjson.gz.enc", size: 100 + hour },
            { name: "manifest.json", size: `{"hour":${hour}}`.length },
          ],
          backup.id,
        );
      }
    });

    test("a missing backup or file is BackupNotFound; removing a missing backup does nothing", async () => {
      const destination = await make();
      await destination.put(idAt(1), "manifest.json", Readable.from([Buffer.from("{}")]));
      await assert.rejects(destination.get(idAt(2), "manifest.json"), BackupNotFound);
      await assert.rejects(destination.get(idAt(1), "db.ndjson.gz.enc"), BackupNotFound);
      await destination.remove(idAt(2));
      assert.deepEqual((await destination.list()).map((b) => b.id), [idAt(1)]);
    });

    test("removing one backup leaves the others whole", async () => {
      const destination = await make();
      for (const hour of [1, 2, 3]) {
        for (const file of ["a.enc", "b.enc", "c.enc", "manifest.json"]) await destination.put(idAt(hour), file, generatedBody(50, hour));
      }
      await destination.remove(idAt(2));
      const listed = await destination.list();
      assert.deepEqual(listed.map((b) => b.id), [idAt(3), idAt(1)]);
      for (const backup of listed) assert.equal(backup.files.length, 4, backup.id);
    });

    test("a body that breaks midway rejects the put and leaves no file visible", async () => {
      const destination = await make();
      const id = idAt(4);
      await destination.put(id, "manifest.json", Readable.from([Buffer.from("{}")]));
      // Past the first 5 MiB part, so a multipart upload is under way when it breaks.
      await assert.rejects(destination.put(id, "db.ndjson.gz.enc", generatedBody(12 * MIB, 4, 7 * MIB)), /the backup stream broke/);
      await assert.rejects(destination.put(idAt(5), "db.ndjson.gz.enc", generatedBody(MIB, 5, 100_000)), /the backup stream broke/);

      assert.deepEqual(await destination.list(), [{ id, files: [{ name: "manifest.json", size: 2 }] }]);
      await assert.rejects(destination.get(id, "db.ndjson.gz.enc"), BackupNotFound);
      await assert.rejects(destination.get(idAt(5), "db.ndjson.gz.enc"), BackupNotFound);
    });
  });
}
