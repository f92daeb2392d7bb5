// `/sla`: owners and admins see and change the store's SLA targets; staff cannot.
import assert from "node:assert/strict";
import { test } from "node:test";
import { t } from "../../locales/i18n.ts";
import { storeSlaTargets } from "../../flows/ticketing/index.ts";
import { AuditLog } from "../../storage/models/index.ts";
import { useTestDatabase } from "../support/mongo.ts";
import { adminEngine, oid, person, seedShop } from "../tenant-admin/admin-fixture.ts";

useTestDatabase("ticketing_sla_settings");

test("/sla shows the targets, /sla tinggi 30 600 changes one priority (audited), nonsense gets the usage, staff are refused", async () => {
  const shop = await seedShop({ members: { "owner-1": "owner", "staff-1": "staff" } });
  const { engine } = adminEngine();
  const owner = person(engine, shop, "owner-1");
  const [shown] = await owner.say("/sla");
  assert.match(shown, /Normal: respons pertama 4 j 0 mnt, penyelesaian 2 h 0 j\n• Tinggi: respons pertama 1 j 0 mnt, penyelesaian 1 h 0 j\n• Kritis: respons pertama 15 mnt, penyelesaian 4 j 0 mnt/);

  const [saved] = await owner.say("/sla tinggi 30 600");
  assert.match(saved, /Tinggi: respons pertama 30 mnt, penyelesaian 10 j 0 mnt/);
  const targets = await storeSlaTargets(shop.id);
  assert.deepEqual(targets.high, { firstResponseMinutes: 30, resolutionMinutes: 600 });
  assert.deepEqual(targets.normal, { firstResponseMinutes: 240, resolutionMinutes: 2880 }, "the other priorities are kept");
  const audit = await AuditLog.findOne({ tenantId: oid(shop.id), action: `settings${"."}sla` }).lean().exec();
  assert.equal(audit?.actor?.userId, "owner-1");
  assert.equal(audit?.where, "console:chat-owner-1");

  assert.deepEqual(await owner.say("/sla tinggi 900 600"), [t("id", "tickets.sla.invalid")]);
  assert.deepEqual(await owner.say("/sla cepat 1 2"), [t("id", "tickets.sla.usage")]);
  await person(engine, shop, "staff-1").say("/sla normal 1 2");
  assert.deepEqual((await storeSlaTargets(shop.id)).normal, { firstResponseMinutes: 240, resolutionMinutes: 2880 }, "staff cannot change them");
});
