// What /help answers: the flows this person may start, one line each, in their language.
import type { FlowSet } from "./flow-set.ts";
import type { Audience, InboundTenant, Locale, Text } from "./message.ts";
import { renderText, type TextCatalog } from "./texts.ts";

export function helpText(flows: FlowSet, audience: Audience, locale: Locale, tenant: InboundTenant, texts: TextCatalog): Text {
  const lines = flows.listedFor(audience).map((flow) => {
    const trigger = flow.commands.length > 0 ? `/${flow.commands[0]}` : `"${flow.keywords[locale][0] ?? flow.keywords.id[0] ?? flow.keywords.en[0]}"`;
    const help = flow.help!;
    return `${trigger} — ${renderText(typeof help === "string" ? { key: help, params: { store: tenant.name } } : { inline: help, params: { store: tenant.name } }, locale, texts)}`;
  });
  const key = audience === "seller" ? "engine.help.seller" : "engine.help.customer";
  return { key, params: { store: tenant.name, commands: lines.join("\n") } };
}
