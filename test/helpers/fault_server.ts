/**
 * A loopback OpenAI-compatible server that fails on purpose, for retry/timeout tests and benches.
 * Each POST to /v1/completions or /v1/chat/completions gets the outcome `plan(index)` picks
 * (index counts those POSTs from 0); GET /v1/models always answers and is not counted.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export type FaultOutcome = "ok" | "429" | "500" | "503-retry-after" | "timeout" | "reset" | "error-400";

export interface FaultServerOptions {
  plan: (requestIndex: number) => FaultOutcome;
  /** Body for "ok" answers; default a fixed "ok" completion (with per-character logprobs on echo). */
  respond?: (body: any, path: string) => object;
  /** Retry-After header sent with "429" and "503-retry-after" (seconds or an HTTP date); default "1". */
  retryAfter?: string;
  /** Message of the "error-400" body. */
  badRequestMessage?: string;
  port?: number;
}

export interface FaultRequest {
  index: number;
  path: string;
  body: any;
  headers: http.IncomingHttpHeaders;
  outcome: FaultOutcome;
}

export interface FaultServer {
  /** Base URL ending in /v1. */
  url: string;
  /** Planned requests received so far. */
  readonly requests: number;
  readonly log: readonly FaultRequest[];
  close(): Promise<void>;
}

function errorBody(message: string, type: string, code: string | null = null): string {
  return JSON.stringify({ error: { message, type, param: null, code } });
}

/** Echo + logprobs answered one character per token, each at logprob -1 and its own argmax. */
function defaultCompletion(body: any): object {
  const prompt = typeof body?.prompt === "string" ? body.prompt : "";
  const echo = body?.echo === true && body?.logprobs !== undefined && body?.logprobs !== null;
  const chars = echo ? [...prompt] : [];
  const text_offset = chars.map((_, i) => i); // code points, like Python servers
  return {
    id: "cmpl-fault",
    object: "text_completion",
    created: 0,
    model: body?.model ?? "fault",
    choices: [
      {
        index: 0,
        text: echo ? prompt : "ok",
        finish_reason: "stop",
        logprobs: echo
          ? {
              tokens: chars,
              token_logprobs: chars.map((_, i) => (i === 0 ? null : -1)),
              top_logprobs: chars.map((c, i) => (i === 0 ? null : { [c]: -1 })),
              text_offset,
            }
          : null,
      },
    ],
    usage: { prompt_tokens: echo ? chars.length : 1, completion_tokens: echo ? 0 : 1, total_tokens: 2 },
  };
}

function defaultChat(body: any): object {
  return {
    id: "chatcmpl-fault",
    object: "chat.completion",
    created: 0,
    model: body?.model ?? "fault",
    choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  };
}

export async function startFaultServer(opts: FaultServerOptions): Promise<FaultServer> {
  const log: FaultRequest[] = [];
  const retryAfter = opts.retryAfter ?? "1";
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "").split("?")[0];
    if (req.method === "GET" && path === "/v1/models") {
      req.resume();
      const text = JSON.stringify({
        object: "list",
        data: [{ id: "fault", object: "model", owned_by: "test" }],
      });
      res.writeHead(200, { "content-type": "application/json" }).end(text);
      return;
    }
    if (req.method !== "POST" || (path !== "/v1/completions" && path !== "/v1/chat/completions")) {
      req.resume();
      res
        .writeHead(404, { "content-type": "application/json" })
        .end(errorBody(`Invalid URL (${req.method} ${path})`, "invalid_request_error", "unknown_url"));
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      let body: any;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        body = undefined;
      }
      const index = log.length;
      const outcome = opts.plan(index);
      log.push({ index, path, body, headers: req.headers, outcome });
      const json = (status: number, text: string, headers: Record<string, string> = {}) =>
        res.writeHead(status, { "content-type": "application/json", ...headers }).end(text);
      switch (outcome) {
        case "ok": {
          const out = opts.respond
            ? opts.respond(body, path)
            : path === "/v1/completions"
              ? defaultCompletion(body)
              : defaultChat(body);
          json(200, JSON.stringify(out));
          return;
        }
        case "429":
          json(429, errorBody("Rate limit reached for requests", "requests", "rate_limit_exceeded"), {
            "retry-after": retryAfter,
          });
          return;
        case "500":
          json(500, errorBody("The server had an error while processing your request.", "server_error"));
          return;
        case "503-retry-after":
          json(
            503,
            errorBody("The engine is currently overloaded, please try again later.", "server_error"),
            {
              "retry-after": retryAfter,
            },
          );
          return;
        case "timeout":
          return; // never answer; close() or the client's abort ends it
        case "reset":
          req.socket.destroy();
          return;
        case "error-400":
          json(
            400,
            errorBody(
              opts.badRequestMessage ?? "Invalid value for 'temperature': must be >= 0.",
              "invalid_request_error",
            ),
          );
          return;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    get requests() {
      return log.length;
    },
    log,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
