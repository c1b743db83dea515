import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Scheduler } from "../../src/engine/scheduler.js";
import { createOpenAIProvider } from "../../src/models/openai.js";
import { ProviderError, type Request } from "../../src/models/types.js";
import { SqliteStore } from "../../src/store/sqlite.js";
import { type FaultOutcome, type FaultServer, startFaultServer } from "../helpers/fault_server.js";

const gen = (prompt: string): Extract<Request, { kind: "generate_until" }> => ({
  kind: "generate_until",
  prompt,
  params: { until: ["\n"], max_gen_toks: 4, temperature: 0 },
});

let server: FaultServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function setup(
  plan: (i: number) => FaultOutcome,
  opts: { maxRetries?: number; timeoutMs?: number; transport?: "thread" | "inline" } = {},
) {
  const store = new SqliteStore(path.join(mkdtempSync(path.join(tmpdir(), "assay-sched-")), "a.db"));
  const delays: number[] = [];
  return startFaultServer({ plan, retryAfter: "2" }).then((s) => {
    server = s;
    const provider = createOpenAIProvider(`openai:fault@${s.url}`, { transport: opts.transport });
    const scheduler = new Scheduler(provider, store, {
      concurrency: 4,
      maxRetries: opts.maxRetries ?? 6,
      timeoutMs: opts.timeoutMs ?? 2000,
      backoffBaseMs: 100,
      backoffMaxMs: 1000,
      sleep: async (ms) => {
        delays.push(ms);
      },
      random: () => 0.5,
    });
    return { scheduler, store, provider, delays, server: s };
  });
}

describe("scheduler retries", () => {
  it.each(["thread", "inline"] as const)(
    "retries 429 (honouring Retry-After), 500, timeouts and connection resets, then succeeds (%s HTTP)",
    async (transport) => {
      const plan: FaultOutcome[] = ["429", "500", "timeout", "reset", "ok"];
      const {
        scheduler,
        delays,
        server: s,
      } = await setup((i) => plan[i] ?? "ok", { timeoutMs: 300, transport });
      const [served] = await scheduler.serveAll([gen("hello")]);
      expect(served.response).toEqual({ kind: "generate_until", text: "ok" });
      expect(s.requests).toBe(5);
      expect(scheduler.counters.retries).toBe(4);
      // Retry-After: 2 s is honoured exactly; later delays are exponential with jitter (random 0.5 → ×0.75).
      expect(delays[0]).toBe(2000);
      expect(delays.slice(1)).toEqual([200 * 0.75, 400 * 0.75, 800 * 0.75]);
    },
  );

  it("does not retry a 400 and surfaces the API's message", async () => {
    const { scheduler, server: s } = await setup(() => "error-400");
    const err = await scheduler.serveAll([gen("x")]).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.retryable).toBe(false);
    expect(s.requests).toBe(1);
    expect(scheduler.counters.errors).toBe(1);
  });

  it("gives up after maxRetries", async () => {
    const { scheduler, server: s } = await setup(() => "500", { maxRetries: 2 });
    await expect(scheduler.serveAll([gen("x")])).rejects.toThrow();
    expect(s.requests).toBe(3);
    expect(scheduler.counters.retries).toBe(2);
  });
});

describe("deduplication and caching", () => {
  it("serves identical requests once and later runs from the cache", async () => {
    const { scheduler, store, provider, server: s } = await setup(() => "ok");
    const served = await scheduler.serveAll([gen("a"), gen("a"), gen("b")]);
    expect(served.map((x) => x.cached)).toEqual([false, true, false]);
    expect(s.requests).toBe(2);
    expect(scheduler.counters.deduplicated).toBe(1);
    await scheduler.flush();
    await new Promise((r) => setImmediate(r));

    const again = new Scheduler(provider, store, { concurrency: 2 });
    const second = await again.serveAll([gen("a"), gen("b")]);
    expect(second.every((x) => x.cached)).toBe(true);
    expect(again.counters.cacheHits).toBe(2);
    expect(s.requests).toBe(2);
  });

  it("without a store: deduplicates within a call, caches nothing", async () => {
    const { provider, server: s } = await setup(() => "ok");
    const uncached = new Scheduler(provider, null, { concurrency: 2 });
    const served = await uncached.serveAll([gen("a"), gen("a")]);
    expect(served.map((x) => x.cached)).toEqual([false, true]);
    await uncached.flush();
    const again = await uncached.serveAll([gen("a")]);
    expect(again[0].cached).toBe(false);
    expect(s.requests).toBe(2);
    expect(uncached.counters.cacheHits).toBe(0);
  });

  it("keys sampled requests by sample index, and by generation parameters", async () => {
    const { scheduler, server: s } = await setup(() => "ok");
    const sampled = (i: number): Request => ({
      kind: "generate_until",
      prompt: "p",
      params: { until: [], max_gen_toks: 4, temperature: 0.7 },
      sampleIndex: i,
    });
    await scheduler.serveAll([sampled(0), sampled(1), sampled(0)]);
    expect(s.requests).toBe(2);
    await scheduler.serveAll([{ ...gen("p"), params: { until: [], max_gen_toks: 5, temperature: 0 } }]);
    expect(s.requests).toBe(3);
  });
});

describe("concurrency", () => {
  it.each(["thread", "inline"] as const)(
    "keeps at most `concurrency` requests on the wire (%s HTTP)",
    async (transport) => {
      let open = 0;
      let maxOpen = 0;
      const http = await import("node:http");
      const slow = http.createServer((req, res) => {
        open++;
        maxOpen = Math.max(maxOpen, open);
        req.resume();
        req.on("end", () =>
          setTimeout(() => {
            open--;
            res.setHeader("content-type", "application/json");
            res.end(JSON.stringify({ choices: [{ text: "ok", index: 0, finish_reason: "stop" }] }));
          }, 15),
        );
      });
      await new Promise<void>((r) => slow.listen(0, "127.0.0.1", r));
      const { port } = slow.address() as { port: number };
      const provider = createOpenAIProvider(`openai:slow@http://127.0.0.1:${port}/v1`, { transport });
      const store = new SqliteStore(":memory:");
      const scheduler = new Scheduler(provider, store, { concurrency: 4 });
      try {
        const served = await scheduler.serveAll(Array.from({ length: 24 }, (_, i) => gen(`q${i}`)));
        expect(served.every((s) => s.response.kind === "generate_until")).toBe(true);
        expect(maxOpen).toBe(4);
      } finally {
        await provider.close();
        await new Promise((r) => slow.close(r));
      }
    },
  );
});
