// `niaga backup list|verify|restore` over both destinations, the real CLI as a child process
// against the embedded MongoDB and a real S3-compatible server (s3rver): where each backup is,
// --from, the default source, and the progress lines written when stderr is not a terminal.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mongoose from "mongoose";
import { LocalDestination } from "../../storage/backup/local-destination.ts";
import { S3Destination } from "../../storage/backup/s3-destination.ts";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { runNiaga, type NiagaRun } from "../support/niaga-process.ts";
import { startS3Server, type TestS3Server } from "../support/s3-server.ts";
import { seedStore, SMALL_CATALOGUE } from "../support/stores.ts";

const encryptionKey = randomBytes(32);
const backupKey = randomBytes(32).toString("base64");
const PREFIX = "cli/";

describe("niaga backup with offsite storage (the real CLI, a real S3-compatible server)", () => {
  let test: TestDatabase;
  let s3: TestS3Server;
  let dir: string;
  let local: LocalDestination;
  let offsite: S3Destination;
  const env = (): Record<string, string> => ({
    MONGODB_URI: test.uri,
    ENCRYPTION_KEY: encryptionKey.toString("base64"),
    BACKUP_KEY: backupKey,
    BACKUP_DIR: join(dir, "backups"),
    DEFAULT_LOCALE: "en",
    BACKUP_S3_ENDPOINT: s3.endpoint,
    BACKUP_S3_BUCKET: s3.bucket,
    BACKUP_S3_PREFIX: PREFIX,
    BACKUP_S3_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    BACKUP_S3_SECRET_ACCESS_KEY: "S3RVER-any-secret",
  });
  // The AWS SDK warns once, on Node 20, that its releases after January 2027 will need Node 22; not ours to test.
  const sdkWarning = /^\(node:\d+\) Warning: NodeVersionSupportWarning[\s\S]*?\(Use `node --trace-warnings[^\n]*\n/;
  const run = async (args: string[], extra: Record<string, string> = {}): Promise<NiagaRun> => {
    const res = await runNiaga(["backup", ...args], { ...env(), ...extra }, { cwd: dir });
    return { ...res, stderr: res.stderr.replace(sdkWarning, "") };
  };
  const createdId = (res: NiagaRun) => /Backup (niaga-\S+) created/.exec(res.stdout)?.[1] ?? "";
  /** Both kept: `both`; only offsite: `away`; only local: `home` (the newest). */
  const ids = { both: "", away: "", home: "" };

  before(async () => {
    test = await openTestDatabase("backup_cli_offsite", { encryptionKey });
    s3 = await startS3Server();
    dir = await mkdtemp(join(tmpdir(), "niaga-backup-offsite-"));
    local = new LocalDestination(join(dir, "backups"));
    offsite = new S3Destination({ endpoint: s3.endpoint, bucket: s3.bucket, prefix: PREFIX, ...s3.credentials, forcePathStyle: true });
    await seedStore({ products: SMALL_CATALOGUE, members: { "owner-1": "owner" } });
    for (const key of ["both", "away", "home"] as const) {
      const created = await run(["create"]);
      assert.equal(created.code, 0, created.stderr);
      ids[key] = createdId(created);
      // Progress, not at a terminal: a line per part, no bar, no control characters. Each backup goes local, then offsite.
      assert.match(created.stderr, /^Backing up the database \(local\)…\nWriting the manifest \(local\)…\nUploading \(offsite\)…\nVerifying \(offsite\)…\n$/);
      assert.match(created.stdout, new RegExp(`Backup ${ids[key]} created: .* in s3://`));
    }
    await local.remove(ids.away);
    await offsite.remove(ids.home);
  });
  after(async () => {
    await test.close();
    await s3?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("list shows every backup once, newest first, with where it is kept", async () => {
    const res = await run(["list"]);
    assert.equal(res.code, 0, res.stderr);
    const line = (id: string, where: string) => new RegExp(`^${id}\\s+\\d+\\.\\d+ MB\\s+2 files\\s+${where}$`);
    assert.deepEqual(
      res.stdout.trim().split("\n").map((l, i) => line([ids.home, ids.away, ids.both][i]!, ["local", "offsite", "local, offsite"][i]!).test(l)),
      [true, true, true],
      res.stdout,
    );
  });

  it("when offsite storage does not answer, list still shows the local backups, says what failed, and exits 1", async () => {
    const res = await run(["list"], { BACKUP_S3_ENDPOINT: "http://127.0.0.1:9" });
    assert.equal(res.code, 1);
    assert.match(res.stdout, new RegExp(`^${ids.home}\\s.*\\slocal\n${ids.both}\\s.*\\slocal\n$`));
    assert.match(res.stderr, /^niaga: s3:\/\/niaga-backups\/cli\/ at http:\/\/127\.0\.0\.1:9: the list of backups cannot be read \(/);
  });

  it("verify reads from local when the backup is there, else offsite, or where --from says", async () => {
    const newest = await run(["verify"]);
    assert.equal(newest.code, 0, newest.stderr);
    assert.match(newest.stdout, new RegExp(`Newest backup: ${ids.home}\nReading from local: `));

    const away = await run(["verify", ids.away]);
    assert.equal(away.code, 0, away.stderr);
    assert.match(away.stdout, new RegExp(`Reading from offsite: s3://${s3.bucket}/${PREFIX} at ${s3.endpoint}`));
    assert.match(away.stdout, /verified: 1 files intact/);
    assert.match(away.stderr, /^Verifying \(offsite\)…\n$/);

    const both = await run(["verify", ids.both, "--from", "offsite"]);
    assert.equal(both.code, 0, both.stderr);
    assert.match(both.stdout, /Reading from offsite/);
    const missing = await run(["verify", ids.away, "--from", "local"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /the backup or one of its files is missing/);
  });

  it("restore from offsite: the plan, then the restore, with a few progress lines on stderr", async () => {
    const products = mongoose.connection.db!.collection("products");
    await products.deleteMany({});
    const dry = await run(["restore", ids.away, "--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /Reading from offsite/);
    assert.match(dry.stdout, /products: 0 documents now → 4 from the backup/);
    assert.equal(await products.countDocuments(), 0);

    const res = await run(["restore", ids.away, "--from", "offsite", "--yes"]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, new RegExp(`Backup ${ids.away} restored`));
    assert.equal(res.stderr, "Verifying (offsite)…\nRestoring (offsite)…\n", "progress: a line as each phase starts");
    assert.equal(await products.countDocuments(), 4);
  });

  it("--from offsite without offsite storage configured, and a bad --from, are bad usage", async () => {
    const unset = { BACKUP_S3_ENDPOINT: "", BACKUP_S3_BUCKET: "", BACKUP_S3_PREFIX: "", BACKUP_S3_ACCESS_KEY_ID: "", BACKUP_S3_SECRET_ACCESS_KEY: "" };
    const noOffsite = await run(["restore", ids.both, "--from", "offsite", "--dry-run"], unset);
    assert.equal(noOffsite.code, 2, noOffsite.stderr);
    assert.match(noOffsite.stderr, /--from offsite: offsite backups are not configured \(set BACKUP_S3_ENDPOINT/);
    assert.match(noOffsite.stderr, /Usage: niaga backup restore ID \[--from local\|offsite\]/);

    const bad = await run(["verify", "--from", "cloud"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--from must be local or offsite, not "cloud"/);
    assert.match(bad.stderr, /Usage: niaga backup verify \[ID\] \[--from local\|offsite\]/);

    const localOnly = await run(["list"], unset);
    assert.equal(localOnly.code, 0, localOnly.stderr);
    assert.doesNotMatch(localOnly.stdout, new RegExp(ids.away));
  });
});
