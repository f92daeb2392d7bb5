/**
 * The Telegram command menu of one store's members: each owner, admin and staff member
 * gets the seller's commands in their private chat with the bot (`setMyCommands` with a
 * chat scope), optionally only those their role may use; someone who leaves the team gets
 * the customer menu back (`deleteMyCommands` for that chat).
 *
 * ```ts
 * const menus = new MemberMenus({ api: bot.api, flows: engine.platformFlows, tenant, log, sellerMenu: roleMayStart });
 * void menus.syncAll();              // at the bot's start, in the background, page by page
 * await menus.refresh("123456789");  // after /tambahstaf, /hapusstaf, an invite redeemed
 * menus.seen(from.id);               // on every message: a member Telegram did not know yet
 * await menus.close();               // when the bot stops
 * ```
 *
 * `refresh` reads the member record each time and makes the menu match it, so a burst of
 * changes to one person (added, promoted, removed) ends with the menu of the last one; the
 * changes of one person run one after another. Telegram refuses a chat-scoped menu for a
 * person who never wrote to the bot ("chat not found"): such a member is remembered and
 * their menu set the first time they write.
 *
 * Calls go through the bot's `Api`, so a 429 is waited out by `resilientCalls`; a start
 * sync that still meets one stops there (logged) rather than hammer Telegram.
 *
 * The catch: membership changed by another process (`niaga member add|remove`) reaches a
 * member's menu at the bot's next start: the members and roles read then differ from those
 * the last complete pass set, so the pass runs again.
 */
import { GrammyError, type Api } from "grammy";
import type { EngineLog } from "../../flows/engine/index.ts";
import { ChatQueue } from "../../flows/engine/index.ts";
import type { FlowSet } from "../../flows/engine/index.ts";
import type { InboundTenant } from "../../flows/engine/index.ts";
import { Member, type Role } from "../../storage/models/index.ts";
import { registerMemberCommands, removeMemberCommands, sellerCommands } from "./bot-commands.ts";
import { TELEGRAM_CHANNEL } from "./customer-records.ts";
import { digestOf } from "./telegram-memory.ts";
import type { TelegramMemory } from "./telegram-memory.ts";

/** Which seller commands a member's menu lists, by their role and the command's flow id. */
export type SellerMenuFilter = (role: Role, flowId: string) => boolean;

export interface MemberMenusOptions {
  api: Api;
  /** The flows the menus list (the engine's platform flows). */
  flows: FlowSet;
  /** The store; its `name` is read at each change (texts may use `{{store}}`). */
  tenant: InboundTenant;
  log: EngineLog;
  /** Every seller command for every role by default. */
  sellerMenu?: SellerMenuFilter;
  /** Members read per page by `syncAll`. Default 100. */
  pageSize?: number;
  /**
   * What Telegram already has: `syncAll` sets nothing when the members, their roles and
   * their menus are the ones it last set completely.
   */
  memory?: TelegramMemory;
}

/** What one refresh did. */
export type MenuOutcome = "seller" | "customer" | "unknown-chat" | "not-telegram-id" | "rate-limited" | "failed";

export interface MenuSyncReport {
  members: number;
  set: number;
  /** Members Telegram does not know yet; their menu follows their first message. */
  waiting: number;
  failed: number;
  /** The pass stopped early: the bot stopped, or Telegram kept answering 429. */
  stopped: boolean;
  /** Telegram had every member's menu already (see `MemberMenusOptions.memory`): nothing was sent. */
  unchanged?: boolean;
}

const TELEGRAM_USER_ID = /^[1-9]\d{0,19}$/;

export class MemberMenus {
  readonly #options: MemberMenusOptions;
  readonly #perPerson = new ChatQueue();
  /** Members whose chat Telegram did not know when their menu was set. */
  readonly #waiting = new Set<string>();
  readonly #work = new Set<Promise<unknown>>();
  #closed = false;

  constructor(options: MemberMenusOptions) {
    this.#options = options;
  }

  /** Makes one person's menu match their membership now. Never rejects. */
  refresh(userId: string): Promise<MenuOutcome> {
    return this.#track(this.#perPerson.run(userId, () => this.#refresh(userId)));
  }

  /**
   * Sets the menu of every Telegram member of the store, a page of members at a time, one
   * member after another. Never rejects; meant to run in the background.
   */
  syncAll(): Promise<MenuSyncReport> {
    return this.#track(this.#syncAll());
  }

  /** A person wrote to the bot: a member whose chat Telegram did not know gets their menu now. */
  seen(userId: number | string): void {
    const id = String(userId);
    if (this.#closed || !this.#waiting.has(id)) return;
    this.#waiting.delete(id);
    void this.refresh(id);
  }

  /** Stops a sync under way after the member it is at, and waits for the changes already asked for. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#work.size > 0) await Promise.allSettled([...this.#work]);
  }

  // ---------------------------------------------------------------- internals

  async #syncAll(): Promise<MenuSyncReport> {
    const report: MenuSyncReport = { members: 0, set: 0, waiting: 0, failed: 0, stopped: false };
    const { tenant, log, memory } = this.#options;
    let members: Array<{ channelUserId: string; role: Role }>;
    try {
      members = await this.#members();
    } catch (error) {
      report.failed += 1;
      report.stopped = true;
      log.warn("telegram member menus not synchronised", { tenant: tenant.slug, error: describe(error) });
      return report;
    }
    const digest = this.#digest(members);
    if (memory?.has("memberMenus", digest)) return { ...report, members: members.length, unchanged: true };
    for (const member of members) {
      if (this.#closed) {
        report.stopped = true;
        return report;
      }
      report.members += 1;
      const outcome = await this.#perPerson.run(member.channelUserId, () => this.#refresh(member.channelUserId));
      if (outcome === "seller") report.set += 1;
      else if (outcome === "unknown-chat") report.waiting += 1;
      else if (outcome === "rate-limited") {
        report.failed += 1;
        report.stopped = true;
        log.warn("telegram member menus: Telegram keeps asking to slow down; the rest wait for the bot's next start", { tenant: tenant.slug, done: report.members });
        return report;
      } else if (outcome !== "customer") report.failed += 1;
    }
    // Only a complete pass is remembered: a member still waiting for their first message
    // gets their menu then, which a restart must not skip.
    if (report.waiting === 0 && report.failed === 0) await memory?.remember("memberMenus", digest);
    if (report.members > 0) log.info("telegram member menus set", { tenant: tenant.slug, ...report });
    return report;
  }

  /** The store's Telegram members, a page at a time. */
  async #members(): Promise<Array<{ channelUserId: string; role: Role }>> {
    const pageSize = Math.max(1, this.#options.pageSize ?? 100);
    const members: Array<{ channelUserId: string; role: Role }> = [];
    let after: unknown;
    for (;;) {
      // The tenant wall adds `tenantId` outside the schema's inferred type.
      const filter = { tenantId: this.#options.tenant.id, channel: TELEGRAM_CHANNEL, ...(after !== undefined && { _id: { $gt: after } }) };
      const page = await Member.find(filter as never, { channelUserId: 1, role: 1 }).sort({ _id: 1 }).limit(pageSize).lean<{ _id: unknown; channelUserId: string; role: Role }[]>().exec();
      members.push(...page.map(({ channelUserId, role }) => ({ channelUserId, role })));
      if (page.length < pageSize) return members;
      after = page[page.length - 1]._id;
    }
  }

  /** What the members' menus are made of: who, in which role, and each role's menu. */
  #digest(members: ReadonlyArray<{ channelUserId: string; role: Role }>): string {
    const { flows, tenant, sellerMenu } = this.#options;
    const roles = [...new Set(members.map((m) => m.role))].sort();
    const menus = roles.map((role) => [role, sellerCommands(flows, "id", tenant.name, sellerMenu && ((flowId) => sellerMenu(role, flowId))), sellerCommands(flows, "en", tenant.name, sellerMenu && ((flowId) => sellerMenu(role, flowId)))]);
    return digestOf(["memberMenus", menus, members.map((m) => [m.channelUserId, m.role]).sort()]);
  }

  async #refresh(userId: string): Promise<MenuOutcome> {
    const { api, flows, tenant, log, sellerMenu } = this.#options;
    if (!TELEGRAM_USER_ID.test(userId)) return "not-telegram-id";
    const chatId = Number(userId);
    try {
      const member = await Member.findOne({ tenantId: tenant.id, channel: TELEGRAM_CHANNEL, channelUserId: userId } as never, { role: 1 })
        .lean<{ role: Role }>()
        .exec();
      if (member) {
        const role = member.role;
        await registerMemberCommands(api, chatId, flows, tenant.name, sellerMenu && ((flowId) => sellerMenu(role, flowId)));
        this.#waiting.delete(userId);
        return "seller";
      }
      this.#waiting.delete(userId);
      await removeMemberCommands(api, chatId);
      return "customer";
    } catch (error) {
      if (error instanceof GrammyError && error.error_code === 400 && /chat not found/i.test(error.description)) {
        // The person never wrote to the bot, so there is no menu of theirs to change yet.
        const stillMember = await Member.exists({ tenantId: tenant.id, channel: TELEGRAM_CHANNEL, channelUserId: userId } as never).catch(() => null);
        if (!stillMember) return "customer";
        this.#waiting.add(userId);
        log.info("telegram member menu waits for the member's first message to the bot", { tenant: tenant.slug, userId });
        return "unknown-chat";
      }
      log.warn("telegram member menu not updated", { tenant: tenant.slug, userId, error: describe(error) });
      return error instanceof GrammyError && error.error_code === 429 ? "rate-limited" : "failed";
    }
  }

  #track<T>(work: Promise<T>): Promise<T> {
    this.#work.add(work);
    void work.finally(() => this.#work.delete(work)).catch(() => undefined);
    return work;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
