// A test reporter for `TEST_TIMINGS=<file> npm test`: writes, per test file, the sum of its
// top-level tests' durations, slowest first, so the run's slow files can be found and shortened.
import { relative } from "node:path";

export default async function* timings(source) {
  const perFile = new Map();
  for await (const event of source) {
    if ((event.type === "test:pass" || event.type === "test:fail") && event.data.nesting === 0 && event.data.file) {
      const file = relative(process.cwd(), event.data.file);
      const ms = event.data.details?.duration_ms ?? 0;
      perFile.set(file, (perFile.get(file) ?? 0) + ms);
    }
  }
  const rows = [...perFile].sort((a, b) => b[1] - a[1]).map(([file, ms]) => `${(ms / 1000).toFixed(1).padStart(8)} s  ${file}`);
  const total = [...perFile.values()].reduce((a, b) => a + b, 0);
  yield `${rows.join("\n")}\n${(total / 1000).toFixed(1).padStart(8)} s  in all\n`;
}
