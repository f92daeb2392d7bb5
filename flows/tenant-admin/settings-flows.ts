// `/pengaturan`: the store's name, language, terms (SNK), transfer instructions, payment
// timeout and SNK window — shown as they are, then changed one at a time, each change
// checked and written to the audit log.
import { actionsFor, type ActionContext, type ActionRegistry, type ValidatorRegistry } from "../engine/actions.ts";
import { defineFlow } from "../engine/flow-schema.ts";
import type { Locale } from "../engine/message.ts";
import { t } from "../../locales/i18n.ts";
import { storeSettings } from "../ordering/store-settings.ts";
import { adminAction, adminGuard, audit, say, stop } from "./admin-access.ts";
import type { ResolvedAdminServices } from "./admin-services.ts";
import { concurrentEdit } from "./concurrent-edits.ts";
import { changeSetting, isSettingId, SETTINGS, settingFingerprint, type SettingId } from "./store-preferences.ts";

/** The setting picked (a `SettingId`, checked before use) and its new value, already checked. */
type SettingsData = {
  setting?: string;
  value?: string | number;
  /** Each setting's fingerprint as shown when the edit started: a save checks nobody changed it since. */
  seen?: Record<string, string>;
};

const settingsAction = actionsFor<SettingsData>();

export const settingsFlow = defineFlow<SettingsData>()({
  id: "admin-settings",
  guard: adminGuard("settings.write"),
  audience: "seller",
  triggers: { commands: ["pengaturan", "settings"] },
  help: "admin.help.settings",
  steps: {
    show: { kind: "action", action: "adminShowSettings", next: "which" },
    which: {
      kind: "choose",
      text: "admin.settings.which",
      saveAs: "setting",
      pageSize: 10,
      choices: [
        { id: "name", label: "admin.settings.labels.name", next: "askName" },
        { id: "language", label: "admin.settings.labels.language", next: "askLanguage" },
        { id: "snk", label: "admin.settings.labels.snk", next: "askSnk" },
        { id: "payment", label: "admin.settings.labels.payment", next: "askPayment" },
        { id: "timeout", label: "admin.settings.labels.timeout", next: "askTimeout" },
        { id: "window", label: "admin.settings.labels.window", next: "askWindow" },
        { id: "done", label: "admin.common.done", next: "done" },
      ],
    },
    askName: { kind: "ask", text: "admin.settings.ask.name", expect: "text", max: 4000, validator: "adminSettingValue", saveAs: "value", next: "save", maxAttempts: 5 },
    askLanguage: {
      kind: "choose",
      text: "admin.settings.ask.language",
      saveAs: "value",
      choices: [
        { id: "id", label: "admin.settings.languages.id" },
        { id: "en", label: "admin.settings.languages.en" },
      ],
      next: "save",
    },
    askSnk: { kind: "ask", text: "admin.settings.ask.snk", expect: "text", max: 4096, validator: "adminSettingValue", saveAs: "value", next: "save", maxAttempts: 5 },
    askPayment: { kind: "ask", text: "admin.settings.ask.payment", expect: "text", max: 4096, validator: "adminSettingValue", saveAs: "value", next: "save", maxAttempts: 5 },
    askTimeout: { kind: "ask", text: "admin.settings.ask.timeout", expect: "text", validator: "adminSettingValue", saveAs: "value", next: "save", maxAttempts: 5 },
    askWindow: { kind: "ask", text: "admin.settings.ask.window", expect: "text", validator: "adminSettingValue", saveAs: "value", next: "save", maxAttempts: 5 },
    save: { kind: "action", action: "adminSaveSetting" },
    done: { kind: "end", text: "admin.common.ok" },
  },
});

function settingLabel(locale: Locale, id: SettingId): string {
  switch (id) {
    case "name":
      return t(locale, "admin.settings.labels.name");
    case "language":
      return t(locale, "admin.settings.labels.language");
    case "snk":
      return t(locale, "admin.settings.labels.snk");
    case "payment":
      return t(locale, "admin.settings.labels.payment");
    case "timeout":
      return t(locale, "admin.settings.labels.timeout");
    case "window":
      return t(locale, "admin.settings.labels.window");
  }
}

function shown(locale: Locale, id: SettingId, value: string | number): string {
  if (value === "") return t(locale, "admin.settings.empty_value");
  if (id === "language") return t(locale, value === "en" ? "admin.settings.languages.en" : "admin.settings.languages.id");
  if (id === "timeout") return t(locale, "admin.settings.minutes", { count: Number(value) });
  if (id === "window") return t(locale, "admin.settings.hours", { count: Number(value) });
  const text = String(value);
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

export function settingsValidators(): ValidatorRegistry {
  return {
    adminSettingValue: (value, ctx: ActionContext<SettingsData>) => {
      const id = ctx.data.setting;
      if (!isSettingId(id)) return { ok: false };
      const verdict = SETTINGS[id].check(String(value ?? ""));
      return verdict.ok ? { ok: true, value: verdict.value } : { ok: false, reask: { key: verdict.key, ...(verdict.params && { params: verdict.params }) } };
    },
  };
}

export function settingsActions(services: ResolvedAdminServices): ActionRegistry {
  return {
    adminShowSettings: async (ctx) => {
      const store = await storeSettings(ctx.tenant.id);
      if (!store) throw new Error("store not found");
      const values = Object.fromEntries(
        (Object.keys(SETTINGS) as SettingId[]).map((id) => [id, shown(ctx.locale, id, SETTINGS[id].read(store))]),
      );
      const seen = Object.fromEntries((Object.keys(SETTINGS) as SettingId[]).map((id) => [id, settingFingerprint(SETTINGS[id].read(store))]));
      return { say: [say("admin.settings.current", values)], data: { seen } };
    },

    adminSaveSetting: settingsAction(
      adminAction<SettingsData>(services, "settings.write", async (ctx, actor) => {
        const id = ctx.data.setting;
        if (!isSettingId(id)) return stop(say("admin.common.cancelled"));
        const value = ctx.data.value ?? "";
        // Typed values passed `adminSettingValue` already; the language comes from a button.
        const checked = id === "language" ? SETTINGS.language.check(String(value)) : { ok: true as const, value };
        if (!checked.ok) return stop(say(checked.key, checked.params));
        const seen = ctx.data.seen?.[id];
        const change = await changeSetting(ctx.tenant.id, id, checked.value, { ...(seen !== undefined && { unchangedFrom: seen }) });
        if (!change) throw new Error("store not found");
        if ("conflict" in change) {
          const setting = settingLabel(ctx.locale, id);
          const other = await concurrentEdit(services, ctx, actor, { type: "setting", id, label: id === "snk" ? "SNK" : id }, { type: "store", id: ctx.tenant.slug, action: `settings.${id}` });
          // The terms are shown whole: the seller needs them to decide what to write instead.
          const current = id === "snk" && change.conflict !== "" ? String(change.conflict) : shown(ctx.locale, id, change.conflict);
          return stop(say("admin.settings.conflict", { setting, other, current }));
        }
        await audit(ctx, actor, `settings.${id}`, { type: "store", id: ctx.tenant.slug }, { before: { [id]: change.before }, after: { [id]: change.after } });
        return stop(say("admin.settings.saved", { setting: settingLabel(ctx.locale, id), value: shown(ctx.locale, id, change.after) }));
      }),
    ),
  };
}
