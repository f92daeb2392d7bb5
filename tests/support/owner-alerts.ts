// What tests of owner alerts share: a database with no alert left from the test before, the
// texts loaded, and the text of an alert message as the owner reads it.
//
// ```ts
// const db = useOwnerAlertsDatabase("job_watch");     // before/beforeEach hooks, like useTestDatabase
// assert.match(alertText(channel.sends[0]!.outbounds[0]!), /Toko Anggrek/);
// ```
import { before, beforeEach } from "node:test";
import { initI18n } from "../../locales/i18n.ts";
import { OwnerAlertRecord, OwnerNoticeRecord } from "../../storage/models/index.ts";
import { useTestDatabase, type OpenTestDatabaseOptions, type TestDatabase } from "./mongo.ts";

/** The text of an owner alert message (`OwnerAlerts#render`) in `locale`. */
export function alertText(outbound: { text: unknown }, locale: "id" | "en" = "en"): string {
  return (outbound.text as { inline: Record<string, string> }).inline[locale]!;
}

/** Deletes every alert and its messages. */
export async function forgetOwnerAlerts(): Promise<void> {
  await OwnerAlertRecord.deleteMany({}).exec();
  await OwnerNoticeRecord.deleteMany({}).exec();
}

/** `useTestDatabase(name)` with the texts loaded once, and no owner alert left before each test. */
export function useOwnerAlertsDatabase(name: string, options: OpenTestDatabaseOptions = {}): () => TestDatabase {
  const db = useTestDatabase(name, options);
  before(async () => {
    await initI18n();
  });
  beforeEach(async () => {
    db();
    await forgetOwnerAlerts();
  });
  return db;
}
