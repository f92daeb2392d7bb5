// A "token revoked" alert whose store got a new token while the instance that saw the
// revocation was gone (`niaga tenant set` from another process, a restart in between) is
// resolved by the platform's periodic check (bots/store-alerts.ts `resolveReplacedTokens`).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { alertKey, OwnerAlerts } from "../../admin-bot/owner-alerts.ts";
import { recordRevoked, saveToken } from "../../adapters/telegram/bot-tokens.ts";
import { resolveReplacedTokens } from "../../bots/store-alerts.ts";
import { OwnerAlertRecord } from "../../storage/models/index.ts";
import { alertText, useOwnerAlertsDatabase } from "../support/owner-alerts.ts";
import { recordingOutbox } from "../support/recording-outbox.ts";
import { seedStore } from "../support/stores.ts";

useOwnerAlertsDatabase("replaced_tokens");
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe("a revoked token replaced behind the platform's back", () => {
  test("stays open while the store's token is still revoked, and is resolved once, with one recovered message, when it is replaced", async () => {
    const store = await seedStore({ slug: "toko-kunci", name: "Toko Kunci", telegram: { token: "123456:OLD-token-value" } });
    const { outbox, channel } = recordingOutbox({ channel: "owner" });
    const alerts = new OwnerAlerts({ log: quiet, outbox, ownerChatIds: [7], locale: "en" });
    await recordRevoked(store.id);
    await alerts.raise({ kind: "token-revoked", store: { tenantId: store.id, slug: store.slug, name: store.name }, params: { slug: store.slug } });

    assert.deepEqual(await resolveReplacedTokens(alerts), [], "still revoked: nothing to resolve");
    await saveToken(store.id, "123456:NEW-token-value", "toko_kunci_bot");
    assert.deepEqual(await resolveReplacedTokens(alerts), ["toko-kunci"]);
    assert.deepEqual(await resolveReplacedTokens(alerts), [], "resolved once");
    await alerts.flush();

    const alert = await OwnerAlertRecord.findOne({ key: alertKey("token-revoked", "toko-kunci") }).lean().exec();
    assert.equal(alert?.state, "resolved");
    assert.equal(channel.sends.length, 2);
    assert.match(alertText(channel.sends[1]!.outbounds[0]!), /Toko Kunci \(toko-kunci\) · Bot token revoked: recovered/);
  });
});
