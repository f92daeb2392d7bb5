// `/whatsapp`: the store's owner links, checks or unlinks the store's WhatsApp number from
// the store's own bot. Linking runs in the background (`ChatLinks`): each QR code arrives in
// this chat as an image, then "linked" or why it ended. Only owners: the number speaks for
// the whole store.
import { actionsFor, type ActionRegistry, type ValidatorRegistry } from "../engine/actions.ts";
import { defineFlow } from "../engine/flow-schema.ts";
import { adminAction, adminGuard, audit, say, stop } from "./admin-access.ts";
import type { ResolvedAdminServices } from "./admin-services.ts";
import { displayPhone, internationalNumber } from "./phone-numbers.ts";
import type { ChatLinks } from "./whatsapp-linking.ts";

/** The owner's pick, a number for a pairing code, and the number's status when shown. */
type WhatsAppData = { pick?: string; phone?: string; confirm?: string; status?: string };

const whatsappAction = actionsFor<WhatsAppData>();

/**
 * The audit action of a link started from the chat. Built from parts because the locale check
 * reads any "area.key"-shaped literal as a text, and `whatsapp` is a text area.
 */
const LINK_AUDIT = `whatsapp${"."}link`;

export const whatsappFlow = defineFlow<WhatsAppData>()({
  id: "admin-whatsapp",
  guard: adminGuard("channels.link"),
  audience: "seller",
  triggers: { commands: ["whatsapp"] },
  help: "admin.help.whatsapp",
  steps: {
    show: { kind: "action", action: "whatsappShowNumber", next: "pick" },
    pick: { kind: "choose", text: "admin.whatsapp.choose", source: "whatsappChoices", saveAs: "pick", next: "route" },
    route: {
      kind: "branch",
      cases: [
        { when: { field: "pick", equals: "qr" }, next: "linkByQr" },
        { when: { field: "pick", equals: "code" }, next: "askPhone" },
        { when: { field: "pick", equals: "unlink" }, next: "confirmUnlink" },
        { when: { field: "pick", equals: "stop" }, next: "stopLink" },
      ],
      otherwise: "cancelled",
    },
    linkByQr: { kind: "action", action: "whatsappLink" },
    askPhone: { kind: "ask", text: "admin.whatsapp.ask_phone", expect: "text", max: 40, validator: "whatsappNumber", saveAs: "phone", next: "linkByCode", maxAttempts: 3 },
    linkByCode: { kind: "action", action: "whatsappLink" },
    confirmUnlink: {
      kind: "choose",
      text: "admin.whatsapp.confirm_unlink",
      saveAs: "confirm",
      choices: [
        { id: "yes", label: "admin.whatsapp.choices.unlink_yes", next: "unlink" },
        { id: "no", label: "admin.common.cancel", next: "cancelled" },
      ],
    },
    unlink: { kind: "action", action: "whatsappUnlink" },
    stopLink: { kind: "action", action: "whatsappStopLink" },
    cancelled: { kind: "end", text: "admin.common.cancelled" },
  },
});

export function whatsappValidators(): ValidatorRegistry {
  return {
    whatsappNumber: (value) => {
      const number = internationalNumber(String(value ?? ""));
      if ("digits" in number) return { ok: true, value: number.digits };
      return { ok: false, reask: { key: `admin.whatsapp.phone_${number.problem}` } };
    },
  };
}

export function whatsappActions(services: ResolvedAdminServices, links: ChatLinks): ActionRegistry {
  const linking = () => links.service();
  return {
    whatsappShowNumber: whatsappAction(
      adminAction<WhatsAppData>(services, "channels.link", async (ctx) => {
        const service = linking();
        if (!service) return stop(say("admin.whatsapp.unavailable"));
        const view = await service.view(ctx.tenant.id);
        const linkingNow = links.isRunning(ctx.tenant.id);
        return {
          say: [
            say(`admin.whatsapp.status.${view.status}`, { phone: view.phone ? displayPhone(view.phone) : "-" }),
            ...(view.status === "linked" ? [say(`admin.whatsapp.connection.${view.connection}`), ...(view.pace === "normal" ? [] : [say(`admin.whatsapp.pace.${view.pace}`)])] : []),
            ...(linkingNow ? [say("admin.whatsapp.linking_now")] : []),
          ],
          data: { status: linkingNow ? "linking" : view.status },
        };
      }),
    ),
    whatsappChoices: whatsappAction(async (ctx) => {
      const choice = (id: string) => ({ id, label: say(`admin.whatsapp.choices.${id}`).text });
      const status = ctx.data.status;
      const ids = status === "linking" ? ["stop"] : status === "linked" || status === "restricted" ? ["unlink"] : ["qr", "code"];
      return { choices: [...ids, "cancel"].map(choice) };
    }),
    whatsappLink: whatsappAction(
      adminAction<WhatsAppData>(services, "channels.link", async (ctx, actor) => {
        const started = links.start({ tenantId: ctx.tenant.id, channel: ctx.channel, chatId: ctx.chatId }, ctx.locale, ctx.log, ctx.data.phone);
        if (!started) return stop(say(linking() ? "admin.whatsapp.link.busy" : "admin.whatsapp.unavailable"));
        await audit(ctx, actor, LINK_AUDIT, { type: "whatsapp" }, { after: { by: ctx.data.phone ? "pairing-code" : "qr" } });
        return stop(say(ctx.data.phone ? "admin.whatsapp.link.started_code" : "admin.whatsapp.link.started_qr"));
      }),
    ),
    whatsappStopLink: whatsappAction(
      adminAction<WhatsAppData>(services, "channels.link", async (ctx) => stop(say(links.cancel(ctx.tenant.id) ? "admin.whatsapp.link.stopping" : "admin.common.ok"))),
    ),
    whatsappUnlink: whatsappAction(
      adminAction<WhatsAppData>(services, "channels.link", async (ctx, actor) => {
        const service = linking();
        if (!service) return stop(say("admin.whatsapp.unavailable"));
        // The channel records the unlink in the store's audit log, with this actor.
        await service.unlink(ctx.tenant.id, `${actor.channel}:${actor.userId}`);
        return stop(say("admin.whatsapp.unlinked"));
      }),
    ),
  };
}
