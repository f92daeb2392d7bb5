// A test reporter for `TEST_TIMINGS=<file> npm test`: keeps, per test file, the sum of its
// top-level tests' durations in <file>, slowest first, so the run's slow files can be found
// and shortened. The file is rewritten as each test ends (the run may exit as soon as the
// last test is done, before a reporter's closing output would be written).
import { writeFileSync } from "node:fs";
import { relative } from "node:path";

export default async function* timings(source) {
  const out = process.env.TEST_TIMINGS;
  const perFile = new Map();
  for await (const event of source) {
    if (!out || (event.type !== "test:pass" && event.type !== "test:fail") || event.data.nesting !== 0 || !event.data.file) continue;
    const file = relative(process.cwd(), event.data.file);
    perFile.set(file, (perFile.get(file) ?? 0) + (event.data.details?.duration_ms ?? 0));
    const rows = [...perFile].sort((a, b) => b[1] - a[1]).map(([name, ms]) => `${(ms / 1000).toFixed(1).padStart(8)} s  ${name}`);
    const total = [...perFile.values()].reduce((a, b) => a + b, 0);
    writeFileSync(out, `${rows.join("\n")}\n${(total / 1000).toFixed(1).padStart(8)} s  in all\n`);
  }
  yield "";
}
