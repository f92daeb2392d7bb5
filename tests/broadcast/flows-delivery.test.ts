// What happens once a broadcast is on its way, as the seller and customers see it: pausing
// and resuming from the chat, customers opting out (the command, the button under every
// broadcast, "STOP") and back in, and the seller's progress message — edited in place where
// the channel edits, only at the quarters where it cannot — and the final report in words.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Broadcast } from "../../flows/broadcast/index.ts";
import { broadcastProgress } from "../../flows/broadcast/progress-notices.ts";
import type { Outbound } from "../../flows/engine/index.ts";
import { t } from "../../locales/i18n.ts";
import { Customer } from "../../storage/models/index.ts";
import { eventually } from "../support/eventually.ts";
import { useTestDatabase } from "../support/mongo.ts";
import type { ChatUser } from "../tenant-admin/admin-fixture.ts";
import { broadcastWorld, composeToAll, type BroadcastWorld, type EditingChannel } from "./flow-fixture.ts";

useTestDatabase("broadcast_flows_delivery");

async function sendNow(owner: ChatUser, text: string): Promise<void> {
  await composeToAll(owner, text);
  await owner.press("now");
  assert.deepEqual(owner.keys, ["broadcast.compose.started"]);
}

async function running(world: BroadcastWorld, number: number): Promise<void> {
  await eventually(async () => (await Broadcast.findOne({ tenantId: world.shop.tenant, number }).lean().exec())?.status === "sending", `broadcast #${number} to be sending`);
}

/** What the seller's chat was sent outside their turns, as text. */
function sellerNotices(world: BroadcastWorld): string[] {
  return world.console.delivered().map(({ outbound }) => words(outbound));
}

function words(outbound: Outbound): string {
  const text = outbound.text;
  return "inline" in text ? Object.values(text.inline).join("") : t("id", text.key, text.params);
}

describe("pausing and resuming", () => {
  test("a paused broadcast sends nothing until resumed; then everyone gets it once, and the seller hears both", async () => {
    const world = await broadcastWorld({ customers: 4 });
    const owner = world.member("owner-1");
    await sendNow(owner, "Promo kilat");
    await running(world, 1);
    await owner.say("/siaran 1");
    assert.deepEqual(owner.choiceIds, ["cmd:siaran:1:jeda", "cmd:siaran:1:batal"]);
    await owner.press("cmd:siaran:1:jeda");
    assert.deepEqual(owner.keys, ["broadcast.one.paused", "inline"]);
    assert.deepEqual(owner.choiceIds, ["cmd:siaran:1:lanjut", "cmd:siaran:1:batal"]);
    await world.deliver();
    assert.equal(world.telegram.delivered().length, 0, "nothing goes out while paused");
    assert.deepEqual(await owner.say("/siaran 1 jeda"), [t("id", "broadcast.refused.wrong_status", { number: 1 })]);

    await owner.press("cmd:siaran:1:lanjut");
    assert.deepEqual(owner.keys, ["broadcast.one.resumed", "inline"]);
    await world.deliver();
    assert.equal(world.received().size, 4);
    assert.ok([...world.received().values()].every((texts) => texts.length === 1));
    await eventually(() => sellerNotices(world).some((n) => n.startsWith("▶️ Siaran #1 dilanjutkan oleh Sari")), "the resumed notice");
    assert.ok(sellerNotices(world).some((n) => n.startsWith("⏸ Siaran #1 dijeda oleh Sari")), sellerNotices(world).join("\n---\n"));
  });
});

describe("cancelling a running broadcast", () => {
  test("the rest are not sent, the seller is told, and the broadcast says cancelled", async () => {
    const world = await broadcastWorld({ customers: 3 });
    const owner = world.member("owner-1");
    await sendNow(owner, "Salah harga, batalkan!");
    await running(world, 1);
    await owner.say("/siaran 1 batal");
    await owner.press("cmd:siaran:1:yakin");
    assert.deepEqual(owner.keys, ["broadcast.one.cancelled", "inline"]);
    await world.deliver();
    assert.equal(world.telegram.delivered().length, 0);
    await eventually(() => sellerNotices(world).some((n) => n.startsWith("⛔ Siaran #1 dibatalkan oleh Sari")), "the cancelled notice");
    assert.match((await owner.say("/siaran 1"))[0]!, /^📣 Siaran #1 · dibatalkan/);
  });
});

describe("a channel restricting the store", () => {
  test("the seller hears the broadcast is paused, on which channel, with a resume button", async () => {
    const world = await broadcastWorld({ customers: 1 });
    const owner = world.member("owner-1");
    await sendNow(owner, "Promo");
    await running(world, 1);
    const broadcast = (await world.broadcasting.get(world.shop.id, 1))!;
    const notices = broadcastProgress(world.outbox, world.broadcasting, { info: () => undefined, warn: () => undefined, error: () => undefined });
    notices({ type: "restricted", tenantId: world.shop.id, broadcast: { ...broadcast, status: "paused", pausedReason: "restricted" }, channel: "telegram", detail: "429: retry after 3600" });
    const notice = await eventually(() => world.console.delivered().find(({ outbound }) => words(outbound).startsWith("⚠️ Telegram membatasi")), "the restriction notice");
    assert.equal(words(notice.outbound), t("id", "broadcast.progress.restricted", { number: 1, channel: "Telegram", command: "siaran" }));
    assert.deepEqual(notice.outbound.choices?.map((c) => c.id), ["cmd:siaran:1:lanjut"]);
  });
});

describe("opting out and back in", () => {
  test("/berhenti leaves a customer out of the next broadcast, says so twice politely, and /langganan brings them back", async () => {
    const world = await broadcastWorld({ customers: 3 });
    const owner = world.member("owner-1");
    const [rina, budi] = world.customers;
    const customer = world.customer(rina!);
    assert.deepEqual(await customer.say("/berhenti"), [t("id", "broadcast.subscription.stopped", { store: "Toko Siaran", command: "langganan" })]);
    assert.deepEqual(await customer.say("/berhenti"), [t("id", "broadcast.subscription.already_stopped", { store: "Toko Siaran", command: "langganan" })]);
    await sendNow(owner, "Siaran pertama");
    await world.deliver();
    assert.deepEqual([...world.received().keys()].sort(), [budi!.channelUserId, world.customers[2]!.channelUserId].sort());

    assert.deepEqual(await customer.say("/langganan"), [t("id", "broadcast.subscription.subscribed", { store: "Toko Siaran", command: "berhenti" })]);
    assert.deepEqual(await customer.say("/langganan"), [t("id", "broadcast.subscription.already_subscribed", { store: "Toko Siaran", command: "berhenti" })]);
    await sendNow(owner, "Siaran kedua");
    await world.deliver();
    assert.deepEqual(world.received().get(rina!.channelUserId), ["Siaran kedua"]);
  });

  test("the button under a broadcast and a bare \"STOP\" opt out too", async () => {
    const world = await broadcastWorld({ customers: 2 });
    const owner = world.member("owner-1");
    await sendNow(owner, "Ada tombol berhenti di bawah");
    await world.deliver();
    const [first, second] = world.customers;
    const message = world.telegram.delivered().find(({ to }) => to.chatId === first!.channelUserId)!.outbound;
    const stop = message.choices?.at(-1);
    assert.equal(stop?.id, "cmd:berhenti");
    const customer = world.customer(first!);
    await customer.press(stop!.id);
    assert.deepEqual(customer.keys, ["broadcast.subscription.stopped"]);
    const other = world.customer(second!);
    await other.say("STOP");
    assert.deepEqual(other.keys, ["broadcast.subscription.stopped"]);
    const optedOut = await Customer.find({ tenantId: world.shop.tenant, broadcastOptOut: true } as never).lean().exec();
    assert.deepEqual(optedOut.map((c) => c.channelUserId).sort(), [first!.channelUserId, second!.channelUserId].sort());
  });

  test("a customer who opts out after the start is skipped at their turn, and the report counts them", async () => {
    const world = await broadcastWorld({ customers: 3 });
    const owner = world.member("owner-1");
    await sendNow(owner, "Promo sore");
    await running(world, 1);
    await world.customer(world.customers[1]!).say("/berhenti");
    await world.deliver();
    assert.equal(world.received().size, 2);
    const report = await eventually(() => sellerNotices(world).find((n) => n.startsWith("✅ Siaran #1 selesai.")), "the final report");
    assert.match(report, /Terkirim: 2 dari 3/);
    assert.match(report, /Dilewati: 1 \(berhenti langganan 1\)/);
  });
});

describe("the seller's progress message and report", () => {
  test("sent when it starts, edited in place as it goes, and a final report in words with the failures by reason", async () => {
    const world = await broadcastWorld({ customers: 6 });
    const owner = world.member("owner-1");
    const blocked = world.customers[5]!;
    world.telegram.failFor({ tenantId: world.shop.id, chatId: blocked.channelUserId }, "blocked");
    await sendNow(owner, "Diskon akhir tahun");
    await world.deliver();
    const report = await eventually(() => sellerNotices(world).find((n) => n.startsWith("✅ Siaran #1 selesai.")), "the final report");
    assert.equal(
      report,
      ["✅ Siaran #1 selesai.", "Terkirim: 5 dari 6", "Gagal: 1 (memblokir bot 1)", "Dilewati: 0 (-)"].join("\n"),
    );
    const notices = sellerNotices(world);
    const channel = world.console as EditingChannel;
    assert.equal(notices.filter((n) => n.startsWith("📣 Siaran #1 sedang dikirim")).length, 1, "one progress message, then edits");
    assert.match(words(channel.edits.at(-1)!.outbound), /^📣 Siaran #1 selesai dikirim\n/);
    assert.ok(channel.edits.length >= 1, "the progress message was edited");
    assert.ok(channel.edits.every((edit) => edit.messageId === channel.edits[0]!.messageId));
    const last = words(channel.edits.at(-1)!.outbound);
    assert.match(last, /✅ 5 terkirim · ❌ 1 gagal · ⏭ 0 dilewati · ⏳ 0 sisa \(dari 6\)/);
    assert.deepEqual(channel.edits.at(-1)!.outbound.choices, [], "the finished progress message has no pause button left");
    assert.deepEqual(channel.edits.at(-2)?.outbound.choices?.map((c) => c.id) ?? ["cmd:siaran:1:jeda"], ["cmd:siaran:1:jeda"]);
    const stored = await Broadcast.findOne({ tenantId: world.shop.tenant, number: 1 }).lean().exec();
    assert.equal(stored?.progressChat?.messageId, channel.edits[0]!.messageId, "the progress message's id is kept with the broadcast");
  });

  test("on a channel that cannot edit, only the quarters are told as new messages", async () => {
    const world = await broadcastWorld({ customers: 12, sellerChannel: { edits: false } });
    const owner = world.member("owner-1");
    await sendNow(owner, "Tanpa edit");
    await world.deliver();
    await eventually(() => sellerNotices(world).some((n) => n.startsWith("✅ Siaran #1 selesai.")), "the final report");
    const progress = sellerNotices(world).filter((n) => n.startsWith("📣 Siaran #1 sedang dikirim"));
    assert.ok(progress.length >= 1 && progress.length <= 4, `the first message and at most three quarters: ${progress.length}`);
  });
});
