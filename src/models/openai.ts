/**
 * `openai:<model>`: any OpenAI-compatible server (OpenAI, vLLM, llama.cpp server, TGI, assay's own).
 * Generation uses chat or text completions; loglikelihoods use completions with echo + logprobs, the way
 * lm-evaluation-harness's `local-completions` does. Failures are classified, never retried here.
 */
import { UserError } from "../util/errors.js";
import { networkError } from "./http_errors.js";
import {
  createHttpTransport,
  type HttpProviderOptions,
  type HttpTransport,
  parseModelAtUrl,
} from "./http_transport.js";
import { DEFAULT_PRICES, mergePrices, type PriceTable, priceFor } from "./pricing.js";
import {
  type ChatMessage,
  type ModelProvider,
  ProviderError,
  type ProviderResult,
  type Request,
  type RequestKind,
  type Usage,
} from "./types.js";

export type OpenAIMode = "chat" | "completions";

/** Defaults: base URL from `OPENAI_BASE_URL` then api.openai.com, key from `OPENAI_API_KEY`, 256 connections. */
export interface OpenAIOptions extends HttpProviderOptions {
  /** Force chat or text completions for generation. Default: chat for chat prompts, else completions. */
  mode?: OpenAIMode;
  /** `max_tokens` for echo scoring; some servers refuse 0. Detected on first refusal when omitted. */
  echoMaxTokens?: 0 | 1;
}

/** Usage with a flag for counts we estimated because the server sent none. */
export interface OpenAIUsage extends Usage {
  estimated?: boolean;
}

const DEFAULT_BASE_URL = "https://api.openai.com/v1";
const MAX_STOP = 4;
export const LOGPROBS_CAPABILITY_MESSAGE =
  "this server does not return prompt logprobs (completions echo+logprobs); loglikelihood tasks need them";

/** `openai:<model>` or `openai:<model>@http://host:port/v1`. Model names may contain `:` (fine-tunes). */
export function parseOpenAISpec(spec: string): { model: string; baseUrl?: string } {
  return parseModelAtUrl("openai", spec, "gpt-4o-mini");
}

/** Build the provider from a spec string and optional config. */
export function createOpenAIProvider(spec: string, options: OpenAIOptions = {}): OpenAIProvider {
  return new OpenAIProvider(spec, options);
}

function normalizeBaseUrl(raw: string): { baseUrl: string; origin: string; prefix: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UserError(`invalid base URL '${raw}'`, {
      field: "base_url",
      expected: "http(s)://host[:port]/v1",
    });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UserError(`invalid base URL '${raw}'`, {
      field: "base_url",
      expected: "http(s)://host[:port]/v1",
    });
  }
  const prefix = url.pathname.replace(/\/+$/, "");
  return { baseUrl: `${url.origin}${prefix}`, origin: url.origin, prefix };
}

/** Milliseconds from `Retry-After` (seconds or HTTP date) or `retry-after-ms`; undefined if absent/invalid. */
export function parseRetryAfter(
  retryAfter: string | string[] | undefined,
  retryAfterMs?: string | string[],
  now = Date.now(),
): number | undefined {
  const ms = Array.isArray(retryAfterMs) ? retryAfterMs[0] : retryAfterMs;
  if (ms !== undefined && ms.trim() !== "") {
    const n = Number(ms);
    if (Number.isFinite(n) && n >= 0) return n;
  }
  const v = (Array.isArray(retryAfter) ? retryAfter[0] : retryAfter)?.trim();
  if (!v) return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const date = Date.parse(v);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** The human message from an error body: OpenAI `{error:{message}}`, `{error:"..."}`, FastAPI `{detail}`, or text. */
export function apiErrorMessage(text: string): string {
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    const t = text.trim();
    return t.length > 500 ? `${t.slice(0, 500)}…` : t;
  }
  const e = body?.error;
  if (typeof e === "string") return e;
  if (e && typeof e.message === "string") return e.message;
  if (typeof body?.message === "string") return body.message;
  if (typeof body?.detail === "string") return body.detail;
  if (body?.detail !== undefined) return JSON.stringify(body.detail).slice(0, 500);
  return text.slice(0, 500);
}

/** Python `str.isspace` (what lm-evaluation-harness's `rstrip()` strips). */
function isPySpace(c: number): boolean {
  return (
    (c >= 0x09 && c <= 0x0d) ||
    (c >= 0x1c && c <= 0x20) ||
    c === 0x85 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}

/**
 * lm-evaluation-harness `_encode_pair`: trailing whitespace of the context belongs to the continuation.
 * Returns the length of the context without it.
 */
export function contextSplit(context: string): number {
  let end = context.length;
  while (end > 0 && isPySpace(context.charCodeAt(end - 1))) end--;
  return end;
}

const SURROGATE = /[\uD800-\uDFFF]/;
/** Length in code points, the unit of OpenAI's `text_offset` (Python string indices). */
function codePointLength(s: string, end = s.length): number {
  if (!SURROGATE.test(s)) return end;
  let n = 0;
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff || i + 1 >= end) n++;
    else {
      const d = s.charCodeAt(i + 1);
      n++;
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
  }
  return n;
}

/** Rough token count (≈4 characters per token) for servers that report no usage. */
function estimateTokens(text: string): number {
  return text.length === 0 ? 0 : Math.ceil(text.length / 4);
}

/** Cut at the earliest of the stop strings (servers see only the first four). */
export function cutAtStop(text: string, until: readonly string[]): string {
  let end = text.length;
  for (const s of until) {
    if (s.length === 0) continue;
    const i = text.indexOf(s);
    if (i >= 0 && i < end) end = i;
  }
  return end === text.length ? text : text.slice(0, end);
}

interface EchoLogprobs {
  tokens: string[];
  token_logprobs: (number | null)[];
  top_logprobs?: (Record<string, number> | null)[] | null;
  text_offset?: number[];
}

const ALL_KINDS: ReadonlySet<RequestKind> = new Set([
  "loglikelihood",
  "loglikelihood_rolling",
  "generate_until",
]);
export class OpenAIProvider implements ModelProvider {
  readonly id: string;
  readonly spec: string;
  readonly capabilities: ReadonlySet<RequestKind> = ALL_KINDS;
  readonly model: string;
  readonly baseUrl: string;
  readonly mode: OpenAIMode | undefined;
  readonly prices: PriceTable;
  private readonly http: HttpTransport;
  private readonly completionsPath: string;
  private readonly chatPath: string;
  private readonly completionsUrl: string;
  private readonly chatUrl: string;
  private echoMaxTokens: 0 | 1;
  private echoMaxTokensKnown: boolean;
  private chatMaxCompletionTokens = false;

  constructor(spec: string, options: OpenAIOptions = {}) {
    const parsed = parseOpenAISpec(spec);
    const env = options.env ?? process.env;
    this.spec = spec;
    this.model = options.model ?? parsed.model;
    const raw = parsed.baseUrl ?? options.baseUrl ?? env.OPENAI_BASE_URL ?? DEFAULT_BASE_URL;
    const { baseUrl, origin, prefix } = normalizeBaseUrl(raw);
    this.baseUrl = baseUrl;
    if (options.mode !== undefined && options.mode !== "chat" && options.mode !== "completions") {
      throw new UserError(`invalid mode '${options.mode}'`, {
        field: "mode",
        expected: "chat or completions",
      });
    }
    this.mode = options.mode;
    // Mode changes what a generate request returns, so it is part of the cache identity.
    this.id = `openai:${baseUrl}:${this.model}${this.mode ? `:mode=${this.mode}` : ""}`;
    this.prices = mergePrices(DEFAULT_PRICES, options.prices);
    this.completionsPath = `${prefix}/completions`;
    this.chatPath = `${prefix}/chat/completions`;
    this.completionsUrl = `${baseUrl}/completions`;
    this.chatUrl = `${baseUrl}/chat/completions`;
    this.echoMaxTokens = options.echoMaxTokens ?? 0;
    this.echoMaxTokensKnown = options.echoMaxTokens !== undefined;
    // Built once and shared by every request.
    const headers: Record<string, string> = { "content-type": "application/json", ...options.headers };
    const apiKey = options.apiKey ?? env.OPENAI_API_KEY;
    if (apiKey) headers.authorization = `Bearer ${apiKey}`;
    const connections = options.connections ?? 256;
    this.http = createHttpTransport({ origin, headers, connections, mode: options.transport });
  }

  /** USD cost of `usage` at this model's price, or undefined when the price is unknown. */
  costFor(usage: Usage): number | undefined {
    return priceFor(this.model, usage, this.prices);
  }

  async serve(request: Request, signal: AbortSignal): Promise<ProviderResult> {
    switch (request.kind) {
      case "generate_until":
        return this.generate(request, signal);
      case "loglikelihood":
        return this.loglikelihood(request.context, request.continuation, signal);
      case "loglikelihood_rolling":
        return this.rolling(request.text, signal);
      default:
        throw new ProviderError(`openai: unsupported request kind '${(request as Request).kind}'`, {
          retryable: false,
        });
    }
  }

  ready(): Promise<void> {
    return this.http.ready();
  }

  limitInFlight(n: number): boolean {
    return this.http.limitInFlight(n);
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  private async generate(
    request: Extract<Request, { kind: "generate_until" }>,
    signal: AbortSignal,
  ): Promise<ProviderResult> {
    const { prompt, params } = request;
    const chat = this.mode === "chat" || (this.mode === undefined && typeof prompt !== "string");
    if (!chat && typeof prompt !== "string") {
      throw new ProviderError(
        `openai ${this.baseUrl}: chat-message prompts need chat completions, but mode is 'completions'`,
        { retryable: false },
      );
    }
    const body: Record<string, unknown> = { model: this.model, temperature: params.temperature };
    body[chat && this.chatMaxCompletionTokens ? "max_completion_tokens" : "max_tokens"] = params.max_gen_toks;
    if (chat) body.messages = typeof prompt === "string" ? [{ role: "user", content: prompt }] : prompt;
    else body.prompt = prompt;
    const until = params.until;
    if (until.length > 0) {
      const stop = until.filter(nonEmpty).slice(0, MAX_STOP);
      if (stop.length > 0) body.stop = stop;
    }
    if (params.top_p !== undefined) body.top_p = params.top_p;
    // Distinct samples of one sampled request must differ, so the sample index shifts the seed.
    if (params.seed !== undefined) body.seed = params.seed + (request.sampleIndex ?? 0);

    let json: any;
    try {
      json = await this.post(
        chat ? this.chatPath : this.completionsPath,
        chat ? this.chatUrl : this.completionsUrl,
        body,
        signal,
      );
    } catch (e) {
      // Newer OpenAI models refuse `max_tokens` in chat: switch to `max_completion_tokens` for good.
      if (
        !chat ||
        this.chatMaxCompletionTokens ||
        !(e instanceof ProviderError) ||
        e.status !== 400 ||
        !/max_completion_tokens/.test(e.message)
      ) {
        throw e;
      }
      this.chatMaxCompletionTokens = true;
      body.max_completion_tokens = body.max_tokens;
      delete body.max_tokens;
      json = await this.post(this.chatPath, this.chatUrl, body, signal);
    }
    const choice = json?.choices?.[0];
    let text: unknown = chat ? choice?.message?.content : choice?.text;
    if (text === null && chat) text = ""; // e.g. a refusal or tool call: no text content
    if (typeof text !== "string") {
      throw this.malformed(
        chat ? "chat completion without choices[0].message.content" : "completion without choices[0].text",
      );
    }
    const out = until.length > 0 ? cutAtStop(text, until) : text;
    return { response: { kind: "generate_until", text: out }, usage: this.usage(json, prompt, text) };
  }

  private async loglikelihood(
    context: string,
    continuation: string,
    signal: AbortSignal,
  ): Promise<ProviderResult> {
    const text = context + continuation;
    const lp = await this.echo(text, signal);
    const json = lp.json;
    const ctxLen = codePointLength(text, contextSplit(context));
    let logprob = 0;
    let isGreedy = true;
    const { tokens, token_logprobs: tlp, top_logprobs: top } = lp.logprobs;
    const offsets = lp.offsets;
    for (let i = 0; i < lp.count; i++) {
      if (offsets[i] < ctxLen) continue;
      const v = tlp[i];
      if (v === null || v === undefined) continue; // unconditioned first token (BOS)
      logprob += v;
      if (isGreedy && !isArgmax(tokens[i], v, top?.[i])) isGreedy = false;
    }
    return { response: { kind: "loglikelihood", logprob, isGreedy }, usage: this.echoUsage(json, text) };
  }

  private async rolling(text: string, signal: AbortSignal): Promise<ProviderResult> {
    const lp = await this.echo(text, signal);
    const tlp = lp.logprobs.token_logprobs;
    let logprob = 0;
    for (let i = 0; i < lp.count; i++) {
      const v = tlp[i];
      if (v !== null && v !== undefined) logprob += v;
    }
    return { response: { kind: "loglikelihood_rolling", logprob }, usage: this.echoUsage(lp.json, text) };
  }

  /** Score `text` with completions echo + logprobs; returns the prompt tokens only. */
  private async echo(
    text: string,
    signal: AbortSignal,
  ): Promise<{ json: any; logprobs: EchoLogprobs; offsets: number[]; count: number }> {
    let json: any;
    for (;;) {
      const maxTokens = this.echoMaxTokens;
      try {
        json = await this.post(
          this.completionsPath,
          this.completionsUrl,
          { model: this.model, prompt: text, echo: true, logprobs: 1, max_tokens: maxTokens, temperature: 0 },
          signal,
        );
        break;
      } catch (e) {
        if (!(e instanceof ProviderError) || e.retryable) throw e;
        // Some servers (older vLLM) refuse max_tokens 0: switch to 1 once and drop the generated token.
        if (
          maxTokens === 0 &&
          !this.echoMaxTokensKnown &&
          e.status === 400 &&
          /max_tokens/i.test(e.message)
        ) {
          this.echoMaxTokens = 1;
          this.echoMaxTokensKnown = true;
          continue;
        }
        if (isCapabilityFailure(e)) {
          throw new ProviderError(
            `openai ${this.baseUrl}: ${LOGPROBS_CAPABILITY_MESSAGE} (server said: ${e.message})`,
            {
              retryable: false,
              status: e.status,
            },
          );
        }
        throw e;
      }
    }
    const lp: EchoLogprobs | undefined = json?.choices?.[0]?.logprobs;
    if (!lp || !Array.isArray(lp.tokens) || !Array.isArray(lp.token_logprobs) || lp.tokens.length === 0) {
      throw new ProviderError(`openai ${this.baseUrl}: ${LOGPROBS_CAPABILITY_MESSAGE}`, { retryable: false });
    }
    let offsets = lp.text_offset;
    if (!Array.isArray(offsets) || offsets.length < lp.tokens.length) {
      // No offsets: rebuild them from token texts (exact for servers whose tokens concatenate to the text).
      offsets = new Array(lp.tokens.length);
      let o = 0;
      for (let i = 0; i < lp.tokens.length; i++) {
        offsets[i] = o;
        o += codePointLength(lp.tokens[i] ?? "");
      }
    }
    let count = lp.tokens.length;
    if (this.echoMaxTokens > 0) {
      // Generated tokens follow the prompt: keep the first usage.prompt_tokens, else drop the last one (lm-eval).
      const promptTokens = json?.usage?.prompt_tokens;
      count = Number.isInteger(promptTokens) && promptTokens <= count ? promptTokens : Math.max(0, count - 1);
    }
    if (count > 0 && lp.token_logprobs.slice(0, count).every((v) => v === null || v === undefined)) {
      throw new ProviderError(`openai ${this.baseUrl}: ${LOGPROBS_CAPABILITY_MESSAGE}`, { retryable: false });
    }
    return { json, logprobs: lp, offsets, count };
  }

  private usage(json: any, prompt: string | ChatMessage[], output: string): OpenAIUsage {
    const u = json?.usage;
    if (u && typeof u.prompt_tokens === "number") {
      return {
        inputTokens: u.prompt_tokens,
        outputTokens: typeof u.completion_tokens === "number" ? u.completion_tokens : 0,
      };
    }
    let input = 0;
    if (typeof prompt === "string") input = estimateTokens(prompt);
    else for (const m of prompt) input += estimateTokens(m.content) + 4; // role and separators
    return { inputTokens: input, outputTokens: estimateTokens(output), estimated: true };
  }

  private echoUsage(json: any, text: string): OpenAIUsage {
    const u = json?.usage;
    if (u && typeof u.prompt_tokens === "number") {
      // A forced generated token is not part of the scored request.
      return {
        inputTokens: u.prompt_tokens,
        outputTokens: this.echoMaxTokens > 0 ? 0 : (u.completion_tokens ?? 0),
      };
    }
    return { inputTokens: estimateTokens(text), outputTokens: 0, estimated: true };
  }

  private malformed(what: string): ProviderError {
    return new ProviderError(`openai ${this.baseUrl}: malformed response: ${what}`, { retryable: false });
  }

  /** POST JSON and return the parsed 2xx body; every failure becomes a classified ProviderError. */
  private async post(path: string, url: string, body: unknown, signal: AbortSignal): Promise<any> {
    let statusCode: number;
    let headers: Record<string, string | string[] | undefined>;
    let text: string;
    try {
      ({ status: statusCode, headers, text } = await this.http.post(path, JSON.stringify(body), signal));
    } catch (e) {
      throw networkError("openai", url, e, signal);
    }
    if (statusCode >= 200 && statusCode < 300) {
      let json: any;
      try {
        json = JSON.parse(text);
      } catch {
        throw this.malformed(`invalid JSON from ${url}: ${text.slice(0, 200)}`);
      }
      // Some servers report failures as 200 with an error body.
      if (json?.error && !json.choices) {
        throw new ProviderError(`openai ${url}: ${apiErrorMessage(text)}`, {
          retryable: false,
          status: statusCode,
        });
      }
      return json;
    }
    const message = apiErrorMessage(text);
    // 501 Not Implemented is permanent (e.g. a chat-only server's /completions); other 5xx are transient.
    const retryable =
      statusCode === 408 ||
      statusCode === 409 ||
      statusCode === 429 ||
      (statusCode >= 500 && statusCode !== 501);
    const hint = statusCode === 401 ? " (check OPENAI_API_KEY or the api_key option)" : "";
    throw new ProviderError(`openai ${url}: HTTP ${statusCode}: ${message}${hint}`, {
      retryable,
      status: statusCode,
      retryAfterMs: retryable
        ? parseRetryAfter(headers["retry-after"], headers["retry-after-ms"])
        : undefined,
    });
  }
}

function nonEmpty(s: string): boolean {
  return s.length > 0;
}

/** The token is its position's argmax: by name, or by value as lm-eval compares (ties count as greedy). */
function isArgmax(token: string, logprob: number, top: Record<string, number> | null | undefined): boolean {
  if (!top) return false;
  let max = Number.NEGATIVE_INFINITY;
  let argmax: string | undefined;
  for (const k in top) {
    const v = top[k];
    if (v > max) {
      max = v;
      argmax = k;
    }
  }
  return argmax === token || logprob >= max;
}

/** Errors that mean "no completions echo+logprobs here" rather than a bad request of ours. */
function isCapabilityFailure(e: ProviderError): boolean {
  if (e.status === 404 || e.status === 405 || e.status === 501) return true;
  return /echo|logprob|not supported|unsupported|not implemented/i.test(e.message);
}
