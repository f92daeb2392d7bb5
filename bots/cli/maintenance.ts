import { configureEncryption } from "../../storage/crypto.ts";
import { syncAllIndexes } from "../../storage/connection.ts";
import { rotateSecrets } from "../../storage/secret-fields.ts";
import { requireEncryptionKey } from "../config.ts";
import "../models.ts";
import { parseFlags } from "./args.ts";
import type { CliContext } from "./context.ts";

/** `niaga migrate`: create collections and sync every model's declared indexes. */
export async function migrateCommand(argv: string[], ctx: CliContext): Promise<number> {
  parseFlags(argv, {}, "cli.usage_migrate");
  return ctx.withDatabase(async () => {
    const dropped = await syncAllIndexes();
    for (const [model, names] of Object.entries(dropped)) {
      ctx.out(ctx.t("cli.migrated_model", { model, dropped: names.length ? names.join(", ") : "-" }));
    }
    ctx.out(ctx.t("cli.migrate_done", { count: Object.keys(dropped).length }));
    return 0;
  });
}

/** `niaga rotate-key`: re-seal every secret under the current ENCRYPTION_KEY. */
export async function rotateKeyCommand(argv: string[], ctx: CliContext): Promise<number> {
  parseFlags(argv, {}, "cli.usage_rotate_key");
  const config = ctx.config();
  const keyring = configureEncryption(requireEncryptionKey(config), config.encryptionKeysOld);
  return ctx.withDatabase(async () => {
    const reports = await rotateSecrets(keyring);
    for (const r of reports) ctx.out(ctx.t("cli.rotated_model", { model: r.model, scanned: r.scanned, resealed: r.resealed }));
    ctx.out(ctx.t("cli.rotate_done", { keyId: keyring.currentId }));
    return 0;
  });
}
