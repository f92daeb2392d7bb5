// Stock from the seller's phone. `/tambahstok SKU` then the items, one per line: in the
// same message as the command, in one or several messages followed by "selesai", or as a
// `.txt`/`.csv` file. `/stok` shows what is available, reserved and sold per product.
//
// Items typed in a chat wait in the conversation until "selesai", sealed with the store's
// key: the session is stored in MongoDB, and stock payloads are never stored in the clear.
import { actionsFor, type ActionContext, type ActionRegistry } from "../engine/actions.ts";
import { defineFlow } from "../engine/flow-schema.ts";
import type { InboundMedia, Locale } from "../engine/message.ts";
import { t } from "../../locales/i18n.ts";
import { decryptSecret, encryptSecret } from "../../storage/crypto.ts";
import { adminAction, adminGuard, audit, commandArgs, say, stop } from "./admin-access.ts";
import type { ResolvedAdminServices } from "./admin-services.ts";
import { checkLowStock } from "./low-stock.ts";
import type { Actor } from "./permissions.ts";
import { checkSku, findProduct, isLowStock, listProductsWithStock } from "./products.ts";
import {
  fileKindOf,
  importStock,
  MAX_ITEM_LENGTH,
  MAX_ITEMS_PER_IMPORT,
  MAX_STOCK_FILE_BYTES,
  readStockFile,
  readStockText,
  type FileRefusal,
  type LineProblem,
  type StockBatch,
  type StockLine,
} from "./stock-import.ts";

/** What adding stock keeps in the conversation. Typed items stay sealed (`staged`), never in the clear. */
export type StockData = {
  commandArgs?: string | null;
  sku?: string;
  productName?: string;
  /** The items typed so far, sealed with the store's key. */
  staged?: string;
  stagedCount?: number;
  /** The line number the next message's first item has, for problems by line. */
  nextLine?: number;
  chunk?: string | null;
  file?: InboundMedia;
};

const stockAction = actionsFor<StockData>();

export const stockAddFlow = defineFlow<StockData>()({
  id: "admin-stock-add",
  guard: adminGuard("stock.write"),
  audience: "seller",
  triggers: { commands: ["tambahstok", "addstock"] },
  help: "admin.help.stock_add",
  steps: {
    begin: { kind: "action", action: "adminBeginStock", next: "method", outcomes: { pick: "pick", staged: "askMore" } },
    pick: { kind: "choose", text: "admin.stock.pick", source: "adminProductChoices", saveAs: "sku", next: "begin" },
    method: {
      kind: "choose",
      text: "admin.stock.method",
      choices: [
        { id: "type", label: "admin.stock.method_type", next: "askLines" },
        { id: "file", label: "admin.stock.method_file", next: "askFile" },
        { id: "cancel", label: "admin.common.cancel", next: "cancelled" },
      ],
    },
    askLines: { kind: "ask", text: "admin.stock.ask_lines", expect: "text", max: 4096, saveAs: "chunk", next: "stage" },
    stage: { kind: "action", action: "adminStageStock", next: "askMore", outcomes: { finish: "commit", retry: "askLines" } },
    askMore: { kind: "ask", text: "admin.stock.ask_more", expect: "text", max: 4096, saveAs: "chunk", next: "stage" },
    commit: { kind: "action", action: "adminCommitStock" },
    askFile: { kind: "ask", text: "admin.stock.ask_file", expect: "document", saveAs: "file", next: "importFile", reask: "admin.stock.reask_file" },
    importFile: { kind: "action", action: "adminImportStockFile", outcomes: { retry: "askFile" } },
    cancelled: { kind: "end", text: "admin.common.cancelled" },
  },
});

export const stockSummaryFlow = defineFlow({
  id: "admin-stock",
  guard: adminGuard("stock.write"),
  audience: "seller",
  triggers: { commands: ["stok", "stock"], keywords: { id: ["stok"], en: ["stock"] } },
  help: "admin.help.stock",
  steps: {
    summary: { kind: "action", action: "adminStockSummary" },
  },
});

export const stockFlows = [stockAddFlow, stockSummaryFlow];

/** Words that end typing items; compared whole, ignoring case. */
const DONE_WORDS = new Set(["selesai", "sudah", "beres", "done", "finish", "finished"]);

const stagedContext = (tenantId: string) => `tenant-admin:${tenantId}:staged-stock`;

function readStaged(ctx: ActionContext<StockData>): StockLine[] {
  const sealed = ctx.data.staged;
  return sealed ? (JSON.parse(decryptSecret(sealed, stagedContext(ctx.tenant.id))) as StockLine[]) : [];
}

function sealStaged(ctx: Pick<ActionContext, "tenant">, lines: StockLine[]): string {
  return encryptSecret(JSON.stringify(lines), stagedContext(ctx.tenant.id));
}

const MAX_LISTED = 10;

/** "2, 5, 9" — or the first ten and how many more. */
function lineList(locale: Locale, lines: readonly number[]): string {
  const shown = lines.slice(0, MAX_LISTED).join(", ");
  return lines.length > MAX_LISTED ? t(locale, "admin.stock.and_more", { shown, more: lines.length - MAX_LISTED }) : shown;
}

function problemLine(locale: Locale, problem: LineProblem, columns: number): string {
  const reason = (() => {
    switch (problem.reason) {
      case "too_long":
        return t(locale, "admin.stock.problem.too_long", { max: MAX_ITEM_LENGTH });
      case "control_chars":
        return t(locale, "admin.stock.problem.control_chars");
      case "unclosed_quote":
        return t(locale, "admin.stock.problem.unclosed_quote");
      case "stray_quote":
        return t(locale, "admin.stock.problem.stray_quote");
      case "unreadable":
        return t(locale, "admin.stock.problem.unreadable");
      case "column_count":
        return t(locale, "admin.stock.problem.column_count", { columns });
    }
  })();
  return t(locale, "admin.stock.problem_line", { line: problem.line, reason });
}

function problemsText(locale: Locale, batch: StockBatch): string {
  const columns = batch.lines[0]?.payload.split(" | ").length ?? 1;
  const listed = batch.problems.slice(0, MAX_LISTED).map((p) => problemLine(locale, p, columns));
  if (batch.problems.length > MAX_LISTED) listed.push(t(locale, "admin.stock.more_problems", { more: batch.problems.length - MAX_LISTED }));
  return listed.join("\n");
}

/**
 * "1,4 MB" in Indonesian, "1.4 MB" in English; "512 KB" under a megabyte. Rounded up, so a
 * file refused for being over the limit never reads as the limit itself.
 */
function fileSizeText(bytes: number, locale: Locale): string {
  const [amount, unit] = bytes >= 1024 * 1024 ? [bytes / 1024 / 1024, "MB"] : [bytes / 1024, "KB"];
  const shown = Math.ceil(amount * 10 - 1e-9) / 10;
  return `${new Intl.NumberFormat(locale === "id" ? "id-ID" : "en-US", { maximumFractionDigits: 1 }).format(shown)} ${unit}`;
}

function refusalText(locale: Locale, refusal: FileRefusal): string {
  switch (refusal.reason) {
    case "too_large": {
      const max = fileSizeText(refusal.maxBytes, locale);
      if (refusal.bytes === undefined) return t(locale, "admin.stock.file.too_large_unknown", { max });
      return t(locale, "admin.stock.file.too_large", { max, size: fileSizeText(refusal.bytes, locale) });
    }
    case "not_utf8":
      return t(locale, "admin.stock.file.not_utf8");
    case "empty":
      return t(locale, "admin.stock.file.empty");
    case "too_many":
      return t(locale, "admin.stock.file.too_many", { max: refusal.max, count: refusal.count });
  }
}

export function stockActions(services: ResolvedAdminServices): ActionRegistry {
  /** Adds a checked batch and tells the seller what happened, in counts and line numbers only. */
  const commit = async (ctx: ActionContext<StockData>, actor: Actor, lines: StockLine[], source: "chat" | "file") => {
    const sku = String(ctx.data.sku);
    const product = await findProduct(ctx.tenant.id, sku);
    if (!product) return stop(say("admin.product.unknown_sku", { sku }));
    const result = await importStock(ctx.tenant.id, product.id, lines);
    await audit(ctx, actor, "stock.add", { type: "product", id: sku }, { after: { added: result.added, duplicates: result.duplicateLines.length, source } });
    // Stock went up: re-arms the low-stock alert, or raises it if still at the threshold.
    await checkLowStock(ctx.tenant.id, product.id, services.outbox, ctx.log);
    const rows = await listProductsWithStock(ctx.tenant.id);
    const available = rows.find((r) => r.product.sku === sku)?.available ?? 0;
    return stop(
      say("admin.stock.imported", {
        sku,
        name: product.name,
        added: result.added,
        skipped: result.duplicateLines.length,
        skippedLines: result.duplicateLines.length > 0 ? t(ctx.locale, "admin.stock.at_lines", { lines: lineList(ctx.locale, result.duplicateLines) }) : "",
        rejected: 0,
        available,
      }),
    );
  };

  return {
    /** Reads `/tambahstok SKU` (and any items typed under it), or an earlier pick. */
    adminBeginStock: stockAction({ outcomes: ["pick", "staged"] }, async (ctx) => {
      let sku = ctx.data.sku;
      let typed = "";
      if (sku === undefined) {
        const args = commandArgs(ctx);
        // The args may hold items: never keep them in the session in the clear.
        const cleared = { commandArgs: null };
        if (args === "") {
          return (await listProductsWithStock(ctx.tenant.id)).length > 0 ? { outcome: "pick", data: cleared } : stop(say("admin.product.none"));
        }
        const match = /^(\S+)[ \t]*(?:\r?\n([\s\S]*))?$/.exec(args);
        const checked = match ? checkSku(match[1]) : undefined;
        if (!match || !checked?.ok) return { ...stop(say("admin.usage.stock_add")), data: cleared };
        sku = checked.value;
        typed = match[2] ?? "";
      }
      const product = await findProduct(ctx.tenant.id, sku);
      if (!product) return { ...stop(say("admin.product.unknown_sku", { sku })), data: { commandArgs: null } };
      const data = { sku, productName: product.name, staged: "", stagedCount: 0, nextLine: 1, commandArgs: null };
      const batch = readStockText(typed, 1);
      if (batch.problems.length > 0) {
        return { ...stop(say("admin.stock.message_refused", { problems: problemsText(ctx.locale, batch) })), data };
      }
      if (batch.lines.length === 0) return { data };
      return {
        data: { ...data, staged: sealStaged(ctx, batch.lines), stagedCount: batch.lines.length, nextLine: typed.split(/\r?\n/).length + 1 },
        say: [say("admin.stock.staged", { count: batch.lines.length, total: batch.lines.length })],
        outcome: "staged",
      };
    }),

    /** One chat message of items, or "selesai". */
    adminStageStock: stockAction({ outcomes: ["finish", "retry"] }, async (ctx) => {
      const chunk = ctx.data.chunk ?? "";
      // The typed items must not stay in the session's plain data.
      const cleared = { chunk: null };
      if (DONE_WORDS.has(chunk.trim().toLowerCase())) {
        if ((ctx.data.stagedCount ?? 0) === 0) return { ...stop(say("admin.stock.nothing_staged")), data: cleared };
        return { outcome: "finish", data: cleared };
      }
      const staged = readStaged(ctx);
      const firstLine = ctx.data.nextLine ?? 1;
      const batch = readStockText(chunk, firstLine);
      const again = staged.length === 0 ? ("retry" as const) : undefined;
      if (batch.problems.length > 0) {
        return { data: cleared, say: [say("admin.stock.message_refused", { problems: problemsText(ctx.locale, batch) })], ...(again && { outcome: again }) };
      }
      if (batch.lines.length === 0) return { data: cleared, say: [say("admin.stock.blank_message")], ...(again && { outcome: again }) };
      const total = staged.length + batch.lines.length;
      if (total > MAX_ITEMS_PER_IMPORT) {
        return { data: cleared, say: [say("admin.stock.file.too_many", { max: MAX_ITEMS_PER_IMPORT, count: total })], ...(again && { outcome: again }) };
      }
      return {
        data: { ...cleared, staged: sealStaged(ctx, [...staged, ...batch.lines]), stagedCount: total, nextLine: firstLine + chunk.split(/\r?\n/).length },
        say: [say("admin.stock.staged", { count: batch.lines.length, total })],
      };
    }),

    adminCommitStock: stockAction(
      adminAction<StockData>(services, "stock.write", async (ctx, actor) => {
        const lines = readStaged(ctx);
        const result = await commit(ctx, actor, lines, "chat");
        return { ...result, data: { staged: "", stagedCount: 0 } };
      }),
    ),

    adminImportStockFile: stockAction(
      { outcomes: ["retry"] },
      adminAction<StockData, "retry">(services, "stock.write", async (ctx, actor) => {
        const file = ctx.data.file;
        if (!file?.fileRef) return { say: [say("admin.stock.reask_file")], outcome: "retry" };
        const kind = fileKindOf(file.fileName, file.mimeType);
        if (!kind) return { say: [say("admin.stock.file.not_text_file")], outcome: "retry" };
        if (!services.files) return stop(say("admin.stock.file.no_upload_here"));
        const tooLarge = { reason: "too_large", maxBytes: MAX_STOCK_FILE_BYTES, ...(file.sizeBytes !== undefined && { bytes: file.sizeBytes }) } as const;
        const refuseTooLarge = () => ({ say: [say("admin.stock.file_refused", { reason: refusalText(ctx.locale, tooLarge) })], outcome: "retry" as const });
        // The channel said how big the file is: no need to fetch it to refuse it.
        if (tooLarge.bytes !== undefined && tooLarge.bytes > MAX_STOCK_FILE_BYTES) return refuseTooLarge();
        let bytes: Buffer;
        try {
          bytes = await services.files.fetchFile({ tenantId: ctx.tenant.id, channel: ctx.channel }, file.fileRef, { maxBytes: MAX_STOCK_FILE_BYTES });
        } catch (err) {
          if ((err as { reason?: string }).reason === "too-large") return refuseTooLarge();
          ctx.log.warn("stock file could not be fetched", { error: (err as Error).message });
          return stop(say("admin.stock.file.unavailable"));
        }
        const batch = readStockFile(bytes, kind);
        if ("reason" in batch) return { say: [say("admin.stock.file_refused", { reason: refusalText(ctx.locale, batch) })], outcome: "retry" };
        if (batch.problems.length > 0) {
          return {
            say: [say("admin.stock.file_rejected", { rejected: batch.problems.length, problems: problemsText(ctx.locale, batch) })],
            outcome: "retry",
          };
        }
        const result = await commit(ctx, actor, batch.lines, "file");
        if (batch.headerSkipped) result.say = [say("admin.stock.header_skipped"), ...(result.say ?? [])];
        return result;
      }),
    ),

    adminStockSummary: adminAction(services, "stock.write", async (ctx) => {
      const rows = await listProductsWithStock(ctx.tenant.id);
      if (rows.length === 0) return stop(say("admin.product.none"));
      const totals = { available: 0, reserved: 0, sold: 0 };
      const lines = rows.map(({ product, available, reserved, sold }) => {
        totals.available += available;
        totals.reserved += reserved;
        totals.sold += sold;
        const flag =
          product.status === "hidden"
            ? t(ctx.locale, "admin.stock.flag_hidden")
            : available === 0
              ? t(ctx.locale, "admin.stock.flag_sold_out")
              : isLowStock(product, available)
                ? t(ctx.locale, "admin.stock.flag_low", { threshold: product.lowStockThreshold })
                : "";
        return t(ctx.locale, "admin.stock.line", { sku: product.sku, name: product.name, available, reserved, sold, flag });
      });
      return stop(say("admin.stock.summary", { lines: lines.join("\n"), ...totals }));
    }),
  };
}
