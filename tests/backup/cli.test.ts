import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mongoose from "mongoose";
import { openTestDatabase, type TestDatabase } from "../support/mongo.ts";
import { seedStore, SMALL_CATALOGUE } from "../support/stores.ts";
import { runNiaga, type NiagaRun } from "../support/niaga-process.ts";
import { createBackup } from "../../storage/backup/archive.ts";
import { LocalDestination } from "../../storage/backup/local-destination.ts";

const encryptionKey = randomBytes(32);
const backupKey = randomBytes(32).toString("base64");

describe("niaga backup (the real CLI as a child process)", () => {
  let test: TestDatabase;
  let dir: string;
  const backups = () => join(dir, "backups");
  const run = (args: string[], extraEnv: Record<string, string> = {}): Promise<NiagaRun> =>
    runNiaga(
      ["backup", ...args],
      {
        MONGODB_URI: test.uri,
        ENCRYPTION_KEY: encryptionKey.toString("base64"),
        BACKUP_KEY: backupKey,
        BACKUP_DIR: backups(),
        DEFAULT_LOCALE: "en",
        ...extraEnv,
      },
      { cwd: dir },
    );
  const counts = async () => {
    const db = mongoose.connection.db!;
    const out: Record<string, number> = {};
    for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) out[name] = await db.collection(name).countDocuments({});
    return out;
  };
  const noStack = (res: NiagaRun) => assert.doesNotMatch(res.stderr + res.stdout, /\n\s+at /, "no stack trace");
  let id = "";

  before(async () => {
    test = await openTestDatabase("backup_cli", { encryptionKey });
    dir = await mkdtemp(join(tmpdir(), "niaga-backup-cli-"));
    await writeFile(join(dir, ".env"), "OWNER_BOT_TOKEN=123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw\n");
    await seedStore({ products: SMALL_CATALOGUE, members: { "owner-1": "owner" } });
  });
  after(async () => {
    await test.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("create makes a backup (with the .env of the working directory), list shows it, verify checks the newest", async () => {
    const created = await run(["create"]);
    assert.equal(created.code, 0, created.stderr);
    id = /Backup (niaga-\S+) created/.exec(created.stdout)?.[1] ?? "";
    assert.ok(id, created.stdout);
    assert.deepEqual((await readdir(join(backups(), id))).sort(), ["config.env.enc", "db.ndjson.gz.enc", "manifest.json"]);

    const listed = await run(["list"]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`^${id}\\s+\\d+\\.\\d+ MB\\s+3 files\\s+local$`, "m"));

    const verified = await run(["verify"]);
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, new RegExp(`Newest backup: ${id}`));
    assert.match(verified.stdout, /products: 4 documents/);
    assert.match(verified.stdout, /verified: 2 files intact/);
  });

  it("extract writes the backup's environment file to stdout; an unknown part is bad usage", async () => {
    const res = await run(["extract", id, "env"]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, "OWNER_BOT_TOKEN=123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw\n");
    const bad = await run(["extract", id, "secrets"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /what to extract: env or logs/);
    const none = await run(["extract", id, "logs"]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /holds no logs\.enc/);
  });

  it("restore --dry-run shows what would be replaced and changes nothing", async () => {
    await mongoose.connection.db!.collection("products").deleteMany({ code: "habis" });
    const before = await counts();
    const res = await run(["restore", id, "--dry-run"]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /products: 3 documents now → 4 from the backup/);
    assert.match(res.stdout, /Dry run: nothing was changed\./);
    assert.deepEqual(await counts(), before);
  });

  it("restore without --yes and without a terminal is refused with the usage; with --yes it restores", async () => {
    const before = await counts();
    const refused = await run(["restore", id]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /add --yes to confirm/);
    assert.match(refused.stderr, /Usage: niaga backup restore ID/);
    assert.deepEqual(await counts(), before);

    const res = await run(["restore", id, "--yes"]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /Reading from local: /);
    assert.equal(res.stderr, "Verifying (local)…\nRestoring (local)…\n", "progress: a line as each phase starts");
    assert.match(res.stdout, new RegExp(`Backup ${id} restored`));
    assert.equal((await counts()).products, 4);
  });

  it("a wrong key and a tampered file are each refused in one line, exit 1, nothing changed", async () => {
    const before = await counts();
    const wrong = await run(["restore", id, "--yes"], { BACKUP_KEY: randomBytes(32).toString("base64") });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /made with another BACKUP_KEY; nothing was changed/);
    noStack(wrong);

    const file = join(backups(), id, "db.ndjson.gz.enc");
    const bytes = await readFile(file);
    bytes[bytes.length - 5] ^= 0xff;
    await writeFile(file, bytes);
    const tampered = await run(["verify", id]);
    assert.equal(tampered.code, 1);
    assert.match(tampered.stderr, /db\.ndjson\.gz\.enc has been changed or is corrupt/);
    assert.match(tampered.stderr, /FAILED verification/);
    noStack(tampered);
    const restore = await run(["restore", id, "--yes"]);
    assert.equal(restore.code, 1);
    assert.match(restore.stderr, /has been changed or is corrupt; nothing was changed/);
    assert.deepEqual(await counts(), before);
  });

  it("a backup of an older schema this version has no migration from is refused in one line, nothing changed", async () => {
    const old = await createBackup(mongoose.connection.db!, new LocalDestination(backups()), { backupKey: Buffer.from(backupKey, "base64"), schemaVersion: 0 });
    const before = await counts();
    const res = await run(["restore", old.id, "--yes"]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /^niaga: this backup is of an older schema, and this version of Niaga has no migration from schema 0; nothing was changed \(/);
    noStack(res);
    assert.deepEqual(await counts(), before);
  });

  it("bad usage and bad configuration exit 2 with one line saying what", async () => {
    const cases: [string[], RegExp, Record<string, string>?][] = [
      [[], /name a subcommand/],
      [["frob"], /unknown subcommand: frob/],
      [["restore"], /name the backup to restore/],
      [["restore", id, "--into", "postgres://x"], /is not a mongodb:\/\/ or mongodb\+srv:\/\/ URL/],
      [["list", "--bogus"], /unknown flag: --bogus/],
      [["restore", id, "--from", "tape"], /--from must be local or offsite, not "tape"/],
      [["verify", "--from", "offsite"], /--from offsite: offsite backups are not configured \(set BACKUP_S3_ENDPOINT/],
      [["create"], /BACKUP_KEY: not set/, { BACKUP_KEY: "" }],
      [["create"], /BACKUP_KEY: must differ from ENCRYPTION_KEY/, { BACKUP_KEY: encryptionKey.toString("base64") }],
      [["verify"], /BACKUP_KEY: expected base64 of exactly 32 bytes/, { BACKUP_KEY: "short" }],
    ];
    for (const [args, message, env] of cases) {
      const res = await run(args, env);
      assert.equal(res.code, 2, `${args.join(" ")}: ${res.stderr}`);
      assert.match(res.stderr, message);
      noStack(res);
    }
  });
});
