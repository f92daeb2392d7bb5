// Unhandled-error alerts (admin-bot/error-alerts.ts): a store's failing turns reach the owner
// naming the store and the error id; a storm of one failure is one alert with a count.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { alertOnEngineFailure, alertOnHttpFailure } from "../../admin-bot/error-alerts.ts";
import { OwnerAlerts } from "../../admin-bot/owner-alerts.ts";
import { OwnerAlertRecord, OwnerNoticeRecord } from "../../storage/models/index.ts";
import { eventually } from "../support/eventually.ts";
import { recordingOutbox } from "../support/recording-outbox.ts";
import { alertText, useOwnerAlertsDatabase } from "../support/owner-alerts.ts";

useOwnerAlertsDatabase("error_alerts");
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const textOf = (outbound: { text: unknown }) => alertText(outbound);
const tenant = { id: "64b000000000000000000001", slug: "toko-anggrek", name: "Toko Anggrek" };


describe("unhandled-error alerts", () => {
  test("a storm of the same failure in one store is one alert naming the store, with the first error id and a count", async () => {
    const { outbox, channel } = recordingOutbox({ channel: "owner" });
    const alerts = new OwnerAlerts({ log: quiet, outbox, ownerChatIds: [7], locale: "en" });
    const onFailure = alertOnEngineFailure(alerts);
    const error = new TypeError("cannot read properties of undefined (reading 'price')");
    onFailure({ tenant, errorId: "AAAA0001", what: "action ordering.place-order", error });
    await eventually(async () => (await OwnerAlertRecord.countDocuments({}).exec()) === 1, "the first alert stored");
    for (let i = 2; i <= 5; i++) onFailure({ tenant, errorId: `AAAA000${i}`, what: "action ordering.place-order", error });
    await eventually(async () => (await OwnerAlertRecord.findOne({}).lean().exec())?.count === 5, "five counted");
    onFailure({ tenant: { ...tenant, slug: "toko-lain", name: "Toko Lain" }, errorId: "BBBB0001", what: "turn", error });
    await eventually(async () => (await OwnerNoticeRecord.countDocuments({}).exec()) === 2, "another store's alert");
    await alerts.flush();
    assert.equal(channel.sends.length, 2);
    assert.match(textOf(channel.sends[0]!.outbounds[0]!), /^🟠 Toko Anggrek \(toko-anggrek\) · Unhandled error\naction ordering\.place-order failed with error id AAAA0001: cannot read properties/);
    assert.match(textOf(channel.sends[1]!.outbounds[0]!), /^🟠 Toko Lain \(toko-lain\) · Unhandled error\nturn failed with error id BBBB0001/);
  });

  test("a secret in an error message is masked before it is stored or sent", async () => {
    const { outbox, channel } = recordingOutbox({ channel: "owner" });
    const alerts = new OwnerAlerts({ log: quiet, outbox, ownerChatIds: [7], locale: "en" });
    alertOnHttpFailure(alerts)({ errorId: "CCCC0001", route: "/telegram/:slug", error: new Error("GET https://api.telegram.org/bot123456789:AAHsecretsecretsecretsecretsecret12/getMe failed") });
    await eventually(async () => (await OwnerNoticeRecord.countDocuments({}).exec()) === 1, "the alert stored");
    await alerts.flush();
    const text = textOf(channel.sends[0]!.outbounds[0]!);
    assert.match(text, /^🟠 Platform · Unhandled error\nHTTP \/telegram\/:slug failed with error id CCCC0001/);
    assert.doesNotMatch(text, /AAHsecret/);
    assert.doesNotMatch(JSON.stringify(await OwnerAlertRecord.find({}).lean().exec()), /AAHsecret/);
  });
});
