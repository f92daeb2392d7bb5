// `/siaran` (`/broadcast`) for owners and admins: a menu (new, drafts, the list); a new
// broadcast is written (text with the store's formatting), given an optional image and up
// to three buttons, an audience, then shown with its audience size and the message exactly
// as a recipient sees it, and sent now, scheduled in the store's time zone, kept as a draft
// or dropped. `/siaran 3` shows one broadcast with its actions as command choices
// (`/siaran 3 jeda`…), so they are buttons on every channel and a slash command on Discord.
import { actionsFor, type ActionContext, type ActionRegistry, type ActionResult, type AnswerValidator, type ChoiceOffer, type ValidatorRegistry } from "../engine/actions.ts";
import { commandChoice } from "../engine/command-choice.ts";
import { defineFlow } from "../engine/flow-schema.ts";
import { FileFetchError, type Outbound } from "../engine/index.ts";
import { formatWhen } from "../../locales/format-when.ts";
import { findCatalogEntry } from "../ordering/catalog.ts";
import { storeSettings } from "../ordering/store-settings.ts";
import { adminAction, adminGuard, say, stop } from "../tenant-admin/admin-access.ts";
import { resolveAdminServices } from "../tenant-admin/admin-services.ts";
import { BROADCAST_SEND, type Actor } from "../tenant-admin/permissions.ts";
import { BROADCAST_COMMANDS, type BroadcastContent, type BroadcastService, type BroadcastStatus, type BroadcastView } from "./contract.ts";
import { AUDIENCE_KINDS, audienceOf, buttonsOf, buttonToken, MAX_CAPTION, MAX_TEXT, parsePeriod, type AudienceAnswers } from "./broadcast-draft.ts";
import { MAX_IMAGE_BYTES } from "./broadcast-model.ts";
import { MAX_BUTTONS } from "./message.ts";
import { audienceText, broadcastDetail, byChannelText, channelName, formatCount, listLine } from "./broadcast-lines.ts";
import { broadcastActor, refusal, type ResolvedBroadcastServices } from "./broadcast-services.ts";
import { parseStoreTime } from "./store-time.ts";

const COMMAND = BROADCAST_COMMANDS.compose;
/** How many broadcasts a list reads; the engine pages them. */
const LISTED = 50;

type Photo = { fileRef: string; fileName?: string; mimeType?: string; sizeBytes?: number };

export type ComposeData = AudienceAnswers & {
  commandArgs?: string;
  text?: string;
  photo?: Photo;
  buttons?: string[];
  buttonPick?: string;
  buttonProduct?: string;
  listPick?: string;
  /** The draft once saved (the preview), or the one `/siaran N kirim` reviews. */
  broadcastNumber?: number;
  decision?: string;
  /** The start, checked and read in the store's zone (ISO). */
  when?: string;
};

export const composeFlow = defineFlow<ComposeData>()({
  id: "broadcast-compose",
  guard: adminGuard(BROADCAST_SEND),
  audience: "seller",
  triggers: { commands: [COMMAND, "broadcast"] },
  help: "broadcast.help.compose",
  idleTimeout: "2h",
  steps: {
    start: { kind: "action", action: "broadcastStart", next: "menu", outcomes: { review: "review" } },
    menu: {
      kind: "choose",
      text: "broadcast.menu.title",
      choices: [
        { id: "new", label: "broadcast.menu.new", next: "askText" },
        { id: "drafts", label: "broadcast.menu.drafts", next: "drafts" },
        { id: "list", label: "broadcast.menu.list", next: "recent" },
      ],
    },
    drafts: { kind: "choose", text: "broadcast.menu.pick_draft", source: "broadcastDraftChoices", pageSize: 8, saveAs: "listPick", next: "picked" },
    recent: { kind: "choose", text: "broadcast.menu.pick_recent", source: "broadcastRecentChoices", pageSize: 8, saveAs: "listPick", next: "picked" },
    picked: { kind: "action", action: "broadcastPicked", outcomes: { review: "review" } },
    askText: { kind: "ask", text: "broadcast.compose.ask_text", expect: "text", max: MAX_TEXT, saveAs: "text", next: "imageOffered", maxAttempts: 5 },
    imageOffered: { kind: "action", action: "broadcastImageOffered", next: "imageChoice", outcomes: { skip: "buttons" } },
    imageChoice: {
      kind: "choose",
      text: "broadcast.compose.ask_image_choice",
      choices: [
        { id: "add", label: "broadcast.compose.add_image", next: "askImage" },
        { id: "skip", label: "broadcast.compose.no_image", next: "buttons" },
      ],
    },
    askImage: { kind: "ask", text: "broadcast.compose.ask_image", expect: "photo", saveAs: "photo", next: "checkImage", maxAttempts: 5 },
    checkImage: { kind: "action", action: "broadcastCheckImage", next: "buttons", outcomes: { retry: "askImage" } },
    buttons: { kind: "choose", text: "broadcast.compose.ask_buttons", source: "broadcastButtonChoices", saveAs: "buttonPick", next: "routeButton" },
    routeButton: {
      kind: "branch",
      cases: [
        { when: { field: "buttonPick", equals: "product" }, next: "askButtonProduct" },
        { when: { field: "buttonPick", equals: "catalog" }, next: "addButton" },
      ],
      otherwise: "audience",
    },
    askButtonProduct: { kind: "ask", text: "broadcast.compose.ask_button_product", expect: "text", max: 64, validator: "broadcastProductCode", saveAs: "buttonProduct", next: "addButton", maxAttempts: 5 },
    addButton: { kind: "action", action: "broadcastAddButton", next: "audience", outcomes: { more: "buttons" } },
    audience: {
      kind: "choose",
      text: "broadcast.compose.ask_audience",
      choices: AUDIENCE_KINDS.map((kind) => ({ id: kind, label: `broadcast.audience.${kind}` })),
      saveAs: "audienceKind",
      next: "routeAudience",
    },
    routeAudience: {
      kind: "branch",
      cases: [
        { when: { field: "audienceKind", equals: "channel" }, next: "pickChannel" },
        { when: { field: "audienceKind", equals: "buyers" }, next: "askBuyers" },
        { when: { field: "audienceKind", equals: "period" }, next: "askPeriod" },
        { when: { field: "audienceKind", equals: "lapsed" }, next: "askDays" },
      ],
      otherwise: "review",
    },
    pickChannel: { kind: "choose", text: "broadcast.compose.ask_channel", source: "broadcastChannelChoices", saveAs: "audienceChannel", next: "review" },
    askBuyers: { kind: "ask", text: "broadcast.compose.ask_buyers", expect: "text", max: 64, validator: "broadcastProductCode", saveAs: "audienceProduct", next: "review", maxAttempts: 5 },
    askPeriod: { kind: "ask", text: "broadcast.compose.ask_period", expect: "text", max: 60, validator: "broadcastPeriod", saveAs: "audiencePeriod", next: "review", maxAttempts: 5 },
    askDays: { kind: "ask", text: "broadcast.compose.ask_days", expect: "integer", min: 1, max: 3650, saveAs: "audienceDays", next: "review", maxAttempts: 5 },
    review: { kind: "action", action: "broadcastReview", next: "decide", outcomes: { image: "askImage" } },
    decide: {
      kind: "choose",
      text: "broadcast.compose.ask_decision",
      choices: [
        { id: "now", label: "broadcast.compose.send_now" },
        { id: "schedule", label: "broadcast.compose.schedule", next: "askWhen" },
        { id: "draft", label: "broadcast.compose.keep_draft" },
        { id: "drop", label: "broadcast.compose.drop" },
      ],
      saveAs: "decision",
      next: "decided",
    },
    askWhen: { kind: "ask", text: "broadcast.compose.ask_when", expect: "text", max: 40, validator: "broadcastWhen", saveAs: "when", next: "decided", maxAttempts: 5 },
    decided: { kind: "action", action: "broadcastDecided", outcomes: { when: "askWhen" } },
  },
});

const compose = actionsFor<ComposeData>();

async function storeZone(tenantId: string): Promise<string> {
  return (await storeSettings(tenantId))?.timezone ?? "Asia/Jakarta";
}

/** What the seller may do with a broadcast in this status, as command choices (`/siaran 3 jeda`). */
const ONE_ACTIONS: Record<BroadcastStatus, readonly string[]> = {
  draft: ["kirim", "batal"],
  scheduled: ["batal"],
  preparing: ["batal"],
  sending: ["jeda", "batal"],
  paused: ["lanjut", "batal"],
  done: [],
  cancelled: [],
};
const ACTION_WORDS: Record<string, string> = {
  kirim: "send", send: "send", jeda: "pause", pause: "pause", lanjut: "resume", resume: "resume", batal: "cancel", cancel: "cancel", yakin: "confirm", confirm: "confirm",
};

function detailMessage(broadcast: BroadcastView, locale: ActionContext["locale"], timeZone: string): Outbound {
  return {
    text: { inline: { [locale]: broadcastDetail(broadcast, { locale, timeZone }) } },
    choices: ONE_ACTIONS[broadcast.status].map((word) => commandChoice({ key: `broadcast.action.${ACTION_WORDS[word]}` }, COMMAND, broadcast.number, word)),
  };
}

export function composeActions(services: ResolvedBroadcastServices): ActionRegistry {
  const admin = resolveAdminServices(services.platformOwners ? { platformOwners: services.platformOwners } : {});
  /** A step by a member who may send broadcasts, with the domain at hand. */
  const seller = <Outcome extends string = never>(body: (ctx: ActionContext<ComposeData>, broadcasts: BroadcastService, actor: Actor) => Promise<ActionResult<Outcome, ComposeData> | void>) =>
    adminAction<ComposeData, Outcome>(admin, BROADCAST_SEND, async (ctx, actor) => {
      const broadcasts = services.broadcasts();
      if (!broadcasts) return stop(say("broadcast.unavailable"));
      return body(ctx, broadcasts, actor);
    });

  /** `/siaran N [word]`: one broadcast, or an action on it. */
  const onOne = async (ctx: ActionContext<ComposeData>, broadcasts: BroadcastService, actor: Actor, number: number, word: string | undefined): Promise<ActionResult<"review", ComposeData>> => {
    const tenantId = ctx.tenant.id;
    const timeZone = await storeZone(tenantId);
    const broadcast = await broadcasts.get(tenantId, number);
    if (!broadcast) return stop(refusal({ ok: false, reason: "not_found" }, number));
    const action = word === undefined ? undefined : ACTION_WORDS[word];
    if (word !== undefined && action === undefined) return stop(say("broadcast.usage", { command: COMMAND }));
    if (action === undefined) return stop(detailMessage(broadcast, ctx.locale, timeZone));
    if (action === "send") {
      if (broadcast.status !== "draft") return stop(refusal({ ok: false, reason: "wrong_status" }, number));
      return { data: { broadcastNumber: number }, outcome: "review" };
    }
    if (action === "cancel") {
      // A confirmation first: a cancelled broadcast cannot be taken back.
      return stop({
        text: { key: "broadcast.one.confirm_cancel", params: { number } },
        choices: [commandChoice({ key: "broadcast.one.confirm_yes" }, COMMAND, number, "yakin"), commandChoice({ key: "broadcast.one.confirm_no" }, COMMAND, number)],
      });
    }
    const who = broadcastActor(actor);
    const result =
      action === "pause" ? await broadcasts.pause(tenantId, number, who) : action === "resume" ? await broadcasts.resume(tenantId, number, who) : await broadcasts.cancel(tenantId, number, who);
    if (!result.ok) return stop(refusal(result, number));
    const done = action === "pause" ? "broadcast.one.paused" : action === "resume" ? "broadcast.one.resumed" : "broadcast.one.cancelled";
    return stop(say(done, { number }), detailMessage(result.broadcast, ctx.locale, timeZone));
  };

  const listChoices = async (ctx: ActionContext<ComposeData>, broadcasts: BroadcastService, statuses: BroadcastStatus[]): Promise<ActionResult<never, ComposeData>> => {
    const timeZone = await storeZone(ctx.tenant.id);
    const found = await broadcasts.list(ctx.tenant.id, { status: statuses, limit: LISTED });
    const choices: ChoiceOffer[] = found.map((broadcast) => ({ id: `b${broadcast.number}`, label: { inline: { [ctx.locale]: listLine(broadcast, { locale: ctx.locale, timeZone }) } } }));
    return choices.length > 0 ? { choices } : stop(say("broadcast.menu.none"));
  };

  return {
    broadcastStart: compose(
      { outcomes: ["review"] },
      seller<"review">(async (ctx, broadcasts, actor) => {
        const args = (ctx.data.commandArgs ?? "").trim().toLowerCase().split(/\s+/).filter(Boolean);
        if (args.length === 0) return;
        const number = /^#?\d{1,9}$/.test(args[0]!) ? Number(args[0]!.replace("#", "")) : undefined;
        if (number === undefined || args.length > 2) return stop(say("broadcast.usage", { command: COMMAND }));
        return onOne(ctx, broadcasts, actor, number, args[1]);
      }),
    ),

    broadcastDraftChoices: seller(async (ctx, broadcasts) => listChoices(ctx, broadcasts, ["draft"])),
    broadcastRecentChoices: seller(async (ctx, broadcasts) => listChoices(ctx, broadcasts, ["scheduled", "preparing", "sending", "paused", "done", "cancelled"])),

    broadcastPicked: compose(
      { outcomes: ["review"] },
      seller<"review">(async (ctx, broadcasts, actor) => {
        const number = Number((ctx.data.listPick ?? "").slice(1));
        if (!Number.isInteger(number) || number < 1) return stop();
        return onOne(ctx, broadcasts, actor, number, undefined);
      }),
    ),

    broadcastImageOffered: compose(
      { outcomes: ["skip"] },
      seller<"skip">(async (ctx) => {
        // Channels that carry no pictures (and a process without the files service) skip the image.
        try {
          ctx.requireCapability("media");
        } catch {
          return { outcome: "skip" };
        }
        if (!services.files) return { outcome: "skip" };
        // With an image the text is its caption, which is shorter: a long text goes without one.
        const length = (ctx.data.text ?? "").length;
        return length > MAX_CAPTION ? { say: [say("broadcast.compose.too_long_for_image", { max: MAX_CAPTION, length })], outcome: "skip" } : undefined;
      }),
    ),

    broadcastCheckImage: compose(
      { outcomes: ["retry"] },
      seller<"retry">(async (ctx) => {
        const photo = ctx.data.photo;
        if (photo?.sizeBytes !== undefined && photo.sizeBytes > MAX_IMAGE_BYTES) return { say: [say("broadcast.compose.image_too_large", { mb: MAX_IMAGE_BYTES / 1024 / 1024 })], data: { photo: undefined }, outcome: "retry" };
        return undefined;
      }),
    ),

    broadcastButtonChoices: seller(async (ctx) => {
      const chosen = ctx.data.buttons ?? [];
      const room = chosen.length < MAX_BUTTONS;
      const ids = [...(room ? ["product"] : []), ...(room && !chosen.includes("catalog") ? ["catalog"] : []), "done"];
      return {
        choices: ids.map((id) => ({ id, label: { key: `broadcast.compose.button_${id}`, params: { count: chosen.length, max: MAX_BUTTONS } } })),
      };
    }),

    broadcastAddButton: compose(
      { outcomes: ["more"] },
      seller<"more">(async (ctx) => {
        const token = buttonToken(ctx.data.buttonPick === "catalog" ? { kind: "catalog" } : { kind: "product", productCode: ctx.data.buttonProduct ?? "" });
        const buttons = [...(ctx.data.buttons ?? []).filter((b) => b !== token), token].slice(0, MAX_BUTTONS);
        const data = { buttons, buttonPick: undefined, buttonProduct: undefined };
        return buttons.length < MAX_BUTTONS ? { data, outcome: "more" } : { data };
      }),
    ),

    broadcastChannelChoices: seller(async (ctx, broadcasts) => {
      const size = await broadcasts.audienceSize(ctx.tenant.id, { kind: "all" });
      const channels = Object.entries(size.byChannel).filter(([, count]) => count > 0);
      if (channels.length === 0) return stop(say("broadcast.refused.empty_audience"));
      return {
        choices: channels.map(([channel, count]) => ({
          id: channel,
          label: { inline: { [ctx.locale]: `${channelName(ctx.locale, channel)} (${formatCount(ctx.locale, count)})` } },
        })),
      };
    }),

    broadcastReview: compose(
      { outcomes: ["image"] },
      seller<"image">(async (ctx, broadcasts, actor) => {
        const tenantId = ctx.tenant.id;
        const timeZone = await storeZone(tenantId);
        let number = ctx.data.broadcastNumber;
        if (ctx.data.text !== undefined) {
          const audience = audienceOf(ctx.data, timeZone);
          if (!audience) return stop(say("broadcast.compose.incomplete"));
          const content: BroadcastContent = { text: ctx.data.text, buttons: buttonsOf(ctx.data.buttons) };
          if (ctx.data.photo) {
            const image = await fetchImage(ctx, services, ctx.data.photo);
            if ("retry" in image) return { say: [image.retry], data: { photo: undefined }, outcome: "image" };
            content.image = image;
          }
          const saved = await broadcasts.saveDraft(tenantId, broadcastActor(actor), { content, audience }, number);
          if (!saved.ok) return stop(refusal(saved, number));
          number = saved.broadcast.number;
        }
        if (number === undefined) return stop();
        const draft = await broadcasts.get(tenantId, number);
        if (!draft) return stop(refusal({ ok: false, reason: "not_found" }, number));
        const [size, preview] = await Promise.all([broadcasts.audienceSize(tenantId, draft.audience), broadcasts.messageFor(tenantId, number, ctx.channel, ctx.locale)]);
        const summary = say("broadcast.compose.review", {
          number,
          audience: audienceText(ctx.locale, draft.audience, timeZone),
          total: formatCount(ctx.locale, size.total),
          byChannel: byChannelText(ctx.locale, size.byChannel),
        });
        // The data is cleared: the draft is saved, and a later step works on its number.
        const cleared = { broadcastNumber: number, text: undefined, photo: undefined, buttons: undefined };
        return { data: cleared, say: [summary, ...(preview ? [say("broadcast.compose.preview_follows"), preview] : [])] };
      }),
    ),

    broadcastDecided: compose(
      { outcomes: ["when"] },
      seller<"when">(async (ctx, broadcasts, actor) => {
        const tenantId = ctx.tenant.id;
        const number = ctx.data.broadcastNumber;
        if (number === undefined) return stop();
        const who = broadcastActor(actor);
        switch (ctx.data.decision) {
          case "draft":
            return stop(say("broadcast.compose.kept", { number, command: COMMAND }));
          case "drop": {
            const dropped = await broadcasts.cancel(tenantId, number, who);
            return stop(dropped.ok ? say("broadcast.compose.dropped", { number }) : refusal(dropped, number));
          }
          case "now":
          case "schedule": {
            const at = ctx.data.decision === "schedule" && ctx.data.when ? new Date(ctx.data.when) : undefined;
            const result = await broadcasts.schedule(tenantId, number, who, { ...(at && { at }), progressChat: { channel: ctx.channel, chatId: ctx.chatId, locale: ctx.locale } });
            if (!result.ok) {
              // A time the domain refused (past, too far): ask again, showing the form.
              if (result.reason === "bad_time") return { say: [refusal(result, number)], data: { when: undefined }, outcome: "when" };
              return stop(refusal(result, number));
            }
            if (!at) return stop(say("broadcast.compose.started", { number, total: formatCount(ctx.locale, result.broadcast.counts?.total ?? (await broadcasts.audienceSize(tenantId, result.broadcast.audience)).total) }));
            const timeZone = await storeZone(tenantId);
            return stop(say("broadcast.compose.scheduled", { number, at: formatWhen(at, { locale: ctx.locale, timeZone }), timeZone, command: COMMAND }));
          }
          default:
            return stop();
        }
      }),
    ),
  };
}

/** The seller's photo as the broadcast keeps it, or what to tell them when it cannot be had. */
async function fetchImage(ctx: ActionContext, services: ResolvedBroadcastServices, photo: Photo): Promise<NonNullable<BroadcastContent["image"]> | { retry: Outbound }> {
  if (!services.files) return { retry: say("broadcast.compose.image_unavailable") };
  try {
    const data = await services.files.fetchFile({ tenantId: ctx.tenant.id, channel: ctx.channel }, photo.fileRef, { maxBytes: MAX_IMAGE_BYTES });
    return { data: new Uint8Array(data), fileName: photo.fileName ?? "image.jpg", mime: photo.mimeType ?? "image/jpeg" };
  } catch (error) {
    if (error instanceof FileFetchError && error.reason === "too-large") return { retry: say("broadcast.compose.image_too_large", { mb: MAX_IMAGE_BYTES / 1024 / 1024 }) };
    ctx.log.warn("broadcast image could not be fetched", { error: error instanceof Error ? error.name : "error" });
    return { retry: say("broadcast.compose.image_unavailable") };
  }
}

export function composeValidators(services: ResolvedBroadcastServices): ValidatorRegistry {
  const productCode: AnswerValidator = async (value, ctx) => {
    const code = String(value).trim().toLowerCase();
    const product = await findCatalogEntry(ctx.tenant.id, code);
    return product ? { ok: true, value: product.code } : { ok: false, reask: { key: "broadcast.compose.unknown_product", params: { code: code.slice(0, 40) } } };
  };
  const period: AnswerValidator = async (value, ctx) =>
    parsePeriod(String(value), await storeZone(ctx.tenant.id)) ? { ok: true } : { ok: false, reask: { key: "broadcast.compose.bad_period" } };
  const when: AnswerValidator = async (value, ctx) => {
    const timeZone = await storeZone(ctx.tenant.id);
    const at = parseStoreTime(String(value), { timeZone, now: services.now() });
    return at ? { ok: true, value: at.toISOString() } : { ok: false, reask: { key: "broadcast.compose.bad_when", params: { timeZone } } };
  };
  return { broadcastProductCode: productCode, broadcastPeriod: period, broadcastWhen: when };
}

