// A real browser for the pages people open on their phones: Debian's chromium (`apt-get
// install chromium`; .ci/run does it) driven by playwright-core, headless, with a fresh
// profile each time and nothing reaching out to the network on its own.
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";

/** A small phone's screen, in CSS pixels. */
export const PHONE = { width: 360, height: 740 };

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface PhoneBrowser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** Chromium with a phone-sized viewport, set to Indonesian like most of the stores' customers. */
export async function launchPhoneBrowser(): Promise<PhoneBrowser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium; .ci/run does)`);
  const userDataDir = await mkdtemp(join(tmpdir(), "niaga-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: PHONE,
    locale: "id-ID",
    timeout: 60_000,
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}
