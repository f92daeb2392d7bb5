// The global slash commands as the platform's flows make them.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { before, it } from "node:test";
import { buildCommands } from "../../adapters/discord/slash-commands.ts";
import { createCommerce } from "../../bots/commerce.ts";
import { Channels, createEngine, MemorySessionStore, Outbox } from "../../flows/engine/index.ts";
import { initI18n } from "../../locales/i18n.ts";

let built: ReturnType<typeof buildCommands>;

before(async () => {
  await initI18n();
  const commerce = createCommerce({ outbox: new Outbox(new Channels()), encryptionKey: randomBytes(32), payPageUrl: () => "http://127.0.0.1:9" });
  built = buildCommands(createEngine({ ...commerce.flows, sessions: new MemorySessionStore(), audienceOf: () => "customer" }).platformFlows);
});

it("customers' and sellers' commands are there once each, named as Discord allows, described in Indonesian with English beside", () => {
  const names = built.commands.map((c) => c.name);
  for (const name of ["toko", "bantuan", "tiket", "niaga", "catalog", "pesanansaya", "setujui", "tambahstok", "laporan", "audit", "staf", "pengaturan"]) {
    assert.ok(names.includes(name), `/${name} (${names.join(", ")})`);
  }
  assert.equal(new Set(names).size, names.length, "no name twice");
  assert.ok(!names.includes("start"), "/toko stands for /start");
  for (const command of built.commands) {
    assert.match(command.name, /^[a-z0-9_-]{1,32}$/);
    assert.ok(command.description.length >= 1 && command.description.length <= 100, command.name);
    assert.ok(command.description_localizations?.["en-US"], `${command.name} in English`);
  }
  assert.equal(built.engineCommand.get("toko"), "start");
  assert.equal(built.engineCommand.get("setujui"), "setujui");
});

it("codes are autocompleted where the command takes one, and /niaga links with a role, a channel and (unless bound from the shell) a code", () => {
  const option = (name: string) => built.commands.find((c) => c.name === name)?.options?.[0] as { name: string; autocomplete?: boolean } | undefined;
  assert.equal(option("setujui")?.autocomplete, true);
  assert.equal(option("tambahstok")?.autocomplete, true);
  assert.equal(option("tiket")?.autocomplete, true);
  assert.equal(option("catalog")?.autocomplete, undefined);
  const niaga = built.commands.find((c) => c.name === "niaga")!;
  assert.equal(niaga.default_member_permissions, "32", "hidden from members without Manage Server, as a hint");
  const link = niaga.options?.find((o) => o.name === "hubungkan") as { options: { name: string; required: boolean }[] };
  // The code is optional: a guild bound from the shell (`niaga tenant set --discord-guild`) only sets its role and channel.
  assert.deepEqual(link.options.map((o) => [o.name, o.required]), [["peran", true], ["kanal", true], ["kode", false]]);
  assert.deepEqual(niaga.options?.map((o) => o.name), ["hubungkan", "putuskan", "status"]);
});
