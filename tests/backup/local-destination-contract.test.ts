// The local directory destination held to the same contract as the S3 one
// (tests/backup/destination-contract.ts): streamed round trips, newest first, not found,
// removal, and nothing visible of a file whose body failed half way.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { LocalDestination } from "../../storage/backup/local-destination.ts";
import { destinationContract } from "./destination-contract.ts";

const root = mkdtempSync(join(tmpdir(), "niaga-local-destination-"));
after(() => rmSync(root, { recursive: true, force: true }));

let made = 0;
destinationContract("local directory", async () => new LocalDestination(join(root, `d${++made}`)));
