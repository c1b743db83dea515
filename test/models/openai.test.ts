import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NgramProvider } from "../../src/models/ngram/provider.js";
import { createNgramProvider } from "../../src/models/ngram/spec.js";
import {
  createOpenAIProvider,
  cutAtStop,
  type OpenAIProvider,
  parseOpenAISpec,
  parseRetryAfter,
} from "../../src/models/openai.js";
import { DEFAULT_PRICES, mergePrices, priceFor } from "../../src/models/pricing.js";
import { type ChatMessage, type ModelProvider, ProviderError, type Request } from "../../src/models/types.js";
import { type OpenAIServer, startOpenAIServer } from "../../src/server/openai_server.js";
import { UserError } from "../../src/util/errors.js";
import { type FaultOutcome, type FaultServer, startFaultServer } from "../helpers/fault_server.js";

const GEN: Request = {
  kind: "generate_until",
  prompt: "Hello",
  params: { until: [], max_gen_toks: 8, temperature: 0 },
};

function signal(): AbortSignal {
  return new AbortController().signal;
}

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
  it("parses model names, fine-tune names and the @url form", () => {
    expect(parseOpenAISpec("openai:gpt-4o-mini")).toEqual({ model: "gpt-4o-mini", baseUrl: undefined });
    expect(parseOpenAISpec("openai:ft:gpt-3.5:org:abc")).toEqual({
      model: "ft:gpt-3.5:org:abc",
      baseUrl: undefined,
    });
    expect(parseOpenAISpec("openai:m@http://127.0.0.1:8000/v1")).toEqual({
      model: "m",
      baseUrl: "http://127.0.0.1:8000/v1",
    });
    expect(() => parseOpenAISpec("openai:")).toThrow(UserError);
    expect(() => parseOpenAISpec("openai:m@http://[bad")).not.toThrow();
    expect(() => createOpenAIProvider("openai:m@http://[bad")).toThrow(UserError);
    expect(() => createOpenAIProvider("openai:m", { mode: "x" as any })).toThrow(UserError);
  });

  it("takes base URL and key from spec, config, then env", async () => {
    const env = { OPENAI_BASE_URL: "http://10.0.0.1:9/v1/", OPENAI_API_KEY: "sk-env" };
    const a = createOpenAIProvider("openai:m", { env });
    expect(a.baseUrl).toBe("http://10.0.0.1:9/v1");
    expect(a.id).toBe("openai:http://10.0.0.1:9/v1:m");
    const b = createOpenAIProvider("openai:m", { env, baseUrl: "http://10.0.0.2:9/v1" });
    expect(b.baseUrl).toBe("http://10.0.0.2:9/v1");
    const c = createOpenAIProvider("openai:m@http://10.0.0.3:9/v1", { env, baseUrl: "http://10.0.0.2:9/v1" });
    expect(c.baseUrl).toBe("http://10.0.0.3:9/v1");
    const d = createOpenAIProvider("openai:m", { env: {}, mode: "chat" });
    expect(d.baseUrl).toBe("https://api.openai.com/v1");
    expect(d.id).toBe("openai:https://api.openai.com/v1:m:mode=chat");
    await Promise.all([a.close(), b.close(), c.close(), d.close()]);
  });

  it("prices usage from a table that config can override", () => {
    const usage = { inputTokens: 1_000_000, outputTokens: 500_000 };
    expect(priceFor("gpt-4o-mini", usage)).toBeCloseTo(0.15 + 0.3, 12);
    expect(priceFor("gpt-4o-2024-08-06", usage)).toBeCloseTo(2.5 + 5, 12);
    expect(priceFor("gpt-4o-mini-2024-07-18", usage)).toBeCloseTo(0.45, 12);
    expect(priceFor("my-local-model", usage)).toBeUndefined();
    const table = mergePrices(DEFAULT_PRICES, { "my-local-model": { input: 0, output: 0 }, "gpt-4o": null });
    expect(priceFor("my-local-model", usage, table)).toBe(0);
    expect(priceFor("gpt-4o", usage, table)).toBeUndefined();
    const p = createOpenAIProvider("openai:m", { env: {}, prices: { m: { input: 1, output: 2 } } });
    expect(p.costFor({ inputTokens: 2, outputTokens: 3 })).toBeCloseTo(8e-6, 15);
    return p.close();
  });

  it("parses Retry-After as seconds, HTTP date or retry-after-ms", () => {
    expect(parseRetryAfter("2")).toBe(2000);
    expect(parseRetryAfter("0.5")).toBe(500);
    const now = Date.parse("2025-01-01T00:00:00Z");
    expect(parseRetryAfter("Wed, 01 Jan 2025 00:00:03 GMT", undefined, now)).toBe(3000);
    expect(parseRetryAfter("Tue, 31 Dec 2024 00:00:00 GMT", undefined, now)).toBe(0);
    expect(parseRetryAfter(undefined, "1500")).toBe(1500);
    expect(parseRetryAfter("soon")).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});

describe("failure classification against a fault server", () => {
  let server: FaultServer;
  let provider: OpenAIProvider;
  let outcome: FaultOutcome = "ok";
  beforeAll(async () => {
    server = await startFaultServer({ plan: () => outcome, retryAfter: "2" });
    provider = createOpenAIProvider(`openai:fault@${server.url}`, { env: { OPENAI_API_KEY: "sk-test" } });
  });
  afterAll(async () => {
    await provider.close();
    await server.close();
  });

  it("sends the request and the key", async () => {
    outcome = "ok";
    const r = await provider.serve(GEN, signal());
    expect(r.response).toEqual({ kind: "generate_until", text: "ok" });
    expect(r.usage).toEqual({ inputTokens: 1, outputTokens: 1 });
    const last = server.log[server.log.length - 1];
    expect(last.path).toBe("/v1/completions");
    expect(last.headers.authorization).toBe("Bearer sk-test");
    expect(last.body).toMatchObject({ model: "fault", prompt: "Hello", max_tokens: 8, temperature: 0 });
  });

  it("429 with Retry-After is retryable with retryAfterMs", async () => {
    outcome = "429";
    const e = await failure(provider.serve(GEN, signal()));
    expect(e).toMatchObject({ retryable: true, status: 429, retryAfterMs: 2000 });
    expect(e.message).toContain("Rate limit reached");
  });

  it("503 with an HTTP-date Retry-After", async () => {
    const s = await startFaultServer({
      plan: () => "503-retry-after",
      retryAfter: new Date(Date.now() + 60_000).toUTCString(),
    });
    const p = createOpenAIProvider(`openai:fault@${s.url}`, { env: {} });
    const e = await failure(p.serve(GEN, signal()));
    expect(e.retryable).toBe(true);
    expect(e.status).toBe(503);
    expect(e.retryAfterMs).toBeGreaterThan(50_000);
    expect(e.retryAfterMs).toBeLessThanOrEqual(60_000);
    await p.close();
    await s.close();
  });

  it("500 is retryable, and the provider itself does not retry", async () => {
    outcome = "500";
    const before = server.requests;
    const e = await failure(provider.serve(GEN, signal()));
    expect(e).toMatchObject({ retryable: true, status: 500 });
    expect(e.retryAfterMs).toBeUndefined();
    expect(server.requests - before).toBe(1);
  });

  it("400 is not retryable and carries the API message", async () => {
    outcome = "error-400";
    const e = await failure(provider.serve(GEN, signal()));
    expect(e).toMatchObject({ retryable: false, status: 400 });
    expect(e.message).toContain("Invalid value for 'temperature'");
  });

  it("a reset connection is retryable", async () => {
    outcome = "reset";
    const e = await failure(provider.serve(GEN, signal()));
    expect(e.retryable).toBe(true);
    expect(e.message).toContain(server.url);
  });

  it("a timeout (abort) is retryable", async () => {
    outcome = "timeout";
    const t0 = Date.now();
    const e = await failure(provider.serve(GEN, AbortSignal.timeout(200)));
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(e.retryable).toBe(true);
    expect(e.message).toMatch(/timed out/);
    const c = new AbortController();
    setTimeout(() => c.abort(), 50);
    const e2 = await failure(provider.serve(GEN, c.signal));
    expect(e2.retryable).toBe(true);
    expect(e2.message).toMatch(/aborted/);
  });

  it("an unreachable server is a retryable connection error naming the URL", async () => {
    const s = await startFaultServer({ plan: () => "ok" });
    const url = s.url;
    await s.close();
    const p = createOpenAIProvider(`openai:m@${url}`, { env: {} });
    const e = await failure(p.serve(GEN, signal()));
    expect(e.retryable).toBe(true);
    expect(e.message).toContain(`${url}/completions`);
    expect(e.message).toMatch(/cannot reach/);
    await p.close();
  });

  it("sends at most 4 stop strings and cuts locally at all of them", async () => {
    const s = await startFaultServer({
      plan: () => "ok",
      respond: () => ({ choices: [{ index: 0, text: "abc DEF. ghi" }] }),
    });
    const p = createOpenAIProvider(`openai:m@${s.url}`, { env: {} });
    const r = await p.serve(
      {
        kind: "generate_until",
        prompt: "x",
        params: {
          until: ["1", "2", "", "3", "4", "."],
          max_gen_toks: 5,
          temperature: 0.5,
          top_p: 0.9,
          seed: 7,
        },
        sampleIndex: 2,
      },
      signal(),
    );
    expect(r.response).toEqual({ kind: "generate_until", text: "abc DEF" });
    expect(s.log[0].body).toMatchObject({
      stop: ["1", "2", "3", "4"],
      max_tokens: 5,
      temperature: 0.5,
      top_p: 0.9,
      seed: 9,
    });
    // No usage from the server: estimated and marked.
    expect(r.usage).toMatchObject({ estimated: true, inputTokens: 1 });
    await p.close();
    await s.close();
  });

  it("uses chat completions for chat prompts or in chat mode", async () => {
    outcome = "ok";
    const r = await provider.serve(
      { ...GEN, prompt: [{ role: "user", content: "Hi" }] } as Request,
      signal(),
    );
    expect(r.response).toEqual({ kind: "generate_until", text: "ok" });
    expect(server.log[server.log.length - 1].path).toBe("/v1/chat/completions");
    const chat = createOpenAIProvider(`openai:fault@${server.url}`, { env: {}, mode: "chat" });
    await chat.serve(GEN, signal());
    expect(server.log[server.log.length - 1].body.messages).toEqual([{ role: "user", content: "Hello" }]);
    await chat.close();
    const comp = createOpenAIProvider(`openai:fault@${server.url}`, { env: {}, mode: "completions" });
    const e = await failure(
      comp.serve({ ...GEN, prompt: [{ role: "user", content: "Hi" }] } as Request, signal()),
    );
    expect(e.retryable).toBe(false);
    await comp.close();
  });
});

describe("parameter negotiation", () => {
  it("switches chat requests to max_completion_tokens when max_tokens is refused", async () => {
    const s = await startFaultServer({
      plan: (i) => (i === 0 ? "error-400" : "ok"),
      badRequestMessage:
        "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
    });
    const p = createOpenAIProvider(`openai:o3@${s.url}`, { env: {} });
    const chatReq = { ...GEN, prompt: [{ role: "user", content: "Hi" }] } as Request;
    expect((await p.serve(chatReq, signal())).response).toEqual({ kind: "generate_until", text: "ok" });
    await p.serve(chatReq, signal());
    expect(s.log.map((l) => [l.body.max_tokens, l.body.max_completion_tokens])).toEqual([
      [8, undefined],
      [undefined, 8],
      [undefined, 8],
    ]);
    await p.close();
    await s.close();
  });
});

describe("loglikelihood capability", () => {
  const CAPABILITY =
    /does not return prompt logprobs \(completions echo\+logprobs\); loglikelihood tasks need them/;
  const LL: Request = { kind: "loglikelihood", context: "The cat", continuation: " sat" };

  it("a chat-only server (no /completions) gives a clear non-retryable error", async () => {
    const s = await startFaultServer({
      plan: () => "ok",
      respond: (_b, path) => (path === "/v1/completions" ? { choices: [{ index: 0, text: "" }] } : {}),
    });
    const p = createOpenAIProvider(`openai:m@${s.url}`, { env: {} });
    const e = await failure(p.serve(LL, signal()));
    expect(e.retryable).toBe(false);
    expect(e.message).toMatch(CAPABILITY);
    await p.close();
    await s.close();
  });

  it("a server refusing echo gives the capability error with its message", async () => {
    const s = await startFaultServer({ plan: () => "error-400", badRequestMessage: "echo is not supported" });
    const p = createOpenAIProvider(`openai:m@${s.url}`, { env: {} });
    const e = await failure(p.serve({ kind: "loglikelihood_rolling", text: "abc" }, signal()));
    expect(e.retryable).toBe(false);
    expect(e.message).toMatch(CAPABILITY);
    expect(e.message).toContain("echo is not supported");
    await p.close();
    await s.close();
  });

  it("falls back to max_tokens 1 when 0 is refused, and drops the generated token", async () => {
    const s = await startFaultServer({
      plan: (i) => (i === 0 ? "error-400" : "ok"),
      badRequestMessage: "max_tokens must be at least 1, got 0.",
      respond: (body) => {
        const tokens = [...(body.prompt as string), "!"];
        return {
          choices: [
            {
              index: 0,
              text: `${body.prompt}!`,
              logprobs: {
                tokens,
                token_logprobs: tokens.map((_, i) => (i === 0 ? null : -(i + 1))),
                top_logprobs: tokens.map((t, i) => (i === 0 ? null : { [t]: -(i + 1) })),
                text_offset: tokens.map((_, i) => i),
              },
            },
          ],
        };
      },
    });
    const p = createOpenAIProvider(`openai:m@${s.url}`, { env: {} });
    const r = await p.serve({ kind: "loglikelihood", context: "ab", continuation: "cd" }, signal());
    // tokens a b c d !, logprobs null -2 -3 -4 -5: the continuation is c d; "!" is generated.
    expect(r.response).toEqual({ kind: "loglikelihood", logprob: -7, isGreedy: true });
    expect(r.usage).toMatchObject({ estimated: true });
    const r2 = await p.serve({ kind: "loglikelihood_rolling", text: "abcd" }, signal());
    expect(r2.response).toEqual({ kind: "loglikelihood_rolling", logprob: -9 });
    expect(s.log.map((l) => l.body.max_tokens)).toEqual([0, 1, 1]);
    expect(s.log[1].body).toMatchObject({ echo: true, logprobs: 1, temperature: 0, prompt: "abcd" });
    await p.close();
    await s.close();
  });
});

describe("OpenAI-compatible server: protocol and errors", () => {
  // A tiny deterministic provider: generates a fixed text; scores one character per token.
  const stub: ModelProvider = {
    id: "stub",
    spec: "stub:model",
    capabilities: new Set(["generate_until", "loglikelihood", "loglikelihood_rolling"]),
    async serve(request) {
      if (request.kind !== "generate_until")
        throw new ProviderError("stub: generate only", { retryable: false });
      if (typeof request.prompt !== "string" && request.prompt[0].content === "overloaded") {
        throw new ProviderError("busy", { retryable: true, retryAfterMs: 3000 });
      }
      let text = "The answer is 42. Done";
      for (const s of request.params.until) if (s && text.includes(s)) text = text.slice(0, text.indexOf(s));
      text = text.slice(0, request.params.max_gen_toks);
      return {
        response: { kind: "generate_until", text },
        usage: { inputTokens: 3, outputTokens: text.length },
      };
    },
    async scoreText(text, top) {
      return [...text].map((c, i) => ({
        token: c,
        offset: i,
        logprob: i === 0 ? null : -1,
        top: top > 0 && i > 0 ? { [c]: -1 } : {},
        greedy: i > 0,
      }));
    },
  };
  let server: OpenAIServer;
  beforeAll(async () => {
    server = await startOpenAIServer(stub, { modelName: "stub-model" });
  });
  afterAll(() => server.close());

  async function post(path: string, body: unknown) {
    const r = await fetch(`${server.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    return { status: r.status, headers: r.headers, json: (await r.json()) as any };
  }

  it("lists the model", async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const r = await fetch(`${server.url}/models`);
    expect(r.status).toBe(200);
    expect(((await r.json()) as any).data[0].id).toBe("stub-model");
  });

  it("answers errors in OpenAI's shape", async () => {
    const bad = await post("/completions", "{not json");
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatchObject({ type: "invalid_request_error" });
    expect(typeof bad.json.error.message).toBe("string");
    expect("code" in bad.json.error).toBe(true);
    const missing = await post("/completions", { model: "x" });
    expect(missing.status).toBe(400);
    expect(missing.json.error.message).toMatch(/prompt/);
    const noMessages = await post("/chat/completions", { model: "x" });
    expect(noMessages.status).toBe(400);
    expect(noMessages.json.error.message).toMatch(/messages/);
    const badRole = await post("/chat/completions", { messages: [{ role: "robot", content: "x" }] });
    expect(badRole.status).toBe(400);
    const badMax = await post("/completions", { prompt: "x", max_tokens: -1 });
    expect(badMax.status).toBe(400);
    expect(badMax.json.error.param).toBe("max_tokens");
    const unknown = await post("/nope", {});
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe("unknown_url");
    const stream = await post("/chat/completions", {
      messages: [{ role: "user", content: "x" }],
      stream: true,
    });
    expect(stream.status).toBe(400);
    const busy = await post("/chat/completions", { messages: [{ role: "user", content: "overloaded" }] });
    expect(busy.status).toBe(503);
    expect(busy.headers.get("retry-after")).toBe("3");
    expect(busy.json.error.type).toBe("server_error");
  });

  it("serves completions with stop, echo and logprobs, and usage", async () => {
    const r = await post("/completions", { prompt: "Q:", max_tokens: 50, stop: ["."], temperature: 0 });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ object: "text_completion", model: "stub-model" });
    expect(r.json.choices[0]).toMatchObject({
      index: 0,
      text: "The answer is 42",
      logprobs: null,
      finish_reason: "stop",
    });
    expect(r.json.usage).toEqual({ prompt_tokens: 3, completion_tokens: 16, total_tokens: 19 });
    const e = await post("/completions", { prompt: "abc", max_tokens: 0, echo: true, logprobs: 1 });
    expect(e.json.choices[0].text).toBe("abc");
    expect(e.json.choices[0].logprobs).toEqual({
      tokens: ["a", "b", "c"],
      token_logprobs: [null, -1, -1],
      top_logprobs: [null, { b: -1 }, { c: -1 }],
      text_offset: [0, 1, 2],
    });
    expect(e.json.usage).toEqual({ prompt_tokens: 3, completion_tokens: 0, total_tokens: 3 });
    // Logprobs of generated text only (no echo): offsets continue after the prompt.
    const g = await post("/completions", { prompt: "ab", max_tokens: 3, logprobs: 0 });
    expect(g.json.choices[0].text).toBe("The");
    expect(g.json.choices[0].logprobs.tokens).toEqual(["T", "h", "e"]);
    expect(g.json.choices[0].logprobs.text_offset).toEqual([2, 3, 4]);
    const many = await post("/completions", { prompt: ["a", "b"], max_tokens: 3, n: 2 });
    expect(many.json.choices.map((c: any) => c.index)).toEqual([0, 1, 2, 3]);
    expect(many.json.usage.prompt_tokens).toBe(6);
  });

  it("serves chat completions", async () => {
    const r = await post("/chat/completions", {
      model: "whatever",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: [{ type: "text", text: "Hi" }] },
      ],
      max_tokens: 10,
    });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ object: "chat.completion", model: "stub-model" });
    expect(r.json.choices[0]).toMatchObject({
      index: 0,
      message: { role: "assistant", content: "The answer" },
      finish_reason: "length",
    });
    expect(r.json.usage).toEqual({ prompt_tokens: 3, completion_tokens: 10, total_tokens: 13 });
  });

  it("tells a client when the model has no logprobs", async () => {
    const noScore: ModelProvider = { ...stub, scoreText: undefined };
    const s = await startOpenAIServer(noScore);
    const r = await fetch(`${s.url}/completions`, {
      method: "POST",
      body: JSON.stringify({ prompt: "abc", echo: true, logprobs: 1, max_tokens: 0 }),
    });
    expect(r.status).toBe(400);
    expect(((await r.json()) as any).error.message).toMatch(/logprobs/);
    // And the openai provider turns that into the capability error.
    const p = createOpenAIProvider(`openai:m@${s.url}`, { env: {} });
    const e = await failure(p.serve({ kind: "loglikelihood", context: "a", continuation: "b" }, signal()));
    expect(e.retryable).toBe(false);
    expect(e.message).toMatch(/does not return prompt logprobs/);
    await p.close();
    await s.close();
  });
});

describe("openai provider against the OpenAI-compatible server serving the ngram model", () => {
  const TRAIN = [
    "The cat sat on the mat. The dog sat on the log. The cat ate the fish.",
    "A bird flew over the house. The bird sang a song. Café au lait, naïve façade.",
    "Rockets 🚀 go up. Stars ✨ shine at night. The cat sat on the mat again.",
    "Question: What did the cat do?\nAnswer: The cat sat on the mat.",
  ]
    .join("\n")
    .repeat(3);
  let dir: string;
  let ngram: NgramProvider;
  let server: OpenAIServer;
  let openai: OpenAIProvider;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "assay-openai-"));
    const file = path.join(dir, "train.txt");
    writeFileSync(file, TRAIN);
    ngram = await createNgramProvider(`ngram:${file}?order=4`, { cacheDir: path.join(dir, "cache") });
    server = await startOpenAIServer(ngram, { modelName: "tiny-ngram" });
    openai = createOpenAIProvider(`openai:tiny-ngram@${server.url}`, { env: {} });
  });
  afterAll(async () => {
    await openai.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const gen = (prompt: string | ChatMessage[], until: string[] = [], max = 40): Request => ({
    kind: "generate_until",
    prompt,
    params: { until, max_gen_toks: max, temperature: 0 },
  });

  it("generates like the model itself, via completions and chat", async () => {
    for (const req of [gen("The cat"), gen("Question: What did the bird do?\nAnswer:", ["\n"])]) {
      const own = await ngram.serve(req, signal());
      const viaHttp = await openai.serve(req, signal());
      expect(viaHttp.response).toEqual(own.response);
      expect(viaHttp.usage).toEqual(own.usage); // from the server's usage, not estimated
    }
    const chat = gen([{ role: "user", content: "What did the cat do?" }], ["\n"]);
    const own = await ngram.serve(chat, signal());
    const viaHttp = await openai.serve(chat, signal());
    expect((own.response as { text: string }).text.length).toBeGreaterThan(0);
    expect(viaHttp.response).toEqual(own.response);
    expect(viaHttp.usage).toEqual(own.usage);
  });

  it("honours stop sequences, more than four of them too", async () => {
    const free = (await ngram.serve(gen("The dog", [], 60), signal())).response as { text: string };
    expect(free.text).toContain("cat");
    const stopped = await openai.serve(gen("The dog", ["cat"], 60), signal());
    expect(stopped.response).toEqual({
      kind: "generate_until",
      text: free.text.slice(0, free.text.indexOf("cat")),
    });
    // Five stops: the server sees four; the fifth ("on") is applied locally and cuts earliest.
    const until = ["XX", "YY", "ZZ", "cat", "on"];
    const many = await openai.serve(gen("The dog", until, 60), signal());
    expect(free.text.indexOf("on")).toBeLessThan(free.text.indexOf("cat"));
    expect(many.response).toEqual({ kind: "generate_until", text: cutAtStop(free.text, ["on"]) });
    const last = (await ngram.serve(gen("The dog", ["XX", "YY", "ZZ", "cat"], 60), signal())).response;
    expect(last).toEqual({ kind: "generate_until", text: free.text.slice(0, free.text.indexOf("cat")) });
  });

  const PAIRS: Array<[string, string]> = [
    ["The cat", " sat on the mat"],
    ["The cat", " flew over the fish"],
    ["Question: What did the cat do?\nAnswer:", " The cat sat on the mat."],
    ["Café au", " lait, naïve"],
    ["Rockets", " 🚀 go up"],
    ["Rockets 🚀", " go up. Stars ✨"],
    ["Rock", "ets"],
    ["x", "y"],
  ];

  it("loglikelihood via echo+logprobs equals the model's own", async () => {
    let greedySeen = 0;
    for (const [context, continuation] of PAIRS) {
      const req: Request = { kind: "loglikelihood", context, continuation };
      const own = await ngram.serve(req, signal());
      const viaHttp = await openai.serve(req, signal());
      if (own.response.kind !== "loglikelihood" || viaHttp.response.kind !== "loglikelihood")
        throw new Error();
      expect(Math.abs(viaHttp.response.logprob - own.response.logprob)).toBeLessThan(1e-9);
      expect(viaHttp.response.isGreedy).toBe(own.response.isGreedy);
      if (own.response.isGreedy) greedySeen++;
      expect(viaHttp.usage.inputTokens).toBe(Buffer.byteLength(context + continuation));
      expect(viaHttp.usage).not.toHaveProperty("estimated");
    }
    // Both outcomes of is_greedy are exercised: a greedy continuation is the model's own output.
    const cont = ((await ngram.serve(gen("The bird", [], 12), signal())).response as { text: string }).text;
    const own = await ngram.serve(
      { kind: "loglikelihood", context: "The bird", continuation: cont },
      signal(),
    );
    const viaHttp = await openai.serve(
      { kind: "loglikelihood", context: "The bird", continuation: cont },
      signal(),
    );
    expect(own.response).toMatchObject({ isGreedy: true });
    expect(viaHttp.response).toMatchObject({ isGreedy: true });
    expect(greedySeen).toBeLessThan(PAIRS.length);
  });

  it("moves the context's trailing whitespace into the continuation, as lm-eval does", async () => {
    const viaHttp = await openai.serve(
      { kind: "loglikelihood", context: "The cat ", continuation: "sat" },
      signal(),
    );
    const own = await ngram.serve(
      { kind: "loglikelihood", context: "The cat", continuation: " sat" },
      signal(),
    );
    expect((viaHttp.response as { logprob: number }).logprob).toBeCloseTo(
      (own.response as { logprob: number }).logprob,
      9,
    );
  });

  it("loglikelihood_rolling equals the model's own", async () => {
    for (const text of ["The cat sat on the mat.", "Rockets 🚀 go up. Café!", "zzz qqq"]) {
      const req: Request = { kind: "loglikelihood_rolling", text };
      const own = await ngram.serve(req, signal());
      const viaHttp = await openai.serve(req, signal());
      if (own.response.kind !== "loglikelihood_rolling" || viaHttp.response.kind !== "loglikelihood_rolling")
        throw new Error();
      expect(Math.abs(viaHttp.response.logprob - own.response.logprob)).toBeLessThan(1e-9);
    }
  });

  it("answers echo+logprobs with code-point offsets and byte tokens", async () => {
    const r = await fetch(`${server.url}/completions`, {
      method: "POST",
      body: JSON.stringify({ prompt: "a🚀b", echo: true, logprobs: 2, max_tokens: 0 }),
    });
    const lp = ((await r.json()) as any).choices[0].logprobs;
    expect(lp.tokens).toEqual(["a", "bytes:\\xf0", "bytes:\\x9f", "bytes:\\x9a", "bytes:\\x80", "b"]);
    expect(lp.text_offset).toEqual([0, 1, 1, 1, 1, 2]);
    expect(Object.keys(lp.top_logprobs[1])).toHaveLength(2);
  });

  it("serves many concurrent requests", async () => {
    const reqs: Request[] = [];
    for (let i = 0; i < 300; i++) {
      reqs.push(
        i % 3 === 0
          ? gen(`The cat ${i}`, ["."], 10)
          : i % 3 === 1
            ? { kind: "loglikelihood", context: `The ${i}`, continuation: " cat" }
            : { kind: "loglikelihood_rolling", text: `The dog ${i}` },
      );
    }
    const viaHttp = await Promise.all(reqs.map((r) => openai.serve(r, signal())));
    const own = await Promise.all(reqs.map((r) => ngram.serve(r, signal())));
    for (let i = 0; i < reqs.length; i++) {
      const a = viaHttp[i].response as any;
      const b = own[i].response as any;
      if (a.kind === "generate_until") expect(a).toEqual(b);
      else expect(Math.abs(a.logprob - b.logprob)).toBeLessThan(1e-9);
    }
  });
});
