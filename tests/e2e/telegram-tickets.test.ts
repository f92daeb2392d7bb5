// Tickets end to end in real store bots: grammY against the Bot API emulator, with the
// platform's own wiring (`createCommerce`: ordering, ticketing, team alerts, the customer's
// notices through the store bot). A customer asks for help about an order with /bantuan, a
// staff member hears of it, finds it in /tiket and answers; the answer reaches the customer
// in Telegram with a button to write back; staff close it with a resolution, and the
// customer rates it with a comment — every step recorded. A claim opens one ticket, and
// resolving the claim closes it. Nobody reaches a ticket that is not theirs.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Types } from "mongoose";
import type { Message, User } from "grammy/types";
import { createCommerce, type Commerce } from "../../bots/commerce.ts";
import { configureLogging } from "../../bots/logger.ts";
import { TelegramChannel } from "../../adapters/telegram/telegram-channel.ts";
import { Channels, Outbox } from "../../flows/engine/index.ts";
import { memberAudience } from "../../flows/engine/audience.ts";
import { createEngine } from "../../flows/engine/engine.ts";
import { MongoSessionStore } from "../../flows/engine/mongo-session-store.ts";
import type { CustomerRef } from "../../flows/ordering/order.ts";
import { Product } from "../../flows/ordering/product.ts";
import { addStockItems } from "../../flows/ordering/stock-item.ts";
import { roleMayStart } from "../../flows/tenant-admin/admin-flows.ts";
import { withPlatformOwners, NO_PLATFORM_OWNERS } from "../../flows/tenant-admin/permissions.ts";
import { openClaimTicket } from "../../flows/ticketing/claim-tickets.ts";
import { Ticket, TicketMessage } from "../../flows/ticketing/index.ts";
import { t } from "../../locales/i18n.ts";
import { AuditLog, Member } from "../../storage/models/index.ts";
import { buttonLabels, startStores, storeChat, words, type Store, type Stores } from "../telegram/store-fixture.ts";
import { eventually } from "../support/eventually.ts";

const ID = "id";
const STORE_NAME = "Toko Tiket";

describe("tickets between a Telegram customer and the store's team", () => {
  let stores: Stores;
  let store: Store;
  let commerce: Commerce;
  let owner: User;
  let staff: User;
  const channels = new Channels();
  const tenantId = () => new Types.ObjectId(store.id);

  const { send, press } = storeChat(() => stores, () => store);
  const texts = (list: Message[]) => list.map(words);

  async function customerWithOrder(name: string): Promise<{ user: User; ref: CustomerRef; code: string }> {
    const user = stores.user({ first_name: name });
    stores.tg.openChat(store.token, user);
    const ref: CustomerRef = { channel: "telegram", channelUserId: String(user.id), chatId: String(user.id), locale: "id", name };
    const placed = await commerce.ordering.placeOrder({ tenantId: store.id, customer: ref, items: [{ productCode: "netflix-1m", quantity: 1 }], snkAccepted: true });
    assert.ok(placed.ok, JSON.stringify(placed));
    return { user, ref, code: placed.order.code };
  }

  before(async () => {
    configureLogging({ level: "error" });
    commerce = createCommerce({ outbox: new Outbox(channels), files: channels, encryptionKey: randomBytes(32), payPageUrl: () => "http://127.0.0.1:9" });
    const engine = createEngine({ ...commerce.flows, sessions: new MongoSessionStore(), audienceOf: withPlatformOwners(memberAudience(), NO_PLATFORM_OWNERS) });
    stores = await startStores({ engine, sellerMenu: roleMayStart });
    channels.add(new TelegramChannel(stores.bots));
    store = await stores.createStore({ name: STORE_NAME });
    owner = stores.user({ first_name: "Pemilik" });
    staff = stores.user({ first_name: "Sinta" });
    await Member.create({ tenantId: store.id, channel: "telegram", channelUserId: String(owner.id), role: "owner", displayName: "Pemilik" } as never);
    await Member.create({ tenantId: store.id, channel: "telegram", channelUserId: String(staff.id), role: "staff", displayName: "Sinta" } as never);
    for (const user of [owner, staff]) stores.tg.openChat(store.token, user);
    const netflix = await Product.create({ tenantId: store.id, code: "netflix-1m", name: "Netflix 1 Bulan", price: 35_000 });
    await addStockItems(tenantId(), netflix._id, ["NF-01", "NF-02", "NF-03"]);
    await stores.bots.start(store.id);
  });
  after(() => stores?.close());

  it("a customer asks about an order, staff answer, the customer writes back, staff close it and the customer rates it 4 with a comment", async () => {
    const buyer = await customerWithOrder("Rina");

    // The customer: /bantuan → category → the order → the message → no photo.
    const [category] = await send(buyer.user, "/bantuan");
    assert.equal(words(category), t(ID, "support.open.ask_category"));
    assert.deepEqual(buttonLabels(category).flat(), ["order", "payment", "goods", "other"].map((c) => t(ID, `support.category.${c}`)));
    const [order] = await press(buyer.user, category, t(ID, "support.category.payment"));
    assert.equal(words(order), t(ID, "support.open.ask_order"));
    const orderButton = t(ID, "support.open.order_choice", { code: buyer.code, items: "Netflix 1 Bulan" });
    assert.deepEqual(buttonLabels(order).flat(), [orderButton, t(ID, "support.open.no_order")]);
    const [ask] = await press(buyer.user, order, orderButton);
    assert.equal(words(ask), t(ID, "support.open.ask_text"));
    const [photo] = await send(buyer.user, "Sudah transfer tapi status belum berubah");
    const [opened] = await press(buyer.user, photo, t(ID, "support.open.send_now"));
    assert.equal(words(opened), t(ID, "support.open.opened", { number: 1 }));
    const ticket = await Ticket.findOne({ tenantId: tenantId(), number: 1 }).lean().exec();
    assert.equal(ticket?.category, "payment");
    assert.equal(ticket?.orderCode, buyer.code);
    assert.equal(ticket?.customer.chatId, String(buyer.user.id));

    // The team hears of it, with the command and a button that runs it.
    const alertText = t(ID, "support.alert.opened", {
      number: 1, store: STORE_NAME, category: t(ID, "support.category.payment"), order: ` · ${buyer.code}`, customer: "Rina", subject: "Sudah transfer tapi status belum berubah",
    });
    const alert = await stores.tg.waitForSent(store.token, staff, (m) => words(m) === alertText);
    await stores.tg.waitForSent(store.token, owner, (m) => words(m) === alertText);
    assert.deepEqual(buttonLabels(alert).flat(), [t(ID, "support.alert.open_ticket", { number: 1 })]);

    // Staff press the alert's button: the ticket and what can be done with it.
    const [detail, actions] = await press(staff, alert, t(ID, "support.alert.open_ticket", { number: 1 }), 2);
    assert.match(words(detail), /^🎫 Tiket #1 · menunggu toko · prioritas ⚪ Normal\nKategori: 💳 Pembayaran · Pesanan: /);
    assert.match(words(detail), /Pelanggan: Rina \(telegram\)/);
    assert.match(words(detail), /Batas respons pertama: /);
    assert.match(words(detail), /Pelanggan: Sudah transfer tapi status belum berubah/);
    assert.deepEqual(buttonLabels(actions).flat(), ["reply", "assign_me", "assign", "set_priority", "merge", "close", "done"].map((k) => t(ID, `support.desk.${k}`)));
    const [askReply] = await press(staff, actions, t(ID, "support.desk.reply"));
    assert.equal(words(askReply), t(ID, "support.desk.ask_reply", { ticketNumber: 1 }));
    const [replied] = await send(staff, "Sudah kami cek, pembayaranmu masuk. Pesanan diproses.");
    assert.equal(words(replied), t(ID, "support.desk.replied", { number: 1 }));

    // The customer gets the answer in Telegram, presses the button under it and writes back.
    const notice = await stores.tg.waitForSent(store.token, buyer.user, (m) => words(m).includes("Sudah kami cek, pembayaranmu masuk."));
    const answerButton = t(ID, "tickets.notice.answer", { number: 1 });
    assert.deepEqual(buttonLabels(notice).flat(), [answerButton]);
    const [askAnswer] = await press(buyer.user, notice, answerButton);
    assert.equal(words(askAnswer), t(ID, "support.answer.ask_text", { ticketNumber: 1 }));
    const [sent] = await send(buyer.user, "Oke, terima kasih, sudah masuk!");
    assert.equal(words(sent), t(ID, "support.answer.sent", { number: 1 }));
    assert.ok(await TicketMessage.exists({ tenantId: tenantId(), ticketNumber: 1, from: "customer", text: "Oke, terima kasih, sudah masuk!" } as never));

    // Staff find it in /tiket, see the customer's answer, and close it with a resolution.
    const [header, list] = await send(staff, "/tiket", 2);
    assert.equal(words(header), t(ID, "support.desk.header", { filter: t(ID, "support.desk.filter_all_name"), count: 1 }));
    assert.equal(words(list), t(ID, "support.desk.list"));
    const choice = buttonLabels(list).flat()[0]!;
    assert.match(choice, /^⚪ #1 · \d+ mnt · Sudah transfer/);
    const [again, againActions] = await press(staff, list, choice, 2);
    assert.match(words(again), /sudah dijawab|menunggu toko/);
    assert.match(words(again), /Pelanggan: Oke, terima kasih, sudah masuk!/);
    assert.match(words(again), /Sinta: Sudah kami cek/);
    const [askResolution] = await press(staff, againActions, t(ID, "support.desk.close"));
    assert.equal(words(askResolution), t(ID, "support.desk.ask_resolution"));
    const [closed] = await send(staff, "Pembayaran dikonfirmasi manual");
    assert.equal(words(closed), t(ID, "support.desk.closed", { number: 1 }));

    // The customer is asked for a rating, presses 4 and adds a comment.
    const closing = await stores.tg.waitForSent(store.token, buyer.user, (m) => words(m).includes("Pembayaran dikonfirmasi manual"));
    const four = t(ID, "tickets.notice.rating_choice", { rating: 4, stars: "⭐⭐⭐⭐" });
    assert.ok(buttonLabels(closing).flat().includes(four), JSON.stringify(buttonLabels(closing)));
    const [wantComment] = await press(buyer.user, closing, four);
    assert.equal(words(wantComment), t(ID, "support.rate.want_comment"));
    const [askComment] = await press(buyer.user, wantComment, t(ID, "support.rate.write_comment"));
    assert.equal(words(askComment), t(ID, "support.rate.ask_comment"));
    const [thanks] = await send(buyer.user, "Cepat tanggap");
    assert.equal(words(thanks), t(ID, "support.rate.thanks", { number: 1, rating: 4 }));

    const done = await Ticket.findOne({ tenantId: tenantId(), number: 1 }).lean().exec();
    assert.equal(done?.status, "closed");
    assert.equal(done?.resolution, "Pembayaran dikonfirmasi manual");
    assert.equal(done?.rating, 4);
    assert.equal(done?.ratingComment, "Cepat tanggap");
    const audited = await AuditLog.find({ tenantId: tenantId(), "target.type": "ticket", "target.id": "1" } as never).lean<{ action: string; actor: { userId: string } }[]>().exec();
    const staffActs = audited.filter((entry) => entry.actor.userId === String(staff.id)).map((entry) => entry.action.split(".").at(-1));
    assert.ok(staffActs.includes("close"), JSON.stringify(audited.map((a) => a.action)));

    // A second rating is refused politely.
    const [twice] = await send(buyer.user, "/nilai 1 5");
    assert.equal(words(twice), t(ID, "support.rate.already_rated", { number: 1 }));
  });

  it("nobody reaches another customer's ticket, and /tiket does not exist for customers", async () => {
    const owner1 = await customerWithOrder("Budi");
    const [category] = await send(owner1.user, "/bantuan");
    const [ask] = await press(owner1.user, category, t(ID, "support.category.other"));
    const [photo] = await send(owner1.user, "Apakah bisa bayar pakai e-wallet?");
    const [opened] = await press(owner1.user, photo, t(ID, "support.open.send_now"));
    const number = Number(/#(\d+)/.exec(words(opened))![1]);
    assert.ok(ask);

    const stranger = stores.user({ first_name: "Asing" });
    stores.tg.openChat(store.token, stranger);
    assert.deepEqual(texts(await send(stranger, `/balas ${number}`)), [t(ID, "support.refused.not_found", { number })]);
    assert.deepEqual(texts(await send(stranger, `/nilai ${number} 1`)), [t(ID, "support.refused.not_found", { number })]);
    assert.deepEqual(texts(await send(stranger, "/tiketsaya")), [t(ID, "support.mine.none")]);
    assert.deepEqual(texts(await send(stranger, "/tiket")), [t(ID, "engine.unknown_command", { command: "/tiket" })]);
    assert.equal(await TicketMessage.countDocuments({ tenantId: tenantId(), ticketNumber: number } as never), 1, "only the owner's first message");

    // Their own list shows it; writing /bantuan again offers to add to it.
    const [mine, pick] = await send(owner1.user, "/tiketsaya", 2);
    assert.match(words(mine), new RegExp(`#${number} · menunggu toko · 💬 Lainnya`));
    assert.deepEqual(buttonLabels(pick).flat(), [t(ID, "support.mine.answer_choice", { number }), t(ID, "support.mine.done")]);
    const [existing] = await send(owner1.user, "/bantuan");
    assert.equal(words(existing), t(ID, "support.open.existing"));
    const [addText] = await press(owner1.user, existing, buttonLabels(existing).flat()[0]!);
    assert.equal(words(addText), t(ID, "support.open.ask_addition", { ticketNumber: number }));
    const [added] = await send(owner1.user, "Atau QRIS?");
    assert.equal(words(added), t(ID, "support.open.added", { number }));
    assert.equal(await TicketMessage.countDocuments({ tenantId: tenantId(), ticketNumber: number } as never), 2);
  });

  it("a claim in the SNK window opens exactly one ticket, and resolving the claim closes it", async () => {
    const buyer = await customerWithOrder("Claudia");
    const started = await commerce.ordering.startPayment(store.id, buyer.ref, buyer.code, "manual");
    assert.ok(started.ok, JSON.stringify(started));
    assert.ok((await commerce.ordering.submitPaymentProof(store.id, buyer.ref, buyer.code, { fileRef: "bukti-transfer" })).ok);
    const approved = await commerce.ordering.approvePayment(store.id, buyer.code, { channel: "telegram", userId: String(owner.id), name: "Pemilik" });
    assert.ok(approved.ok && approved.delivery === "delivered", JSON.stringify(approved));
    const claimed = await commerce.ordering.claimOrder(store.id, buyer.ref, buyer.code, { text: "Akun tidak bisa login sama sekali" });
    assert.ok(claimed.ok, JSON.stringify(claimed));

    const claimTicket = await eventually(() => Ticket.findOne({ tenantId: tenantId(), orderCode: buyer.code }).lean().exec(), "the claim's ticket");
    assert.equal(claimTicket.source, "claim");
    assert.equal(claimTicket.category, "goods");
    assert.equal(claimTicket.customer.chatId, String(buyer.user.id));
    const again = await openClaimTicket(commerce.tickets, store.id, buyer.code);
    assert.equal(again?.number, claimTicket.number);
    assert.equal(await Ticket.countDocuments({ tenantId: tenantId(), orderCode: buyer.code } as never), 1);
    const claimAlert = (m: Message) => words(m).startsWith(`🎫 Klaim pesanan ${buyer.code} menjadi tiket #${claimTicket.number}`);
    // The team's chats were busy in the tests before: the alerts wait their turn within Telegram's per-chat pace.
    await stores.tg.waitForSent(store.token, staff, claimAlert, 30_000);
    await stores.tg.waitForSent(store.token, owner, claimAlert, 30_000);
    await stores.tg.waitForSent(store.token, owner, (m) => words(m) === t(ID, "admin.order_alert.claim_opened", { code: buyer.code, store: STORE_NAME }), 30_000);

    // The owner accepts the claim in /klaim: the ticket closes with that as its resolution.
    const [, decide] = await send(owner, `/klaim ${buyer.code}`, 2);
    assert.equal(words(decide!), t(ID, "admin.claims.decide"));
    const [askNote] = await press(owner, decide, t(ID, "admin.claims.accept"));
    assert.equal(words(askNote), t(ID, "admin.claims.ask_note"));
    await send(owner, "Akun pengganti dikirim");
    const closed = await eventually(async () => {
      const doc = await Ticket.findOne({ tenantId: tenantId(), number: claimTicket.number }).lean().exec();
      return doc?.status === "closed" ? doc : undefined;
    }, "the claim ticket closed");
    assert.equal(closed.resolution, t(ID, "support.claim_resolution.accepted", { note: ": Akun pengganti dikirim" }));
  });
});
