// Every mongoose model of the platform, imported for their side effect of registering
// with mongoose, so `niaga migrate` and key rotation see all of them. A new model file
// is added here.
import "../storage/models/index.ts";
import "../flows/engine/mongo-session-store.ts";
import "../flows/engine/store-flows.ts";
import "../flows/ordering/product.ts";
import "../flows/ordering/stock-item.ts";
import "../flows/ordering/order.ts";
import "../flows/ordering/proof-store.ts";
import "../flows/ordering/payments/provider-events.ts";
import "../flows/tenant-admin/invites.ts";
import "../flows/tenant-admin/low-stock.ts";
import "../flows/ticketing/ticket-model.ts";
import "../storage/whatsapp/auth-records.ts";
import "../storage/whatsapp/message-records.ts";
import "../storage/whatsapp/identities.ts";
import "../storage/discord/link-codes.ts";
