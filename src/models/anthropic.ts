/**
 * `anthropic:<model>[@<base url>]`: Anthropic's Messages API (POST /v1/messages). Generation only: the
 * API returns no token log-probabilities. Failures are classified for the scheduler, never retried here.
 */
import { UserError } from "../util/errors.js";
import { networkError } from "./http_errors.js";
import {
  createHttpTransport,
  type HttpProviderOptions,
  type HttpTransport,
  parseModelAtUrl,
} from "./http_transport.js";
import { apiErrorMessage, cutAtStop, parseRetryAfter } from "./openai.js";
import { mergePrices, type PriceTable, priceFor } from "./pricing.js";
import {
  type ChatMessage,
  type ModelProvider,
  ProviderError,
  type ProviderResult,
  type Request,
  type RequestKind,
  type Usage,
} from "./types.js";

/**
 * Defaults: base URL from the spec's `@url`, then `ANTHROPIC_BASE_URL`, then https://api.anthropic.com;
 * key from `ANTHROPIC_API_KEY`; 64 connections. Extra headers are for e.g. `anthropic-beta`.
 */
export interface AnthropicOptions extends HttpProviderOptions {
  /** `anthropic-version` header (default 2023-06-01). */
  version?: string;
}

const DEFAULT_BASE_URL = "https://api.anthropic.com";
export const ANTHROPIC_VERSION = "2023-06-01";

/** List prices, USD per 1M tokens (2025); override in config rather than trust them for billing. */
export const ANTHROPIC_PRICES: PriceTable = {
  "claude-opus-4": { input: 15, output: 75 },
  "claude-opus-4-1": { input: 15, output: 75 },
  "claude-sonnet-4": { input: 3, output: 15 },
  "claude-3-7-sonnet": { input: 3, output: 15 },
  "claude-3-5-sonnet": { input: 3, output: 15 },
  "claude-3-5-haiku": { input: 0.8, output: 4 },
  "claude-3-opus": { input: 15, output: 75 },
  "claude-3-sonnet": { input: 3, output: 15 },
  "claude-3-haiku": { input: 0.25, output: 1.25 },
};

export const ANTHROPIC_CAPABILITY_MESSAGE =
  "the Anthropic Messages API returns no token log-probabilities, so it serves generate_until only; " +
  "loglikelihood tasks need an openai (completions echo), ngram or llamacpp model";

const KINDS: ReadonlySet<RequestKind> = new Set<RequestKind>(["generate_until"]);
/** `anthropic:<model>` or `anthropic:<model>@http://host:port`. */
export function parseAnthropicSpec(spec: string): { model: string; baseUrl?: string } {
  return parseModelAtUrl("anthropic", spec, "claude-3-5-haiku-latest");
}

export function createAnthropicProvider(spec: string, options: AnthropicOptions = {}): AnthropicProvider {
  return new AnthropicProvider(spec, options);
}

/** System messages go to the top-level `system` field; the API takes only user/assistant turns. */
export function toMessagesBody(prompt: string | ChatMessage[]): {
  system?: string;
  messages: Array<{ role: "user" | "assistant"; content: string }>;
} {
  if (typeof prompt === "string") return { messages: [{ role: "user", content: prompt }] };
  const system: string[] = [];
  const messages: Array<{ role: "user" | "assistant"; content: string }> = [];
  for (const m of prompt) {
    if (m.role === "system") system.push(m.content);
    else messages.push({ role: m.role, content: m.content });
  }
  return system.length > 0 ? { system: system.join("\n\n"), messages } : { messages };
}

export class AnthropicProvider implements ModelProvider {
  readonly id: string;
  readonly spec: string;
  readonly capabilities = KINDS;
  readonly model: string;
  readonly baseUrl: string;
  readonly prices: PriceTable;
  private readonly http: HttpTransport;
  private readonly path: string;
  private readonly url: string;

  constructor(spec: string, options: AnthropicOptions = {}) {
    const parsed = parseAnthropicSpec(spec);
    const env = options.env ?? process.env;
    this.spec = spec;
    this.model = options.model ?? parsed.model;
    const raw = parsed.baseUrl ?? options.baseUrl ?? env.ANTHROPIC_BASE_URL ?? DEFAULT_BASE_URL;
    let url: URL;
    try {
      url = new URL(raw);
      if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("protocol");
    } catch {
      throw new UserError(`invalid base URL '${raw}'`, {
        field: "base_url",
        expected: "http(s)://host[:port], e.g. https://api.anthropic.com",
      });
    }
    // Both `https://host` and `https://host/v1` are accepted; the endpoint is always <...>/v1/messages.
    const prefix = url.pathname.replace(/\/+$/, "").replace(/\/v1$/, "");
    this.baseUrl = `${url.origin}${prefix}`;
    this.path = `${prefix}/v1/messages`;
    this.url = `${url.origin}${this.path}`;
    this.id = `anthropic:${this.baseUrl}:${this.model}`;
    this.prices = mergePrices(ANTHROPIC_PRICES, options.prices);
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "anthropic-version": options.version ?? ANTHROPIC_VERSION,
      ...options.headers,
    };
    const key = options.apiKey ?? env.ANTHROPIC_API_KEY;
    if (key) headers["x-api-key"] = key;
    const connections = options.connections ?? 64;
    this.http = createHttpTransport({ origin: url.origin, headers, connections, mode: options.transport });
  }

  costFor(usage: Usage): number | undefined {
    return priceFor(this.model, usage, this.prices);
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

  async serve(request: Request, signal: AbortSignal): Promise<ProviderResult> {
    if (request.kind !== "generate_until")
      throw new ProviderError(`anthropic ${this.model}: ${ANTHROPIC_CAPABILITY_MESSAGE}`, {
        retryable: false,
      });
    const { prompt, params } = request;
    const body: Record<string, unknown> = {
      model: this.model,
      max_tokens: params.max_gen_toks,
      temperature: params.temperature,
      ...toMessagesBody(prompt),
    };
    if (params.top_p !== undefined) body.top_p = params.top_p;
    // The API refuses whitespace-only stop sequences; those are applied locally only.
    const stops = params.until.filter((s) => s.trim().length > 0);
    if (stops.length > 0) body.stop_sequences = stops;
    // No seed in this API: distinct samples of one request are distinct calls (the cache keys differ).
    const json = await this.post(body, signal);
    const content = json?.content;
    if (!Array.isArray(content))
      throw new ProviderError(`anthropic ${this.url}: malformed response: no content array`, {
        retryable: false,
      });
    const text = content
      .filter((b: any) => b?.type === "text" && typeof b.text === "string")
      .map((b: any) => b.text as string)
      .join("");
    const out = params.until.length > 0 ? cutAtStop(text, params.until) : text;
    const u = json?.usage ?? {};
    const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
    return {
      response: { kind: "generate_until", text: out },
      usage: {
        // Prompt-cache reads and writes are prompt tokens too.
        inputTokens:
          num(u.input_tokens) + num(u.cache_creation_input_tokens) + num(u.cache_read_input_tokens),
        outputTokens: num(u.output_tokens),
      },
    };
  }

  /** POST the body and return the parsed 2xx JSON; every failure becomes a classified ProviderError. */
  private async post(body: unknown, signal: AbortSignal): Promise<any> {
    let status: number;
    let headers: Record<string, string | string[] | undefined>;
    let text: string;
    try {
      ({ status, headers, text } = await this.http.post(this.path, JSON.stringify(body), signal));
    } catch (e) {
      throw networkError("anthropic", this.url, e, signal);
    }
    if (status >= 200 && status < 300) {
      let json: any;
      try {
        json = JSON.parse(text);
      } catch {
        throw new ProviderError(
          `anthropic ${this.url}: malformed response: invalid JSON: ${text.slice(0, 200)}`,
          {
            retryable: false,
          },
        );
      }
      if (json?.type === "error")
        throw new ProviderError(`anthropic ${this.url}: ${apiErrorMessage(text)}`, {
          retryable: false,
          status,
        });
      return json;
    }
    let errorType = "";
    try {
      errorType = JSON.parse(text)?.error?.type ?? "";
    } catch {}
    // The API's own advice wins (the official SDKs honour it); else 408/409/429/5xx (incl. 529) are transient.
    const should = String(headers["x-should-retry"] ?? "").toLowerCase();
    const retryable =
      should === "true"
        ? true
        : should === "false"
          ? false
          : status === 408 || status === 409 || status === 429 || status >= 500;
    const hint =
      status === 401
        ? " (check ANTHROPIC_API_KEY or the api_key option)"
        : status === 404
          ? ` (is '${this.model}' a model name the API knows?)`
          : "";
    throw new ProviderError(
      `anthropic ${this.url}: HTTP ${status}${errorType ? ` ${errorType}` : ""}: ${apiErrorMessage(text)}${hint}`,
      {
        retryable,
        status,
        retryAfterMs: retryable
          ? parseRetryAfter(headers["retry-after"], headers["retry-after-ms"])
          : undefined,
      },
    );
  }
}
