// deploy/: the systemd unit and the compose file say what the README promises — restarted
// always but not in a loop, a non-root user, the environment file, a drain on SIGTERM longer
// than the platform's, and two instances sharing one MongoDB and one Redis.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

const root = fileURLToPath(new URL("../..", import.meta.url));
const read = (path: string) => readFileSync(join(root, path), "utf8");

/** `[Section]` → key → values (a key may repeat, like Environment=). */
function unitFile(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const [index, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const section = /^\[(\w+)\]$/.exec(line);
    if (section) {
      sections.set(section[1]!, (current = new Map()));
      continue;
    }
    const pair = /^([A-Za-z]+)=(.*)$/.exec(line);
    assert.ok(pair && current, `line ${index + 1} is neither a section nor Key=value: ${line}`);
    current.set(pair[1]!, [...(current.get(pair[1]!) ?? []), pair[2]!]);
  }
  return sections;
}

describe("the systemd unit (deploy/niaga.service)", () => {
  const unit = unitFile(read("deploy/niaga.service"));
  const service = unit.get("Service")!;
  const one = (key: string) => service.get(key)?.at(-1);

  it("restarts always, a few seconds apart, and stops after a burst of failed starts", () => {
    assert.equal(one("Restart"), "always");
    assert.ok(Number(one("RestartSec")) >= 1);
    assert.ok(Number(unit.get("Unit")!.get("StartLimitBurst")?.[0]) > 1);
    assert.ok(Number(unit.get("Unit")!.get("StartLimitIntervalSec")?.[0]) > 0);
    assert.equal(one("RestartPreventExitStatus"), "2", "a bad configuration (exit 2) is not restarted in a loop");
  });

  it("runs `niaga start` as a non-root user with the environment file", () => {
    assert.ok(one("User") && one("User") !== "root");
    assert.match(one("EnvironmentFile") ?? "", /^\/etc\/niaga\//);
    const [node, script, command] = (one("ExecStart") ?? "").split(/\s+/);
    assert.match(node!, /^\/.*node$/);
    assert.ok(existsSync(join(root, script!)), `${script} exists in the project`);
    assert.equal(command, "start");
    assert.ok(unit.get("Install")!.get("WantedBy")?.includes("multi-user.target"));
  });

  it("stops with SIGTERM and waits longer than the platform's drain", () => {
    assert.equal(one("KillSignal"), "SIGTERM");
    assert.ok(Number(one("TimeoutStopSec")) > 10);
  });

  it("passes systemd's own check where systemd-analyze exists", (t) => {
    const probe = spawnSync("systemd-analyze", ["--version"], { encoding: "utf8" });
    if (probe.error) return t.skip("systemd-analyze is not installed here");
    const check = spawnSync("systemd-analyze", ["verify", join(root, "deploy/niaga.service")], { encoding: "utf8" });
    assert.equal(check.status, 0, check.stderr);
  });
});

describe("the compose file (deploy/compose.yaml)", () => {
  const compose = parse(read("deploy/compose.yaml"), { merge: true }) as { services: Record<string, Record<string, any>> };
  const niagas = Object.entries(compose.services).filter(([, s]) => /niaga\.js/.test(JSON.stringify(s.healthcheck ?? "")) || s.image === "niaga:latest");

  it("runs MongoDB, Redis and two Niaga instances", () => {
    assert.ok(compose.services.mongo && compose.services.redis);
    assert.equal(niagas.length, 2, Object.keys(compose.services).join(", "));
  });

  it("has both instances on the same MongoDB and Redis, restarted always, drained on SIGTERM", () => {
    for (const [name, service] of niagas) {
      assert.equal(service.environment.MONGODB_URI, "mongodb://mongo:27017/niaga", name);
      assert.equal(service.environment.REDIS_URL, "redis://redis:6379", name);
      assert.equal(service.restart, "always", name);
      assert.equal(service.stop_signal, "SIGTERM", name);
      assert.ok(Number.parseInt(service.stop_grace_period, 10) > 10, name);
      assert.equal(service.depends_on.mongo.condition, "service_healthy", name);
      assert.equal(service.env_file, "niaga.env", name);
      assert.match(JSON.stringify(service.healthcheck.test), /\/readyz/, name);
    }
    const published = niagas.map(([, s]) => String(s.ports[0]).split(":")[0]);
    assert.equal(new Set(published).size, 2, "each instance on its own host port");
  });

  it("builds an image that runs as a non-root user", () => {
    const dockerfile = read("deploy/Dockerfile");
    assert.match(dockerfile, /^USER (?!root)\w+/m);
    assert.match(dockerfile, /^CMD \["node", "bots\/niaga\.js", "start"\]/m);
    for (const dir of ["adapters", "admin-bot", "bots", "flows", "locales", "storage"]) assert.match(dockerfile, new RegExp(`^COPY ${dir} `, "m"), `copies ${dir}/`);
  });
});
