// A store for the ordering tests (sealed stock, payment settings), the ordering domain over
// it, and a sink that records what customers were sent.
import type { Outbound } from "../../flows/engine/message.ts";
import { gatewayMap } from "../../flows/ordering/payments/gateway.ts";
import { manualGateway } from "../../flows/ordering/payments/manual.ts";
import type { PaymentGateway } from "../../flows/ordering/payments/gateway.ts";
import { createOrdering, type Ordering } from "../../flows/ordering/ordering.ts";
import type { CustomerChat, DeliverySink, OrderingDeps } from "../../flows/ordering/ordering-deps.ts";
import type { CustomerRef } from "../../flows/ordering/order.ts";
import { createPlatformHttp, type PlatformHttp } from "../../bots/http-server.ts";
import { configureLogging, logger } from "../../bots/logger.ts";
import { paymentRoutes } from "../../flows/ordering/payments/payment-webhooks.ts";
import { simulatorGateway, simulatorSecretFrom, type SimulatorGateway } from "../../flows/ordering/payments/simulator.ts";
import type { TestDatabase } from "../support/mongo.ts";
import { seedStore, type ProductSpec, type SeededStore } from "../support/stores.ts";
import "../../flows/ordering/order.ts";
import "../../flows/ordering/proof-store.ts";

// The domain logs deliveries at info; the test report needs only problems.
configureLogging({ level: "error" });

/** What every ordering test store saves unless a test says otherwise: manual and simulator payments. */
const PAYMENTS = { paymentMethods: ["manual", "simulator"], paymentInstructions: "BCA 1234567890 a.n. Toko Uji" };

/** A store taking manual and simulator payments, selling `products`; `settings` go under `settings.ordering`. */
export function seedOrderingStore(opts: { products: ProductSpec[]; name?: string; settings?: Record<string, unknown> }): Promise<SeededStore> {
  return seedStore({ products: opts.products, ...(opts.name && { name: opts.name }), settings: { ordering: { ...PAYMENTS, ...opts.settings } } });
}

export function customer(n: number | string, channel = "telegram"): CustomerRef {
  return { channel, channelUserId: `u${n}`, chatId: `c${n}`, locale: "id", name: `Pembeli ${n}` };
}

export interface SentMessage {
  to: CustomerChat;
  message: Outbound;
}

/** A DeliverySink that keeps everything it was asked to send. */
export class RecordingSink implements DeliverySink {
  readonly sent: SentMessage[] = [];
  /** Makes the next sends fail (or hang) instead of recording. */
  failNext = 0;
  failWith: (message: Outbound) => Error = () => new Error("403: Forbidden: bot was blocked by the user");

  async send(to: CustomerChat, message: Outbound): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    if (this.failNext > 0) {
      this.failNext--;
      throw this.failWith(message);
    }
    this.sent.push({ to, message });
  }

  /** The delivery messages for an order code. */
  deliveries(code?: string): SentMessage[] {
    return this.sent.filter((m) => "key" in m.message.text && m.message.text.key === "ordering.delivery" && (code === undefined || m.message.text.params?.code === code));
  }

  withKey(key: string, code?: string): SentMessage[] {
    return this.sent.filter((m) => "key" in m.message.text && m.message.text.key === key && (code === undefined || m.message.text.params?.code === code));
  }

  /** Every stock payload delivered, in order, across all delivery messages. */
  deliveredPayloads(): string[] {
    return this.deliveries().flatMap((m) => String(m.message.text.params?.items ?? "").match(/SECRET-[\w-]+/g) ?? []);
  }
}

export function testOrdering(sink = new RecordingSink(), extra: Omit<Partial<OrderingDeps>, "gateways"> & { gateways?: PaymentGateway[] } = {}): { ordering: Ordering; sink: RecordingSink } {
  const { gateways, ...rest } = extra;
  const ordering = createOrdering({ sink, gateways: gatewayMap(manualGateway(), ...(gateways ?? [])), ...rest });
  return { ordering, sink };
}

export interface PaymentsServer {
  ordering: Ordering;
  sink: RecordingSink;
  simulator: SimulatorGateway;
  http: PlatformHttp;
  /** `http://127.0.0.1:<port>`, where pay links point and webhooks are posted. */
  base: string;
}

/** Ordering with the simulator, behind the platform's HTTP server (payment webhooks, pay pages) on 127.0.0.1. */
export async function servePayments(db: Pick<TestDatabase, "encryptionKey">, sink = new RecordingSink()): Promise<PaymentsServer> {
  let base = "";
  const simulator = simulatorGateway({ secret: simulatorSecretFrom(db.encryptionKey), publicUrl: () => base });
  const { ordering } = testOrdering(sink, { gateways: [simulator] });
  const http = createPlatformHttp({ log: logger, collectProcessMetrics: false });
  http.register(paymentRoutes(ordering.deps, { simulator }));
  base = `http://127.0.0.1:${await http.listen(0, "127.0.0.1")}`;
  return { ordering, sink, simulator, http, base };
}

export const seller = { channel: "telegram", userId: "seller-1", name: "Pemilik" };
