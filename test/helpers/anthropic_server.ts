/**
 * A loopback server speaking Anthropic's Messages API (POST /v1/messages): header and body validation
 * as the API does it, error bodies in its shape (`{type: "error", error: {type, message}}`), 429 with
 * retry-after, 529 overloaded, and answers from a real ModelProvider or a scripted function.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { ChatMessage, ModelProvider } from "../../src/models/types.js";

export type AnthropicOutcome =
  | "ok"
  | "429"
  | "529"
  | "500"
  | "503"
  | "400"
  | "401"
  | "403"
  | "404"
  | "timeout"
  | "reset";

export interface AnthropicReply {
  text: string;
  inputTokens?: number;
  outputTokens?: number;
}

export interface AnthropicServerOptions {
  /** Outcome of the i-th POST /v1/messages (default always "ok"). */
  plan?: (index: number, body: any) => AnthropicOutcome;
  /** Model answering "ok" requests (its chat prompt is system + messages). */
  provider?: ModelProvider;
  /** Scripted answer (used when no provider); default "Hello from the loopback Messages API.". */
  respond?: (body: any, index: number) => string | AnthropicReply;
  /** When set, requests must carry this x-api-key. */
  apiKey?: string;
  /** When set, other model names get 404 not_found_error. */
  models?: string[];
  /** retry-after header on 429/529 (seconds); default "1". */
  retryAfter?: string;
  /** Extra headers on error answers (e.g. x-should-retry). */
  errorHeaders?: Record<string, string>;
}

export interface AnthropicRequestLog {
  index: number;
  body: any;
  headers: http.IncomingHttpHeaders;
  outcome: AnthropicOutcome | "invalid";
}

export interface AnthropicServer {
  /** Origin, e.g. http://127.0.0.1:1234 (the provider appends /v1/messages). */
  url: string;
  readonly log: readonly AnthropicRequestLog[];
  close(): Promise<void>;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const ERRORS: Record<string, [number, string, string]> = {
  "429": [429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"],
  "529": [529, "overloaded_error", "Overloaded"],
  "500": [500, "api_error", "Internal server error"],
  "503": [503, "api_error", "Service unavailable"],
  "400": [400, "invalid_request_error", "prompt is too long: 250000 tokens > 200000 maximum"],
  "401": [401, "authentication_error", "invalid x-api-key"],
  "403": [403, "permission_error", "Your API key does not have permission to use the specified resource."],
  "404": [404, "not_found_error", "model: claude-nonexistent"],
};

function textOf(content: unknown, field: string): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((b, i) => {
        if (b?.type !== "text" || typeof b.text !== "string")
          throw new ApiError(
            400,
            "invalid_request_error",
            `${field}.${i}: only text blocks are supported here`,
          );
        return b.text;
      })
      .join("");
  }
  throw new ApiError(400, "invalid_request_error", `${field}: Input should be a valid string or list`);
}

/** Validates a Messages request as the API does; returns the chat prompt it describes. */
function validate(body: any, opts: AnthropicServerOptions): ChatMessage[] {
  const bad = (m: string) => new ApiError(400, "invalid_request_error", m);
  if (body === null || typeof body !== "object" || Array.isArray(body))
    throw bad("body must be a JSON object");
  if (typeof body.model !== "string") throw bad("model: Field required");
  if (opts.models && !opts.models.includes(body.model))
    throw new ApiError(404, "not_found_error", `model: ${body.model}`);
  if (body.max_tokens === undefined) throw bad("max_tokens: Field required");
  if (!Number.isInteger(body.max_tokens) || body.max_tokens < 1)
    throw bad("max_tokens: Input should be a valid integer greater than or equal to 1");
  if (
    body.temperature !== undefined &&
    !(typeof body.temperature === "number" && body.temperature >= 0 && body.temperature <= 1)
  )
    throw bad("temperature: range: 0..1");
  if (body.top_p !== undefined && !(typeof body.top_p === "number" && body.top_p >= 0 && body.top_p <= 1))
    throw bad("top_p: range: 0..1");
  if (body.stop_sequences !== undefined) {
    if (
      !Array.isArray(body.stop_sequences) ||
      !body.stop_sequences.every((s: unknown) => typeof s === "string")
    )
      throw bad("stop_sequences: Input should be a valid list of strings");
    if (body.stop_sequences.some((s: string) => s.trim() === ""))
      throw bad("stop_sequences: each stop sequence must contain non-whitespace");
  }
  if (!Array.isArray(body.messages) || body.messages.length === 0)
    throw bad("messages: at least one message is required");
  const out: ChatMessage[] = [];
  if (body.system !== undefined) out.push({ role: "system", content: textOf(body.system, "system") });
  body.messages.forEach((m: any, i: number) => {
    if (m?.role !== "user" && m?.role !== "assistant")
      throw bad(`messages.${i}.role: Input should be 'user' or 'assistant'`);
    out.push({ role: m.role, content: textOf(m.content, `messages.${i}.content`) });
  });
  return out;
}

function cut(text: string, stops: string[]): { text: string; stop: string | null } {
  let end = text.length;
  let stop: string | null = null;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && i < end) {
      end = i;
      stop = s;
    }
  }
  return { text: text.slice(0, end), stop };
}

export async function startAnthropicServer(opts: AnthropicServerOptions = {}): Promise<AnthropicServer> {
  const log: AnthropicRequestLog[] = [];
  let counter = 0;
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "").split("?")[0];
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      if (res.headersSent || res.destroyed) return;
      res.writeHead(status, {
        "content-type": "application/json",
        "request-id": `req_${counter}`,
        ...headers,
      });
      res.end(JSON.stringify(body));
    };
    const sendError = (e: ApiError, headers: Record<string, string> = {}) =>
      send(
        e.status,
        { type: "error", error: { type: e.type, message: e.message } },
        { ...opts.errorHeaders, ...headers },
      );
    if (req.method !== "POST" || path !== "/v1/messages") {
      req.resume();
      sendError(new ApiError(404, "not_found_error", `Not Found (${req.method} ${path})`));
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      let body: any;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        body = undefined;
      }
      const index = log.length;
      try {
        if (!req.headers["anthropic-version"])
          throw new ApiError(400, "invalid_request_error", "anthropic-version: header is required");
        if (opts.apiKey !== undefined && req.headers["x-api-key"] !== opts.apiKey)
          throw new ApiError(401, "authentication_error", "invalid x-api-key");
        const messages = validate(body, opts);
        const outcome = opts.plan ? opts.plan(index, body) : "ok";
        log.push({ index, body, headers: req.headers, outcome });
        if (outcome === "timeout") return; // never answers
        if (outcome === "reset") {
          req.socket.destroy();
          return;
        }
        if (outcome !== "ok") {
          const [status, type, message] = ERRORS[outcome];
          const retry: Record<string, string> =
            outcome === "429" || outcome === "529" ? { "retry-after": opts.retryAfter ?? "1" } : {};
          sendError(new ApiError(status, type, message), retry);
          return;
        }
        const stops: string[] = body.stop_sequences ?? [];
        let reply: AnthropicReply;
        if (opts.provider) {
          const r = await opts.provider.serve(
            {
              kind: "generate_until",
              prompt: messages,
              params: {
                until: stops,
                max_gen_toks: body.max_tokens,
                temperature: body.temperature ?? 1,
                ...(body.top_p !== undefined ? { top_p: body.top_p } : {}),
              },
            },
            new AbortController().signal,
          );
          reply = {
            text: r.response.kind === "generate_until" ? r.response.text : "",
            inputTokens: r.usage.inputTokens,
            outputTokens: r.usage.outputTokens,
          };
        } else {
          const r = opts.respond ? opts.respond(body, index) : "Hello from the loopback Messages API.";
          reply = typeof r === "string" ? { text: r } : r;
        }
        const { text: cutText, stop } = cut(reply.text, stops);
        // Scripted answers count whitespace-separated words as tokens.
        const words = cutText.split(/(?<=\s)/);
        const limited = !opts.provider && words.length > body.max_tokens;
        const text = limited ? words.slice(0, body.max_tokens).join("") : cutText;
        const outputTokens = reply.outputTokens ?? Math.min(words.length, body.max_tokens);
        send(200, {
          id: `msg_${++counter}`,
          type: "message",
          role: "assistant",
          model: body.model,
          content: [{ type: "text", text }],
          stop_reason: stop
            ? "stop_sequence"
            : limited || outputTokens >= body.max_tokens
              ? "max_tokens"
              : "end_turn",
          stop_sequence: stop,
          usage: {
            input_tokens:
              reply.inputTokens ?? messages.reduce((n, m) => n + m.content.split(/\s+/).length, 0),
            output_tokens: outputTokens,
          },
        });
      } catch (e) {
        if (log.length === index) log.push({ index, body, headers: req.headers, outcome: "invalid" });
        if (e instanceof ApiError) sendError(e);
        else sendError(new ApiError(500, "api_error", (e as Error).message));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
