import type { Model } from "mongoose";
import type { Keyring } from "./crypto.ts";

/**
 * Every model that seals fields with storage/crypto.ts registers them here, so key
 * rotation finds all of them without knowing the models.
 */
export interface SecretFields {
  model: Model<any, any, any, any, any, any, any>;
  paths: string[];
  /** Additional authenticated data the field was sealed with. */
  context(doc: Record<string, any>, path: string): string;
}

const registry: SecretFields[] = [];

export function registerSecretFields(spec: SecretFields): void {
  if (!registry.some((s) => s.model.modelName === spec.model.modelName)) registry.push(spec);
}

export function secretFieldRegistry(): readonly SecretFields[] {
  return registry;
}

export interface RotationReport {
  model: string;
  scanned: number;
  resealed: number;
}

/**
 * Re-seals every registered secret that is not under the keyring's current key.
 * Each write is conditional on the old ciphertext still being there, so a rotation
 * that is interrupted and run again, or that races a writer, never loses a value.
 * A value that no configured key opens stops the rotation with its model and id.
 */
export async function rotateSecrets(keyring: Keyring): Promise<RotationReport[]> {
  const reports: RotationReport[] = [];
  for (const { model, paths, context } of registry) {
    const report: RotationReport = { model: model.modelName, scanned: 0, resealed: 0 };
    const cursor = model
      .find({})
      .select(paths.join(" ") + (model.schema.path("tenantId") ? " tenantId" : ""))
      .setOptions({ crossTenant: true })
      .lean()
      .cursor();
    for await (const doc of cursor) {
      report.scanned++;
      const set: Record<string, string> = {};
      const filter: Record<string, unknown> = { _id: doc._id };
      if (doc.tenantId) filter.tenantId = doc.tenantId;
      for (const path of paths) {
        const sealed = path.split(".").reduce<any>((node, key) => node?.[key], doc);
        if (typeof sealed !== "string" || !sealed || !keyring.needsRotation(sealed)) continue;
        let plain: string;
        try {
          plain = keyring.decrypt(sealed, context(doc, path));
        } catch (err) {
          throw new Error(`${model.modelName} ${String(doc._id)} ${path}: ${(err as Error).message}`);
        }
        set[path] = keyring.encrypt(plain, context(doc, path));
        filter[path] = sealed;
      }
      if (Object.keys(set).length === 0) continue;
      const res = await model.updateOne(filter, { $set: set }).setOptions({ crossTenant: true });
      if (res.modifiedCount === 1) report.resealed++;
    }
    reports.push(report);
  }
  return reports;
}
