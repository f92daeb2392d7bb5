// Process entry for the embedded server (`tsx storage/embedded/main.ts [--port N]`);
// `niaga db` does the same through runEmbeddedServerCli.
import { runEmbeddedServerCli } from "./cli.ts";

process.exitCode = await runEmbeddedServerCli(process.argv.slice(2));
