// `/siaran` as owners and admins use it, at the console with numbered choices: composing
// (text, image, buttons, audience), the audience size and the message exactly as customers
// get it, sending now (the runner then delivers once to each), scheduling in the store's
// own time zone, drafts, cancelling, and every refusal said in words. Staff are refused.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Broadcast } from "../../flows/broadcast/index.ts";
import { t } from "../../locales/i18n.ts";
import { useTestDatabase } from "../support/mongo.ts";
import { broadcastWorld, composeToAll, type BroadcastWorld } from "./flow-fixture.ts";

useTestDatabase("broadcast_flows");

async function scheduledAt(world: BroadcastWorld, number: number): Promise<Date | undefined> {
  return (await Broadcast.findOne({ tenantId: world.shop.tenant, number }).lean().exec())?.scheduledAt ?? undefined;
}

describe("writing a broadcast", () => {
  test("an owner writes one with an image and two buttons, sees 3 recipients and the message as customers see it, sends it now: each customer gets it once", async () => {
    const world = await broadcastWorld({ customers: 3 });
    const owner = world.member("owner-1");
    world.console.holdFile(world.shop.id, "photo-1", Buffer.from("a promo picture"));

    await owner.say("/siaran");
    assert.deepEqual(owner.keys, ["broadcast.menu.title"]);
    assert.deepEqual(owner.choiceIds, ["new", "drafts", "list"]);
    await owner.press("new");
    assert.deepEqual(owner.keys, ["broadcast.compose.ask_text"]);
    await owner.say("Promo Natal 🎄\nNetflix diskon 20% sampai 25 Desember!");
    assert.deepEqual(owner.choiceIds, ["add", "skip"]);
    await owner.press("add");
    await owner.send({ kind: "media", media: { type: "photo", fileRef: "photo-1", mimeType: "image/jpeg" } });
    assert.deepEqual(owner.keys, ["broadcast.compose.ask_buttons"]);
    assert.deepEqual(owner.choiceIds, ["product", "catalog", "done"]);
    await owner.press("product");
    assert.deepEqual(owner.keys, ["broadcast.compose.ask_button_product"]);
    await owner.say("tidak-ada");
    assert.deepEqual(owner.keys, ["broadcast.compose.unknown_product"]);
    await owner.say("netflix-1m");
    assert.deepEqual(owner.choiceIds, ["product", "catalog", "done"]);
    await owner.press("catalog");
    assert.deepEqual(owner.choiceIds, ["product", "done"], "the catalog button is there once");
    await owner.press("done");
    assert.deepEqual(owner.keys, ["broadcast.compose.ask_audience"]);
    assert.deepEqual(owner.choiceIds, ["all", "channel", "buyers", "period", "lapsed"]);
    const review = await owner.press("all");

    assert.equal(review[0], t("id", "broadcast.compose.review", { number: 1, audience: "semua pelanggan", total: "3", byChannel: "Telegram 3" }));
    assert.equal(review[1], t("id", "broadcast.compose.preview_follows"));
    // The preview is the message a recipient gets: the image, the text, the buttons and the opt-out.
    const preview = owner.last[2]!;
    assert.equal(preview.media?.type, "photo");
    assert.equal(Buffer.from(preview.media!.data!).toString(), "a promo picture");
    assert.match(review[2]!, /Promo Natal 🎄\nNetflix diskon 20%/);
    assert.deepEqual(preview.choices?.map((c) => c.id), ["cmd:katalog:netflix-1m", "cmd:katalog", "cmd:berhenti"]);
    assert.deepEqual(owner.choiceIds, ["now", "schedule", "draft", "drop"]);

    assert.deepEqual(await owner.press("now"), [t("id", "broadcast.compose.started", { number: 1, total: "3" })]);
    await world.deliver();
    const received = world.received();
    assert.equal(received.size, 3);
    for (const customer of world.customers) assert.deepEqual(received.get(customer.channelUserId), ["Promo Natal 🎄\nNetflix diskon 20% sampai 25 Desember!"]);
    assert.ok(world.telegram.delivered().every(({ outbound }) => outbound.media?.type === "photo"));
    await world.deliver();
    assert.equal(world.telegram.delivered().length, 3, "a second pass sends nobody twice");
  });

  test("a text longer than a caption is told so and goes on without an image", async () => {
    const world = await broadcastWorld();
    const owner = world.member("owner-1");
    await owner.say("/siaran");
    await owner.press("new");
    await owner.say("Panjang sekali. ".repeat(70).trim());
    assert.deepEqual(owner.keys, ["broadcast.compose.too_long_for_image", "broadcast.compose.ask_buttons"]);
  });

  test("audiences: one channel, buyers of a product, a date range and lapsed customers are each asked for what they need", async () => {
    const world = await broadcastWorld({ customers: 2 });
    const owner = world.member("owner-1");
    const upTo = async (kind: string) => {
      await owner.say("/siaran");
      await owner.press("new");
      await owner.say("Halo pelanggan");
      await owner.press("skip");
      await owner.press("done");
      return owner.press(kind);
    };
    await upTo("channel");
    assert.deepEqual(owner.keys, ["broadcast.compose.ask_channel"]);
    assert.deepEqual(owner.choiceIds, ["telegram"]);
    await owner.press("telegram");
    assert.match(owner.last.map((o) => ("key" in o.text ? JSON.stringify(o.text.params) : "")).join(), /hanya Telegram/);
    await owner.press("draft");

    await upTo("buyers");
    assert.deepEqual(owner.keys, ["broadcast.compose.ask_buyers"]);
    await owner.say("netflix-1m");
    assert.equal(owner.keys[0], "broadcast.compose.review");
    await owner.press("draft");

    await upTo("period");
    await owner.say("kemarin sampai besok");
    assert.deepEqual(owner.keys, ["broadcast.compose.bad_period"]);
    await owner.say("2026-11-01 2026-11-30");
    assert.equal(owner.keys[0], "broadcast.compose.review");
    await owner.press("draft");

    await upTo("lapsed");
    await owner.say("30");
    assert.equal(owner.keys[0], "broadcast.compose.review");
    await owner.press("draft");

    const saved = await world.broadcasting.list(world.shop.id, { status: ["draft"] });
    const audiences = saved.map((b) => b.audience).sort((a, b) => a.kind.localeCompare(b.kind));
    assert.deepEqual(audiences.map((a) => a.kind), ["all", "buyers", "lapsed", "period"]);
    assert.deepEqual(audiences[0], { kind: "all", channel: "telegram" });
    assert.deepEqual(audiences[1], { kind: "buyers", productCode: "netflix-1m" });
    assert.deepEqual(audiences[2], { kind: "lapsed", days: 30 });
    // The store's days, whole: from midnight in Jakarta to the last moment of the 30th.
    assert.deepEqual(audiences[3], { kind: "period", from: new Date("2026-10-31T17:00:00Z"), to: new Date("2026-11-30T16:59:59.999Z") });
  });
});

describe("scheduling in the store's time zone", () => {
  test("the same typed time is two hours apart for a store in Jayapura and one in Jakarta; a bad time shows the format", async () => {
    const jakarta = await broadcastWorld({ timezone: "Asia/Jakarta" });
    const jayapura = await broadcastWorld({ timezone: "Asia/Jayapura" });
    for (const world of [jakarta, jayapura]) {
      const owner = world.member("owner-1");
      await composeToAll(owner, "Promo malam Natal");
      await owner.press("schedule");
      assert.deepEqual(owner.keys, ["broadcast.compose.ask_when"]);
      await owner.say("24-12-2026 jam 7 malam");
      assert.deepEqual(owner.last.map((o) => ("key" in o.text ? o.text.key : "")), ["broadcast.compose.bad_when"]);
      assert.match((await owner.say("2026-02-30 19:00"))[0]!, /2026-12-24 19:00/, "an impossible day shows the format too");
      await owner.say("2026-12-24 19:00");
      assert.deepEqual(owner.keys, ["broadcast.compose.scheduled"]);
    }
    assert.deepEqual(await scheduledAt(jakarta, 1), new Date("2026-12-24T12:00:00Z"));
    assert.deepEqual(await scheduledAt(jayapura, 1), new Date("2026-12-24T10:00:00Z"));
    const shown = await jayapura.member("owner-1").say("/siaran 1");
    assert.match(shown[0]!, /24\/12\/2026,? 19[.:]00 \(Asia\/Jayapura\)/);
  });

  test("\"besok 19:00\" is tomorrow evening in the store's zone; a time in the past is refused and asked again", async () => {
    const world = await broadcastWorld({ timezone: "Asia/Jakarta" });
    const owner = world.member("owner-1");
    await composeToAll(owner, "Flash sale besok");
    await owner.press("schedule");
    await owner.say("2026-12-01 19:00");
    assert.deepEqual(owner.keys, ["broadcast.refused.bad_time", "broadcast.compose.ask_when"]);
    await owner.say("besok 19:00");
    assert.deepEqual(owner.keys, ["broadcast.compose.scheduled"]);
    assert.deepEqual(await scheduledAt(world, 1), new Date("2026-12-04T12:00:00Z"));
  });
});

describe("drafts and cancelling", () => {
  test("a draft is kept, found in the drafts menu, and sent later from /siaran N", async () => {
    const world = await broadcastWorld({ customers: 2 });
    const owner = world.member("owner-1");
    await composeToAll(owner, "Stok baru masuk");
    assert.deepEqual(await owner.press("draft"), [t("id", "broadcast.compose.kept", { number: 1, command: "siaran" })]);
    await world.deliver();
    assert.equal(world.telegram.delivered().length, 0, "a draft goes to nobody");

    await owner.say("/siaran");
    await owner.press("drafts");
    assert.deepEqual(owner.choiceIds, ["b1"]);
    const shown = await owner.press("b1");
    assert.match(shown[0]!, /Siaran #1 · draf/);
    assert.deepEqual(owner.choiceIds, ["cmd:siaran:1:kirim", "cmd:siaran:1:batal"]);
    await owner.press("cmd:siaran:1:kirim");
    assert.deepEqual(owner.keys, ["broadcast.compose.review", "broadcast.compose.preview_follows", "bcmsg.message", "broadcast.compose.ask_decision"]);
    await owner.press("now");
    assert.deepEqual(owner.keys, ["broadcast.compose.started"]);
    await world.deliver();
    assert.equal(world.received().size, 2);
  });

  test("cancelling a scheduled broadcast asks first; once cancelled nobody receives it when its time comes", async () => {
    const world = await broadcastWorld({ customers: 2 });
    const owner = world.member("owner-1");
    await composeToAll(owner, "Promo tahun baru");
    await owner.press("schedule");
    await owner.say("besok 10:00");
    await owner.say("/siaran 1");
    assert.deepEqual(owner.choiceIds, ["cmd:siaran:1:batal"]);
    await owner.press("cmd:siaran:1:batal");
    assert.deepEqual(owner.keys, ["broadcast.one.confirm_cancel"]);
    assert.deepEqual(owner.choiceIds, ["cmd:siaran:1:yakin", "cmd:siaran:1"]);
    await owner.press("cmd:siaran:1:yakin");
    assert.deepEqual(owner.keys, ["broadcast.one.cancelled", "inline"]);
    assert.match((await owner.say("/siaran 1"))[0]!, /dibatalkan/);
    world.clock.now = new Date("2026-12-05T00:00:00Z");
    await world.deliver();
    assert.equal(world.telegram.delivered().length, 0);
    assert.deepEqual(await owner.say("/siaran 1 yakin"), [t("id", "broadcast.refused.wrong_status", { number: 1 })]);
  });

  test("dropping at the last question cancels the draft", async () => {
    const world = await broadcastWorld();
    const owner = world.member("owner-1");
    await composeToAll(owner, "Salah ketik");
    assert.deepEqual(await owner.press("drop"), [t("id", "broadcast.compose.dropped", { number: 1 })]);
    assert.equal((await world.broadcasting.get(world.shop.id, 1))?.status, "cancelled");
  });
});

describe("refusals, in words", () => {
  test("the store's daily limit, with the limit named", async () => {
    const world = await broadcastWorld({ limits: { perDay: 1 } });
    const owner = world.member("owner-1");
    await composeToAll(owner, "Pertama hari ini");
    await owner.press("now");
    await composeToAll(owner, "Kedua hari ini");
    assert.deepEqual(await owner.press("now"), [t("id", "broadcast.refused.daily_limit", { limit: 1 })]);
  });

  test("too many recipients for the store's limit, with the limit and the size", async () => {
    const world = await broadcastWorld({ customers: 3, limits: { maxRecipients: 2 } });
    const owner = world.member("owner-1");
    await composeToAll(owner, "Untuk semua");
    assert.deepEqual(await owner.press("now"), [t("id", "broadcast.refused.too_many_recipients", { limit: 2, size: 3 })]);
  });

  test("an audience with nobody in it", async () => {
    const world = await broadcastWorld({ customers: 0 });
    const owner = world.member("owner-1");
    await composeToAll(owner, "Untuk siapa?");
    assert.deepEqual(await owner.press("now"), [t("id", "broadcast.refused.empty_audience")]);
  });

  test("an action the status does not allow, and a broadcast that does not exist", async () => {
    const world = await broadcastWorld();
    const owner = world.member("owner-1");
    await composeToAll(owner, "Draf saja");
    await owner.press("draft");
    assert.deepEqual(await owner.say("/siaran 1 jeda"), [t("id", "broadcast.refused.wrong_status", { number: 1 })]);
    assert.deepEqual(await owner.say("/siaran 9"), [t("id", "broadcast.refused.not_found", { number: 9 })]);
    assert.deepEqual(await owner.say("/siaran satu dua tiga"), [t("id", "broadcast.usage", { command: "siaran" })]);
  });

  test("staff are refused; an admin may write broadcasts", async () => {
    const world = await broadcastWorld({ members: { "owner-1": "owner", "admin-1": "admin", "staf-1": "staff" } });
    const staff = world.member("staf-1");
    await staff.say("/siaran");
    assert.deepEqual(staff.keys, ["admin.denied.role"]);
    await staff.say("/broadcast 1 batal");
    assert.deepEqual(staff.keys, ["admin.denied.role"]);
    const admin = world.member("admin-1");
    await composeToAll(admin, "Dari admin");
    await admin.press("draft");
    assert.equal((await world.broadcasting.get(world.shop.id, 1))?.createdBy.userId, "admin-1");
  });
});
