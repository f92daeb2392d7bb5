// Run only by tests/unit/test-runner.test.ts (folders starting with a dot are not collected):
// a test that passes but leaves a timer running, which keeps its process alive for ever.
import { test } from "node:test";

test("passes and leaves a timer running", () => {
  setInterval(() => undefined, 1000);
});
