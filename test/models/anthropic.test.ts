import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Scheduler } from "../../src/engine/scheduler.js";
import {
  type AnthropicProvider,
  createAnthropicProvider,
  parseAnthropicSpec,
  toMessagesBody,
} from "../../src/models/anthropic.js";
import type { NgramProvider } from "../../src/models/ngram/provider.js";
import { createNgramProvider } from "../../src/models/ngram/spec.js";
import { createProvider } from "../../src/models/registry.js";
import { type ChatMessage, ProviderError, type Request } from "../../src/models/types.js";
import { SqliteStore } from "../../src/store/sqlite.js";
import { UserError } from "../../src/util/errors.js";
import {
  type AnthropicOutcome,
  type AnthropicServer,
  startAnthropicServer,
} from "../helpers/anthropic_server.js";

const CHAT: ChatMessage[] = [
  { role: "system", content: "Be terse." },
  { role: "user", content: "Hi" },
];
const gen = (
  prompt: string | ChatMessage[],
  params: Partial<Extract<Request, { kind: "generate_until" }>["params"]> = {},
): Request => ({
  kind: "generate_until",
  prompt,
  params: { until: [], max_gen_toks: 16, temperature: 0, ...params },
});
const signal = () => new AbortController().signal;

async function failure(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ProviderError);
    return e as ProviderError;
  }
  throw new Error("expected a ProviderError");
}

describe("spec and options", () => {
  it("parses model names and the @url form; builds the endpoint from host or host/v1", async () => {
    expect(parseAnthropicSpec("anthropic:claude-3-5-haiku-latest")).toEqual({
      model: "claude-3-5-haiku-latest",
      baseUrl: undefined,
    });
    expect(parseAnthropicSpec("anthropic:m@http://127.0.0.1:9")).toEqual({
      model: "m",
      baseUrl: "http://127.0.0.1:9",
    });
    expect(() => parseAnthropicSpec("anthropic:")).toThrow(UserError);
    expect(() => createAnthropicProvider("anthropic:m@http://[bad")).toThrow(UserError);
    const a = createAnthropicProvider("anthropic:m", { env: {} });
    expect(a.baseUrl).toBe("https://api.anthropic.com");
    expect(a.id).toBe("anthropic:https://api.anthropic.com:m");
    const b = createAnthropicProvider("anthropic:m", {
      env: { ANTHROPIC_BASE_URL: "http://10.0.0.1:8/v1/" },
    });
    expect(b.id).toBe("anthropic:http://10.0.0.1:8:m");
    expect([...a.capabilities]).toEqual(["generate_until"]);
    expect(a.costFor({ inputTokens: 1_000_000, outputTokens: 1_000_000 })).toBeUndefined();
    const c = createAnthropicProvider("anthropic:claude-3-5-haiku-20241022", { env: {} });
    expect(c.costFor({ inputTokens: 1_000_000, outputTokens: 1_000_000 })).toBeCloseTo(4.8, 12);
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  it("moves system messages to the top-level system field", () => {
    expect(toMessagesBody("x")).toEqual({ messages: [{ role: "user", content: "x" }] });
    expect(
      toMessagesBody([
        { role: "system", content: "a" },
        { role: "system", content: "b" },
        { role: "user", content: "q" },
        { role: "assistant", content: "r" },
      ]),
    ).toEqual({
      system: "a\n\nb",
      messages: [
        { role: "user", content: "q" },
        { role: "assistant", content: "r" },
      ],
    });
  });

  it("is in the registry", async () => {
    const p = await createProvider("anthropic:claude-x@http://127.0.0.1:1", { cacheDir: tmpdir() });
    expect(p.id).toBe("anthropic:http://127.0.0.1:1:claude-x");
    await p.close?.();
  });
});

describe("against a loopback Messages API server", () => {
  let server: AnthropicServer;
  let provider: AnthropicProvider;
  let outcome: AnthropicOutcome = "ok";
  let reply = "Hello there. STOP and more";
  beforeAll(async () => {
    server = await startAnthropicServer({
      plan: () => outcome,
      respond: () => reply,
      apiKey: "sk-ant-test",
      retryAfter: "3",
    });
    provider = createAnthropicProvider(`anthropic:claude-test@${server.url}`, {
      env: { ANTHROPIC_API_KEY: "sk-ant-test" },
    });
  });
  afterAll(async () => {
    await provider.close();
    await server.close();
  });
  const last = () => server.log[server.log.length - 1];

  it("sends key, version, system, messages, stop sequences and sampling parameters", async () => {
    outcome = "ok";
    reply = "Hello there. STOP and more";
    const r = await provider.serve(
      gen(CHAT, { until: ["STOP", "\n\n"], temperature: 0.5, top_p: 0.9, max_gen_toks: 50 }),
      signal(),
    );
    expect(r.response).toEqual({ kind: "generate_until", text: "Hello there. " });
    expect(r.usage).toEqual({ inputTokens: 3, outputTokens: 2 });
    expect(last().headers["x-api-key"]).toBe("sk-ant-test");
    expect(last().headers["anthropic-version"]).toBe("2023-06-01");
    // The API refuses whitespace-only stops: only "STOP" is sent; "\n\n" is applied locally.
    expect(last().body).toEqual({
      model: "claude-test",
      max_tokens: 50,
      temperature: 0.5,
      top_p: 0.9,
      system: "Be terse.",
      messages: [{ role: "user", content: "Hi" }],
      stop_sequences: ["STOP"],
    });
  });

  it("cuts locally at whitespace stops the API never saw", async () => {
    reply = "one two\nthree";
    const r = await provider.serve(gen("x", { until: ["\n"] }), signal());
    expect(r.response).toEqual({ kind: "generate_until", text: "one two" });
    expect(last().body.stop_sequences).toBeUndefined();
  });

  it("429 with retry-after and 529 overloaded are retryable; 500 and 503 too", async () => {
    outcome = "429";
    let e = await failure(provider.serve(gen("x"), signal()));
    expect(e).toMatchObject({ retryable: true, status: 429, retryAfterMs: 3000 });
    expect(e.message).toContain("rate_limit_error");
    expect(e.message).toContain("per-minute rate limit");
    outcome = "529";
    e = await failure(provider.serve(gen("x"), signal()));
    expect(e).toMatchObject({ retryable: true, status: 529, retryAfterMs: 3000 });
    expect(e.message).toContain("overloaded_error: Overloaded");
    for (const o of ["500", "503"] as const) {
      outcome = o;
      const before = server.log.length;
      e = await failure(provider.serve(gen("x"), signal()));
      expect(e).toMatchObject({ retryable: true, status: Number(o) });
      expect(server.log.length - before).toBe(1); // the provider itself never retries
    }
  });

  it("400, 401, 403 and 404 are not retryable and carry the API's message", async () => {
    const expected: Record<string, RegExp> = {
      "400": /HTTP 400 invalid_request_error: prompt is too long/,
      "401": /HTTP 401 authentication_error: invalid x-api-key \(check ANTHROPIC_API_KEY/,
      "403": /HTTP 403 permission_error: Your API key does not have permission/,
      "404": /HTTP 404 not_found_error: model: claude-nonexistent \(is 'claude-test' a model name/,
    };
    for (const [o, re] of Object.entries(expected)) {
      outcome = o as AnthropicOutcome;
      const e = await failure(provider.serve(gen("x"), signal()));
      expect(e.retryable).toBe(false);
      expect(e.status).toBe(Number(o));
      expect(e.retryAfterMs).toBeUndefined();
      expect(e.message).toMatch(re);
    }
  });

  it("a wrong key is a real 401 from the server's check", async () => {
    outcome = "ok";
    const p = createAnthropicProvider(`anthropic:claude-test@${server.url}`, {
      env: { ANTHROPIC_API_KEY: "wrong" },
    });
    const e = await failure(p.serve(gen("x"), signal()));
    expect(e).toMatchObject({ retryable: false, status: 401 });
    await p.close();
  });

  it("the server's own validation errors come back as non-retryable 400s", async () => {
    outcome = "ok";
    const e = await failure(provider.serve(gen("x", { temperature: 1.5 }), signal()));
    expect(e).toMatchObject({ retryable: false, status: 400 });
    expect(e.message).toContain("temperature: range: 0..1");
  });

  it("loglikelihood requests get a clear capability error", async () => {
    const before = server.log.length;
    const e = await failure(
      provider.serve({ kind: "loglikelihood", context: "a", continuation: "b" }, signal()),
    );
    expect(e.retryable).toBe(false);
    expect(e.message).toMatch(/returns no token log-probabilities.*generate_until only/);
    expect(server.log.length).toBe(before);
  });

  it("resets and timeouts are retryable; an unreachable server names the URL", async () => {
    outcome = "reset";
    expect((await failure(provider.serve(gen("x"), signal()))).retryable).toBe(true);
    outcome = "timeout";
    const e = await failure(provider.serve(gen("x"), AbortSignal.timeout(150)));
    expect(e.retryable).toBe(true);
    expect(e.message).toMatch(/timed out/);
    const s = await startAnthropicServer();
    const url = s.url;
    await s.close();
    const p = createAnthropicProvider(`anthropic:m@${url}`, { env: {} });
    const u = await failure(p.serve(gen("x"), signal()));
    expect(u.retryable).toBe(true);
    expect(u.message).toContain(`cannot reach ${url}/v1/messages`);
    await p.close();
  });
});

describe("x-should-retry and the scheduler", () => {
  const store = () => new SqliteStore(path.join(mkdtempSync(path.join(tmpdir(), "assay-anth-")), "a.db"));

  it("x-should-retry: false makes a 500 permanent", async () => {
    const s = await startAnthropicServer({ plan: () => "500", errorHeaders: { "x-should-retry": "false" } });
    const p = createAnthropicProvider(`anthropic:m@${s.url}`, { env: {} });
    expect((await failure(p.serve(gen("x"), signal()))).retryable).toBe(false);
    await p.close();
    await s.close();
  });

  it("the scheduler retries 429 (honouring retry-after) and 529, then caches the answer", async () => {
    const plan: AnthropicOutcome[] = ["429", "529", "500", "ok"];
    const s = await startAnthropicServer({
      plan: (i) => plan[i] ?? "ok",
      retryAfter: "2",
      respond: () => "fine",
    });
    const p = createAnthropicProvider(`anthropic:m@${s.url}`, { env: {} });
    const delays: number[] = [];
    const st = store();
    const sched = new Scheduler(p, st, {
      maxRetries: 5,
      backoffBaseMs: 100,
      sleep: async (ms) => {
        delays.push(ms);
      },
      random: () => 0.5,
    });
    const [served] = await sched.serveAll([gen("x")]);
    expect(served.response).toEqual({ kind: "generate_until", text: "fine" });
    expect(s.log.length).toBe(4);
    expect(delays).toEqual([2000, 2000, 400 * 0.75]);
    await sched.flush();
    const again = new Scheduler(p, st, {});
    const [hit] = await again.serveAll([gen("x")]);
    expect(hit.cached).toBe(true);
    expect(s.log.length).toBe(4);
    // A 401 is not retried.
    const s2 = await startAnthropicServer({ plan: () => "401" });
    const p2 = createAnthropicProvider(`anthropic:m@${s2.url}`, { env: {} });
    const sched2 = new Scheduler(p2, st, { sleep: async () => {} });
    await expect(sched2.serveAll([gen("y")])).rejects.toThrow(/HTTP 401/);
    expect(s2.log.length).toBe(1);
    await Promise.all([p.close(), p2.close(), s.close(), s2.close(), st.close()]);
  });
});

describe("anthropic provider against the loopback server serving the ngram model", () => {
  let dir: string;
  let ngram: NgramProvider;
  let server: AnthropicServer;
  let provider: AnthropicProvider;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "assay-anth-ngram-"));
    const file = path.join(dir, "train.txt");
    writeFileSync(
      file,
      "The cat sat on the mat. The dog sat on the log. User: hi\nAssistant: The cat sat.\n".repeat(4),
    );
    ngram = await createNgramProvider(`ngram:${file}?order=4`, { cacheDir: path.join(dir, "cache") });
    server = await startAnthropicServer({ provider: ngram });
    provider = createAnthropicProvider(`anthropic:tiny@${server.url}`, { env: {} });
  });
  afterAll(async () => {
    await provider.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("generates exactly what the model generates, with its usage", async () => {
    const dog = { until: ["mat"], max_gen_toks: 60 };
    for (const [req, direct] of [
      [gen([{ role: "user", content: "hi" }], { until: ["\n"], max_gen_toks: 40 })],
      [
        gen([...CHAT, { role: "assistant", content: "The" }, { role: "user", content: "dog?" }], {
          max_gen_toks: 30,
        }),
      ],
      // A plain prompt is one user turn in the Messages API.
      [gen("The dog", dog), gen([{ role: "user", content: "The dog" }], dog)],
    ]) {
      const own = await ngram.serve(direct ?? req, signal());
      const via = await provider.serve(req, signal());
      expect(via.response).toEqual(own.response);
      expect(via.usage).toEqual(own.usage);
    }
  });
});
