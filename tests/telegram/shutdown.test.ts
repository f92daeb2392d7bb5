// `StoreBots.close()`, what `niaga start` does on SIGTERM: no new updates, the turn under
// way finishes and its reply arrives, nothing new starts or goes out.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { StoreBotError } from "../../adapters/telegram/store-bots.ts";
import { startStores, words, type Stores } from "./store-fixture.ts";
import { eventually } from "../support/eventually.ts";

describe("store bots shutting down", () => {
  let stores: Stores;
  before(async () => {
    stores = await startStores();
  });
  after(() => stores.close());

  it("finish the turn under way, then refuse webhooks with 503, sends and starts", async () => {
    const { tg, bots, publicUrl } = stores;
    const polling = await stores.createStore({ name: "Toko Tutup" });
    const hooked = await stores.createStore({ name: "Toko Kait", mode: "webhook" });
    await bots.start(polling.id);
    await bots.start(hooked.id);
    const sari = stores.user();

    // Telegram is slow to take the reply: the turn is still under way when the shutdown begins.
    tg.failNext(polling.token, "sendMessage", { delayMs: 300 });
    const asked = await tg.sendCommand(polling.token, sari, "/start");
    await eventually(() => tg.calls(polling.token, "sendMessage").length > 0, "the reply to be on its way");
    assert.equal(await bots.close(), true, "everything under way finished within the grace period");
    assert.deepEqual(tg.sent(polling.token, sari).filter((m) => m.message_id > asked.message_id).map(words), ["Selamat datang di Toko Tutup! Mau apa?"]);
    assert.deepEqual(bots.running(), []);

    const posted = await fetch(`${publicUrl}/telegram/${hooked.slug}`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    assert.equal(posted.status, 503, "Telegram keeps the update for the next start");
    const report = await bots.sendTo(polling.id, String(sari.id), [{ text: { inline: { id: "Halo" } } }]);
    assert.deepEqual([report.ok, report.reason], [false, "shutting-down"]);
    await assert.rejects(bots.start(polling.id), (error: unknown) => error instanceof StoreBotError && error.reason === "shutting-down");
  });
});
