// `/discord`: the store's owner links the store's Discord server from the store's own bot.
// It shows where the link stands and a fresh one-time code with the exact line to type in
// the server (`/niaga hubungkan kode:…`), and offers to unlink. Only owners: whoever types
// the code in a server they manage becomes an owner of the store on Discord.
import { actionsFor, type ActionRegistry } from "../engine/actions.ts";
import { defineFlow } from "../engine/flow-schema.ts";
import { formatWhen } from "../../locales/format-when.ts";
import { createMongoLinkCodes, type LinkCodes } from "../../storage/discord/link-codes.ts";
import { storeGuildLink, unlinkGuild } from "../../storage/discord/guild-links.ts";
import { Tenant } from "../../storage/models/index.ts";
import { adminAction, adminGuard, auditWhere, recordedActor, say, stop } from "./admin-access.ts";
import type { ResolvedAdminServices } from "./admin-services.ts";

type DiscordData = { linked?: boolean; pick?: string; confirm?: string };

const discordAction = actionsFor<DiscordData>();

export const discordFlow = defineFlow<DiscordData>()({
  id: "admin-discord",
  guard: adminGuard("channels.link"),
  audience: "seller",
  triggers: { commands: ["discord"] },
  help: "guild.store_bot.help",
  steps: {
    show: { kind: "action", action: "discordShowLink", next: "pick" },
    pick: { kind: "choose", text: "guild.store_bot.choose", source: "discordChoices", saveAs: "pick", next: "route" },
    route: { kind: "branch", cases: [{ when: { field: "pick", equals: "unlink" }, next: "confirmUnlink" }], otherwise: "done" },
    confirmUnlink: {
      kind: "choose",
      text: "guild.store_bot.confirm_unlink",
      saveAs: "confirm",
      choices: [
        { id: "yes", label: "guild.store_bot.choices.unlink_yes", next: "unlink" },
        { id: "no", label: "admin.common.cancel", next: "cancelled" },
      ],
    },
    unlink: { kind: "action", action: "discordUnlink" },
    done: { kind: "end", text: "guild.store_bot.done" },
    cancelled: { kind: "end", text: "admin.common.cancelled" },
  },
});

export function discordActions(services: ResolvedAdminServices, codes: LinkCodes = createMongoLinkCodes()): ActionRegistry {
  return {
    discordShowLink: discordAction(
      adminAction<DiscordData>(services, "channels.link", async (ctx, actor) => {
        const current = await storeGuildLink(ctx.tenant.id);
        if (!current) return stop(say("admin.denied.not_member"));
        const { code, expiresAt } = await codes.issue(ctx.tenant.id, `${actor.channel}:${actor.userId}`);
        const zone = (await Tenant.findById(ctx.tenant.id, { timezone: 1 }).lean<{ timezone?: string }>().exec())?.timezone ?? "Asia/Jakarta";
        const link = current.link;
        const invite = services.discord?.inviteUrl;
        return {
          say: [
            link
              ? say("guild.store_bot.status.linked", { guild: link.guildId, role: link.staffRoleId ?? "-", channel: link.staffChannelId ?? "-" })
              : say("guild.store_bot.status.unlinked"),
            ...(invite ? [say("guild.store_bot.invite", { url: invite })] : []),
            say("guild.store_bot.code", { code, expires: formatWhen(expiresAt, { locale: ctx.locale, timeZone: zone }), minutes: Math.round((expiresAt.getTime() - Date.now()) / 60_000) }),
          ],
          data: { linked: Boolean(link) },
        };
      }),
    ),
    discordChoices: discordAction(async (ctx) => {
      const choice = (id: string) => ({ id, label: say(`guild.store_bot.choices.${id}`).text });
      return { choices: [...(ctx.data.linked ? ["unlink"] : []), "done"].map(choice) };
    }),
    discordUnlink: discordAction(
      adminAction<DiscordData>(services, "channels.link", async (ctx, actor) => {
        const by = `${actor.channel}:${actor.userId}`;
        const done = await unlinkGuild({ tenantId: ctx.tenant.id, reason: "unlinked", actor: recordedActor(actor), where: auditWhere(ctx) });
        if (!done) return stop(say("guild.store_bot.status.unlinked"));
        await codes.revoke(ctx.tenant.id);
        void Promise.resolve(services.discord?.onLinkChanged?.({ kind: "unlinked", store: done.store, guildId: done.guildId, by })).catch((error: unknown) =>
          ctx.log.warn("the Discord link change could not be announced", { error: (error as Error).message }),
        );
        return stop(say("guild.store_bot.unlinked", { guild: done.guildId }));
      }),
    ),
  };
}
