/**
 * Serve any ModelProvider over the OpenAI HTTP protocol (models, completions, chat completions), so tools
 * that speak it (lm-evaluation-harness `local-completions`, assay's own `openai` provider) can use it.
 * Completions with echo + logprobs are answered from `provider.scoreText`.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import {
  type ChatMessage,
  type GenerationParams,
  type ModelProvider,
  ProviderError,
  type TokenScore,
} from "../models/types.js";

export interface OpenAIServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Name reported by /v1/models and in responses; default the provider's spec. */
  modelName?: string;
  /** Largest accepted request body (default 16 MiB). */
  maxBodyBytes?: number;
}

export interface OpenAIServer {
  /** Base URL ending in /v1. */
  url: string;
  close(): Promise<void>;
}

/** A client error answered in OpenAI's error shape. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = "invalid_request_error",
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

const JSON_HEADERS = { "content-type": "application/json" } as const;
const DEFAULT_COMPLETION_MAX_TOKENS = 16; // OpenAI's default for /completions
const DEFAULT_CHAT_MAX_TOKENS = 256; // bounded so a model without an end token cannot run forever
const MAX_N = 128;
const MAX_TOP_LOGPROBS = 20;

function send(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers?: Record<string, string>,
): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...JSON_HEADERS,
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function sendError(res: http.ServerResponse, e: unknown): void {
  if (e instanceof HttpError) {
    send(res, e.status, { error: { message: e.message, type: e.type, param: e.param, code: e.code } });
    return;
  }
  if (e instanceof ProviderError) {
    if (e.retryable) {
      const status = e.status === 429 || (e.status !== undefined && e.status >= 500) ? e.status : 503;
      const headers =
        e.retryAfterMs !== undefined
          ? { "retry-after": String(Math.ceil(e.retryAfterMs / 1000)) }
          : undefined;
      send(
        res,
        status,
        { error: { message: e.message, type: "server_error", param: null, code: null } },
        headers,
      );
    } else {
      send(res, 400, {
        error: { message: e.message, type: "invalid_request_error", param: null, code: null },
      });
    }
    return;
  }
  const message = e instanceof Error ? e.message : String(e);
  send(res, 500, { error: { message, type: "server_error", param: null, code: null } });
}

function readBody(req: http.IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new HttpError(413, `request body larger than ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () =>
      resolve(chunks.length === 1 ? chunks[0].toString("utf8") : Buffer.concat(chunks).toString("utf8")),
    );
    req.on("error", reject);
  });
}

function parseJson(text: string): Record<string, any> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, "We could not parse the JSON body of your request.");
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new HttpError(400, "The request body must be a JSON object.");
  }
  return body as Record<string, any>;
}

function intField(body: Record<string, any>, name: string, dflt: number, min: number, max: number): number {
  const v = body[name];
  if (v === undefined || v === null) return dflt;
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new HttpError(
      400,
      `'${name}' must be an integer from ${min} to ${max}; got ${JSON.stringify(v)}`,
      undefined,
      name,
    );
  }
  return v;
}

function numField(body: Record<string, any>, name: string, dflt: number | undefined): number | undefined {
  const v = body[name];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new HttpError(400, `'${name}' must be a number; got ${JSON.stringify(v)}`, undefined, name);
  }
  return v;
}

function stopField(body: Record<string, any>): string[] {
  const v = body.stop;
  if (v === undefined || v === null) return [];
  if (typeof v === "string") return [v];
  if (Array.isArray(v) && v.every((s) => typeof s === "string")) return v;
  throw new HttpError(400, "'stop' must be a string or an array of strings", undefined, "stop");
}

function generationParams(body: Record<string, any>, maxTokens: number): GenerationParams {
  const params: GenerationParams = {
    until: stopField(body),
    max_gen_toks: maxTokens,
    temperature: numField(body, "temperature", 1)!,
  };
  const topP = numField(body, "top_p", undefined);
  if (topP !== undefined) params.top_p = topP;
  const seed = body.seed;
  if (seed !== undefined && seed !== null) {
    if (!Number.isInteger(seed)) throw new HttpError(400, "'seed' must be an integer", undefined, "seed");
    params.seed = seed;
  }
  return params;
}

function noStreaming(body: Record<string, any>): void {
  if (body.stream === true)
    throw new HttpError(400, "streaming is not supported by this server", undefined, "stream");
}

const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * Providers give UTF-16 offsets (JS string indices); OpenAI's `text_offset` counts code points (Python
 * string indices, as vLLM and others send). Returns the conversion, or null when the two agree.
 */
function codePointOffsets(text: string): Int32Array | null {
  if (!SURROGATE.test(text)) return null;
  const map = new Int32Array(text.length + 1);
  let cp = 0;
  for (let i = 0; i < text.length; i++, cp++) {
    map[i] = cp;
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) map[++i] = cp;
    }
  }
  map[text.length] = cp;
  return map;
}

const CHAT_ROLES = new Set(["system", "user", "assistant"]);

function chatMessages(v: unknown): ChatMessage[] {
  if (!Array.isArray(v) || v.length === 0) {
    throw new HttpError(400, "'messages' must be a non-empty array", undefined, "messages");
  }
  return v.map((m, i): ChatMessage => {
    let role = m?.role;
    if (role === "developer") role = "system";
    if (!CHAT_ROLES.has(role)) {
      throw new HttpError(
        400,
        `messages[${i}].role must be system, user or assistant`,
        undefined,
        `messages[${i}].role`,
      );
    }
    let content = m.content;
    if (Array.isArray(content)) {
      // Content parts: only text is meaningful to a text model.
      content = content
        .map((p: any) => (p?.type === "text" && typeof p.text === "string" ? p.text : ""))
        .join("");
    } else if (content === null || content === undefined) content = "";
    if (typeof content !== "string") {
      throw new HttpError(
        400,
        `messages[${i}].content must be a string`,
        undefined,
        `messages[${i}].content`,
      );
    }
    return { role, content };
  });
}

export async function startOpenAIServer(
  provider: ModelProvider,
  opts: OpenAIServerOptions = {},
): Promise<OpenAIServer> {
  const host = opts.host ?? "127.0.0.1";
  const modelName = opts.modelName ?? provider.spec;
  const maxBody = opts.maxBodyBytes ?? 16 * 1024 * 1024;
  const canGenerate = provider.capabilities.has("generate_until");
  let counter = 0;
  const modelObject = {
    id: modelName,
    object: "model",
    created: Math.floor(Date.now() / 1000),
    owned_by: "assay",
  };
  const modelsBody = JSON.stringify({ object: "list", data: [modelObject] });

  function generate(
    prompt: string | ChatMessage[],
    params: GenerationParams,
    sampleIndex: number,
    signal: AbortSignal,
  ) {
    if (!canGenerate) throw new HttpError(400, `model '${modelName}' cannot generate text`);
    return provider.serve(
      sampleIndex > 0
        ? { kind: "generate_until", prompt, params, sampleIndex }
        : { kind: "generate_until", prompt, params },
      signal,
    );
  }

  async function completion(
    prompt: string,
    body: Record<string, any>,
    index: number,
    sampleIndex: number,
    signal: AbortSignal,
  ) {
    const maxTokens = intField(body, "max_tokens", DEFAULT_COMPLETION_MAX_TOKENS, 0, 1 << 20);
    const echo = body.echo === true;
    const logprobs = body.logprobs === undefined || body.logprobs === null ? null : body.logprobs;
    if (logprobs !== null && (!Number.isInteger(logprobs) || logprobs < 0 || logprobs > MAX_TOP_LOGPROBS)) {
      throw new HttpError(
        400,
        `'logprobs' must be an integer from 0 to ${MAX_TOP_LOGPROBS}`,
        undefined,
        "logprobs",
      );
    }
    if (logprobs !== null && !provider.scoreText) {
      throw new HttpError(400, `model '${modelName}' does not support logprobs`, undefined, "logprobs");
    }
    let generated = "";
    let promptTokens = 0;
    let completionTokens = 0;
    let finish = "length";
    if (maxTokens > 0) {
      const r = await generate(prompt, generationParams(body, maxTokens), sampleIndex, signal);
      generated = r.response.kind === "generate_until" ? r.response.text : "";
      promptTokens = r.usage.inputTokens;
      completionTokens = r.usage.outputTokens;
      if (completionTokens < maxTokens) finish = "stop";
    }
    let lp: {
      tokens: string[];
      token_logprobs: (number | null)[];
      top_logprobs: (Record<string, number> | null)[];
      text_offset: number[];
    } | null = null;
    if (logprobs !== null && (echo || generated.length > 0)) {
      const text = prompt + generated;
      const scores: TokenScore[] = await provider.scoreText!(text, logprobs, signal);
      const promptLen = prompt.length;
      const cp = codePointOffsets(text);
      lp = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
      let inPrompt = 0;
      for (const s of scores) {
        if (s.offset < promptLen) {
          inPrompt++;
          if (!echo) continue;
        }
        lp.tokens.push(s.token);
        lp.token_logprobs.push(s.logprob);
        lp.top_logprobs.push(s.logprob === null ? null : s.top);
        lp.text_offset.push(cp ? cp[s.offset] : s.offset);
      }
      if (maxTokens === 0) promptTokens = inPrompt;
    } else if (logprobs !== null) {
      lp = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
    }
    return {
      choice: { text: echo ? prompt + generated : generated, index, logprobs: lp, finish_reason: finish },
      promptTokens,
      completionTokens,
    };
  }

  async function completions(body: Record<string, any>, signal: AbortSignal) {
    noStreaming(body);
    let prompts: string[];
    if (typeof body.prompt === "string") prompts = [body.prompt];
    else if (
      Array.isArray(body.prompt) &&
      body.prompt.length > 0 &&
      body.prompt.every((p: unknown) => typeof p === "string")
    ) {
      prompts = body.prompt;
    } else if (body.prompt === undefined) {
      throw new HttpError(
        400,
        "you must provide a 'prompt'",
        undefined,
        "prompt",
        "missing_required_parameter",
      );
    } else {
      throw new HttpError(
        400,
        "'prompt' must be a string or an array of strings (token ids are not supported)",
        undefined,
        "prompt",
      );
    }
    const n = intField(body, "n", 1, 1, MAX_N);
    const jobs: Promise<Awaited<ReturnType<typeof completion>>>[] = [];
    for (const p of prompts)
      for (let i = 0; i < n; i++) jobs.push(completion(p, body, jobs.length, i, signal));
    const results = await Promise.all(jobs);
    let promptTokens = 0;
    let completionTokens = 0;
    for (let i = 0; i < results.length; i++) {
      // Each prompt counts once however many samples are drawn.
      if (i % n === 0) promptTokens += results[i].promptTokens;
      completionTokens += results[i].completionTokens;
    }
    return {
      id: `cmpl-${++counter}`,
      object: "text_completion",
      created: Math.floor(Date.now() / 1000),
      model: modelName,
      choices: results.map((r) => r.choice),
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
      },
    };
  }

  async function chat(body: Record<string, any>, signal: AbortSignal) {
    noStreaming(body);
    if (body.messages === undefined) {
      throw new HttpError(
        400,
        "you must provide 'messages'",
        undefined,
        "messages",
        "missing_required_parameter",
      );
    }
    const messages = chatMessages(body.messages);
    const maxTokens =
      body.max_completion_tokens !== undefined && body.max_completion_tokens !== null
        ? intField(body, "max_completion_tokens", DEFAULT_CHAT_MAX_TOKENS, 1, 1 << 20)
        : intField(body, "max_tokens", DEFAULT_CHAT_MAX_TOKENS, 1, 1 << 20);
    const n = intField(body, "n", 1, 1, MAX_N);
    const params = generationParams(body, maxTokens);
    const jobs = [];
    for (let i = 0; i < n; i++) jobs.push(generate(messages, params, i, signal));
    const results = await Promise.all(jobs);
    let completionTokens = 0;
    const choices = results.map((r, index) => {
      completionTokens += r.usage.outputTokens;
      return {
        index,
        message: { role: "assistant", content: r.response.kind === "generate_until" ? r.response.text : "" },
        logprobs: null,
        finish_reason: r.usage.outputTokens < maxTokens ? "stop" : "length",
      };
    });
    const promptTokens = results[0].usage.inputTokens;
    return {
      id: `chatcmpl-${++counter}`,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: modelName,
      choices,
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
      },
    };
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const q = req.url!.indexOf("?");
    const path = q < 0 ? req.url! : req.url!.slice(0, q);
    const method = req.method;
    if (path === "/v1/models" || path === `/v1/models/${modelName}`) {
      if (method !== "GET") throw new HttpError(405, `Method ${method} not allowed for ${path}`);
      req.resume();
      const text = path === "/v1/models" ? modelsBody : JSON.stringify(modelObject);
      res.writeHead(200, { ...JSON_HEADERS, "content-length": Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    const isCompletions = path === "/v1/completions";
    if (!isCompletions && path !== "/v1/chat/completions") {
      req.resume();
      throw new HttpError(
        404,
        `Invalid URL (${method} ${path})`,
        "invalid_request_error",
        null,
        "unknown_url",
      );
    }
    if (method !== "POST") {
      req.resume();
      throw new HttpError(405, `Method ${method} not allowed for ${path}; use POST`);
    }
    const body = parseJson(await readBody(req, maxBody));
    // The client hanging up aborts the model call.
    const controller = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) controller.abort();
    };
    res.once("close", onClose);
    const out = isCompletions
      ? await completions(body, controller.signal)
      : await chat(body, controller.signal);
    send(res, 200, out);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e) => sendError(res, e));
  });
  // Longer than typical client keep-alive so the client, not the server, closes idle sockets.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  // A wildcard bind is reachable on loopback; report that so the URL works as a client address.
  let address = addr.address;
  if (address === "0.0.0.0") address = "127.0.0.1";
  else if (address === "::") address = "::1";
  const hostInUrl = address.includes(":") ? `[${address}]` : address;
  return {
    url: `http://${hostInUrl}:${addr.port}/v1`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
