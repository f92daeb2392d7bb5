#!/usr/bin/env node
// The `niaga` command. The platform ships as TypeScript run through tsx, so an installed
// package needs no build step.
import { register } from "tsx/esm/api";

register();
const { main } = await import("./cli/index.ts");
process.exitCode = await main(process.argv.slice(2));
