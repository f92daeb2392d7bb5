import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import winston from "winston";
import { Writable } from "node:stream";
import { randomBytes } from "node:crypto";
import { createPlatformHttp, type PlatformHttp } from "../../bots/http-server.ts";
import { listenForMetrics } from "../../bots/metrics-endpoint.ts";

describe("platform HTTP server", () => {
  let http: PlatformHttp;
  let base: string;
  let dbUp = true;
  const logged: string[] = [];
  const failures: Array<{ errorId: string; route: string; error: unknown }> = [];
  const log = winston.createLogger({
    format: winston.format.json(),
    transports: [new winston.transports.Stream({ stream: new Writable({ write: (c, _e, cb) => (logged.push(String(c)), cb()) }) })],
  });

  before(async () => {
    http = createPlatformHttp({ log });
    http.readiness("mongodb", () => dbUp);
    http.onFailure((failure) => failures.push(failure));
    http.register(async (app) => {
      app.removeAllContentTypeParsers();
      app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));
      app.post<{ Params: { name: string } }>("/echo/:name", { bodyLimit: 16 }, async (request) => ({ name: request.params.name, body: String(request.body) }));
      app.post("/sink", async (request) => ({ bytes: (request.body as Buffer).length }));
      app.post("/noted", async (request) => {
        request.log.info({ note: "seen" }, "a route logs");
        return { ok: true };
      });
    });
    http.register(async (app) => {
      app.route({
        method: ["GET", "POST"],
        url: "/boom",
        handler: () => {
          throw new Error("kaboom");
        },
      });
    });
    base = `http://127.0.0.1:${await http.listen(0, "127.0.0.1")}`;
  });
  after(() => http.close());

  it("answers /healthz while the process lives", async () => {
    const res = await fetch(`${base}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: "ok" });
  });

  it("answers /readyz 200 when every dependency answers and 503 naming the one that does not", async () => {
    dbUp = true;
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    dbUp = false;
    const res = await fetch(`${base}/readyz`);
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { status: "not ready", checks: { mongodb: false } });
  });

  it("exposes Prometheus metrics that count requests by route", async () => {
    await fetch(`${base}/healthz`);
    const text = await (await fetch(`${base}/metrics`)).text();
    assert.match(text, /niaga_http_requests_total\{route="\/healthz",status="200"\} \d+/);
    assert.match(text, /niaga_process_cpu_user_seconds_total/);
  });

  it("routes with parameters, and refuses bodies over a route's limit with 413", async () => {
    const ok = await fetch(`${base}/echo/toko-a`, { method: "POST", body: "hello" });
    assert.deepEqual(await ok.json(), { name: "toko-a", body: "hello" });
    const big = await fetch(`${base}/echo/toko-a`, { method: "POST", body: "x".repeat(100) });
    assert.equal(big.status, 413);
    assert.deepEqual(await big.json(), { error: "request body too large" });
  });

  it("takes bodies up to 1 MB and refuses a larger one with 413, declared or not", async () => {
    const mb = 1 << 20;
    const full = await fetch(`${base}/sink`, { method: "POST", body: Buffer.alloc(mb) });
    assert.deepEqual(await full.json(), { bytes: mb });
    const declared = await fetch(`${base}/sink`, { method: "POST", body: Buffer.alloc(mb + 1) });
    assert.equal(declared.status, 413);
    assert.deepEqual(await declared.json(), { error: "request body too large" });
    const chunks = async function* () {
      for (let i = 0; i < 5; i++) yield new Uint8Array(mb / 4);
    };
    const streamed = await fetch(`${base}/sink`, { method: "POST", body: ReadableStream.from(chunks()), duplex: "half" } as RequestInit);
    assert.equal(streamed.status, 413);
  });

  it("gives every answer a request id, which the lines a route logs carry", async () => {
    const first = await fetch(`${base}/noted`, { method: "POST" });
    const second = await fetch(`${base}/healthz`);
    const id = first.headers.get("x-request-id") ?? "";
    assert.match(id, /^[0-9A-F]{8}$/);
    assert.notEqual(second.headers.get("x-request-id"), id);
    const line = logged.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.message === "a route logs");
    assert.equal(line?.reqId, id);
    assert.equal(line?.note, "seen");
  });

  it("answers 404 for unknown paths and 405 for a wrong method: a page for a browser, JSON for a machine", async () => {
    const page = async (res: Response) => ({ status: res.status, type: res.headers.get("content-type"), text: await res.text() });
    const missing = await page(await fetch(`${base}/nope`));
    assert.equal(missing.status, 404);
    assert.match(missing.type ?? "", /^text\/html/);
    assert.match(missing.text, /<h1>Halaman tidak ditemukan<\/h1>/, "Indonesian first");
    const english = await page(await fetch(`${base}/nope`, { headers: { "accept-language": "en-US,en;q=0.9,id;q=0.5" } }));
    assert.match(english.text, /<h1>Page not found<\/h1>/);
    const wrongMethod = await page(await fetch(`${base}/echo/x`));
    assert.equal(wrongMethod.status, 405);
    assert.match(wrongMethod.type ?? "", /^text\/html/);
    const formPost = await fetch(`${base}/nope`, { method: "POST", headers: { accept: "text/html,application/xhtml+xml" } });
    assert.match(formPost.headers.get("content-type") ?? "", /^text\/html/);

    const machine = await fetch(`${base}/nope`, { method: "POST", headers: { accept: "application/json" } });
    assert.equal(machine.status, 404);
    assert.deepEqual(await machine.json(), { error: "not found" });
    const machineMethod = await fetch(`${base}/healthz`, { method: "POST" });
    assert.equal(machineMethod.status, 405);
    assert.deepEqual(await machineMethod.json(), { error: "method not allowed" });
    assert.match((await fetch(`${base}/healthz`)).headers.get("content-type") ?? "", /json/, "machine endpoints keep JSON");
  });

  it("answers a failing handler with 500 and an error id that is in the log: a page for a browser, JSON for a machine", async () => {
    const res = await fetch(`${base}/boom`, { headers: { accept: "text/html", "accept-language": "en" } });
    assert.equal(res.status, 500);
    assert.equal(res.headers.get("x-request-id")?.length, 8);
    assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
    const page = await res.text();
    assert.match(page, /Sorry, something went wrong on our side/);
    const errorId = /give the store this code: ([0-9A-F]{8})/.exec(page)?.[1] ?? "";
    assert.match(errorId, /^[0-9A-F]{8}$/, page);
    assert.equal(res.headers.get("x-request-id"), errorId, "the error id is the request's id");
    assert.ok(logged.some((line) => line.includes(errorId) && line.includes("kaboom")));

    const machine = await fetch(`${base}/boom`, { method: "POST", headers: { accept: "application/json" } });
    assert.equal(machine.status, 500);
    const body = (await machine.json()) as { error: string; errorId: string };
    assert.equal(body.error, "internal error");
    assert.ok(logged.some((line) => line.includes(body.errorId) && line.includes("kaboom")));
    // Each 500 is heard (the platform tells its owner) with the id the answer carried.
    assert.deepEqual(failures.map((f) => [f.errorId, f.route, (f.error as Error).message]), [
      [errorId, "/boom", "kaboom"],
      [body.errorId, "/boom", "kaboom"],
    ]);
  });
});

describe("routes registered once the port is known", () => {
  const log = winston.createLogger({ silent: true });

  it("answers a request that came before the routes were mounted once they are, and takes no route after", async () => {
    const http = createPlatformHttp({ log, collectProcessMetrics: false });
    try {
      const port = await http.open(0, "127.0.0.1");
      const early = fetch(`http://127.0.0.1:${port}/where`);
      http.register(async (app) => {
        app.get("/where", async () => ({ port }));
      });
      await http.serve();
      assert.deepEqual(await (await early).json(), { port });
      assert.throws(() => http.register(async () => undefined), /before the HTTP server serves/);
    } finally {
      await http.close();
    }
  });
});

describe("metrics behind METRICS_TOKEN, and on a listener of their own", () => {
  const log = winston.createLogger({ silent: true });
  const token = randomBytes(24).toString("hex");
  const scrape = (url: string, authorization?: string) => fetch(url, { headers: authorization ? { authorization } : {} });

  it("asks for the bearer token and shows nothing without it", async () => {
    const http = createPlatformHttp({ log, collectProcessMetrics: false, metrics: { token } });
    try {
      const base = `http://127.0.0.1:${await http.listen(0, "127.0.0.1")}`;
      for (const wrong of [undefined, "Bearer", `Bearer ${token}x`, `Basic ${token}`, token]) {
        const res = await scrape(`${base}/metrics`, wrong);
        assert.equal(res.status, 401, String(wrong));
        assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="metrics"');
        assert.doesNotMatch(await res.text(), /niaga_/);
      }
      const ok = await scrape(`${base}/metrics`, `Bearer ${token}`);
      assert.equal(ok.status, 200);
      assert.match(await ok.text(), /niaga_http_requests_total\{route="\/metrics",status="401"\}/);
    } finally {
      await http.close();
    }
  });

  it("serves them only on their own listener when one is set, the platform's port answering 404", async () => {
    const http = createPlatformHttp({ log, collectProcessMetrics: false, metrics: { token, listener: { host: "127.0.0.1", port: 0 } } });
    const own = await listenForMetrics(http.metrics, { host: "127.0.0.1", port: 0 }, token);
    try {
      const base = `http://127.0.0.1:${await http.listen(0, "127.0.0.1")}`;
      assert.equal((await scrape(`${base}/metrics`, `Bearer ${token}`)).status, 404);
      const ownBase = `http://127.0.0.1:${own.port}`;
      assert.equal((await scrape(`${ownBase}/metrics`)).status, 401);
      const ok = await scrape(`${ownBase}/metrics`, `Bearer ${token}`);
      assert.equal(ok.status, 200);
      assert.match(await ok.text(), /niaga_http_requests_total\{route="unmatched",status="404"\} 1/, "the platform's requests are counted there");
      assert.equal((await scrape(`${ownBase}/healthz`, `Bearer ${token}`)).status, 404, "nothing else is served there");
    } finally {
      await own.close();
      await http.close();
    }
  });
});
