// The CLI's progress of long backup work (bots/cli/progress.ts): the line drawn, as a pure
// function, and how often the reporter writes on a terminal and elsewhere.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { progressReporter, renderProgress } from "../../bots/cli/progress.ts";
import { t as translate } from "../../locales/i18n.ts";
import type { BackupProgress } from "../../storage/backup/progress.ts";

const t = (key: string, params?: Record<string, unknown>) => translate("en", key, params);

describe("the progress line", () => {
  it("on a terminal: phase, where, collection, bar, percent, done/total and rate", () => {
    const line = renderProgress(
      { progress: { phase: "restore", destination: "offsite", collection: "orders", done: 50_000, total: 100_000 }, rate: 8_400, columns: 200, bar: true },
      t,
    );
    assert.equal(line, `Restoring (offsite) orders  [${"█".repeat(12)}${"░".repeat(12)}]   50%  50,000/100,000 docs  8,400 docs/s`);
  });

  it("without a collection it counts megabytes; without a total, no bar and no percent", () => {
    assert.equal(
      renderProgress({ progress: { phase: "verify", destination: "local", done: 3 * 1024 * 1024, total: 12 * 1024 * 1024 }, columns: 200, bar: true }, t),
      `Verifying (local)  [${"█".repeat(6)}${"░".repeat(18)}]   25%  3.0/12.0 MB`,
    );
    assert.equal(renderProgress({ progress: { phase: "database", collection: "logs", done: 1_500 }, rate: 0, columns: 200, bar: true }, t), "Backing up the database logs  1,500 docs");
    assert.equal(renderProgress({ progress: { phase: "manifest" }, columns: 200, bar: true }, t), "Writing the manifest");
  });

  it("a count past an estimated total stays at 100%; a status line has no bar; a long line is cut to the room there is", () => {
    const over: BackupProgress = { phase: "database", collection: "orders", done: 120, total: 100 };
    assert.match(renderProgress({ progress: over, columns: 200, bar: true }, t), /\[█{24}\] {2}100% {2}120\/100 docs$/);
    assert.equal(renderProgress({ progress: over, columns: 200, bar: false }, t), "Backing up the database orders  100%  120/100 docs");
    const cut = renderProgress({ progress: over, columns: 20, bar: true }, t);
    assert.equal(cut, "Backing up the data…");
  });

  it("speaks Indonesian too", () => {
    const line = renderProgress({ progress: { phase: "restore", collection: "orders", done: 10, total: 20 }, rate: 5, columns: 200, bar: false }, (key, params) => translate("id", key, params));
    assert.equal(line, "Memulihkan orders   50%  10/20 dok  5 dok/dtk");
  });
});

describe("the progress reporter", () => {
  /** Two collections of 100,000 documents, reported every 500, `stepMs` apart. */
  const feed = (report: (p: BackupProgress) => void, clock: { now: number }, stepMs: number) => {
    for (const collection of ["orders", "products"]) {
      for (let done = 0; done <= 100_000; done += 500) {
        clock.now += stepMs;
        report({ phase: "restore", destination: "local", collection, done, total: 100_000 });
      }
    }
  };

  it("elsewhere than a terminal: a line as the phase starts, then at most one every 10 s, never thousands", () => {
    const lines: string[] = [];
    const clock = { now: 0 };
    const progress = progressReporter({ write: (text) => lines.push(text) }, t, { now: () => clock.now });
    progress.update({ phase: "verify", destination: "local", done: 0, total: 10 });
    feed(progress.update, clock, 100);
    progress.end();
    const text = lines.join("");
    assert.ok(text.split("\n").length < 12, text);
    assert.match(text, /^Verifying \(local\)…\nRestoring \(local\)…\nRestoring \(local\) orders +\d+% {2}[\d,]+\/100,000 docs {2}[\d,]+ docs\/s\n/);
    assert.ok(!text.includes("\r") && !text.includes("\x1b"), "no carriage return, no escape sequence");
  });

  it("on a terminal: one line redrawn in place, at most every 100 ms, and ended with a newline", () => {
    const writes: string[] = [];
    const clock = { now: 0 };
    const progress = progressReporter({ write: (text) => writes.push(text), isTTY: true, columns: 100 }, t, { now: () => clock.now });
    feed(progress.update, clock, 10);
    progress.end();
    assert.ok(writes.length <= 402 / 10 + 4, `${writes.length} redraws of 402 reports`);
    assert.ok(writes.slice(0, -1).every((w) => w.startsWith("\rRestoring (local) ") && w.endsWith("\x1b[K") && w.length < 100 + 5));
    assert.equal(writes.at(-1), "\n");
    assert.match(writes.at(-2)!, /products {2}\[█{24}\] {2}100% {2}100,000\/100,000 docs/);
  });
});
