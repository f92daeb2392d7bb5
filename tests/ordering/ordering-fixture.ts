// A store for the ordering tests (sealed stock, payment settings), the ordering domain over
// it, and a recording outbox that keeps what customers were sent.
import { gatewayMap } from "../../flows/ordering/payments/gateway.ts";
import { manualGateway } from "../../flows/ordering/payments/manual.ts";
import type { PaymentGateway } from "../../flows/ordering/payments/gateway.ts";
import { createOrdering, type Ordering } from "../../flows/ordering/ordering.ts";
import type { OrderingDeps } from "../../flows/ordering/ordering-deps.ts";
import { RecordingOutbox } from "../support/recording-outbox.ts";

export { RecordingOutbox } from "../support/recording-outbox.ts";
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

/** Ordering over a recording outbox (a timeout: `new RecordingOutbox().use(withTimeout(ms))`). */
export function testOrdering<O extends RecordingOutbox>(
  outbox: O = new RecordingOutbox() as O,
  extra: Omit<Partial<OrderingDeps>, "gateways"> & { gateways?: PaymentGateway[] } = {},
): { ordering: Ordering; outbox: O } {
  const { gateways, ...rest } = extra;
  const ordering = createOrdering({ outbox, gateways: gatewayMap(manualGateway(), ...(gateways ?? [])), ...rest });
  return { ordering, outbox };
}

export interface PaymentsServer {
  ordering: Ordering;
  outbox: RecordingOutbox;
  simulator: SimulatorGateway;
  http: PlatformHttp;
  /** `http://127.0.0.1:<port>`, where pay links point and webhooks are posted. */
  base: string;
}

/** Ordering with the simulator, behind the platform's HTTP server (payment webhooks, pay pages) on 127.0.0.1. */
export async function servePayments(db: Pick<TestDatabase, "encryptionKey">, outbox = new RecordingOutbox()): Promise<PaymentsServer> {
  let base = "";
  const simulator = simulatorGateway({ secret: simulatorSecretFrom(db.encryptionKey), publicUrl: () => base });
  const { ordering } = testOrdering(outbox, { gateways: [simulator] });
  const http = createPlatformHttp({ log: logger, collectProcessMetrics: false });
  http.register(paymentRoutes(ordering.deps, { simulator }));
  base = `http://127.0.0.1:${await http.listen(0, "127.0.0.1")}`;
  return { ordering, outbox, simulator, http, base };
}

export const seller = { channel: "telegram", userId: "seller-1", name: "Pemilik" };
