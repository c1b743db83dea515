#!/usr/bin/env node
/**
 * The "raw ceiling" for throughput benches: a minimal OpenAI-compatible server (chat + completions) that
 * answers instantly. Responses are prebuilt buffers and the request body is never parsed (Node discards it),
 * unless --echo asks for the prompt back.
 *
 *   node bench/instant_server.mjs [--port N] [--host H] [--text T] [--echo]
 *   import { startInstantServer } from "./instant_server.mjs"
 */
import http from "node:http";
import { pathToFileURL } from "node:url";

function completionBody(text, promptTokens = 1) {
  return JSON.stringify({
    id: "cmpl-instant",
    object: "text_completion",
    created: 0,
    model: "instant",
    choices: [{ index: 0, text, logprobs: null, finish_reason: "stop" }],
    usage: { prompt_tokens: promptTokens, completion_tokens: 1, total_tokens: promptTokens + 1 },
  });
}

function chatBody(text, promptTokens = 1) {
  return JSON.stringify({
    id: "chatcmpl-instant",
    object: "chat.completion",
    created: 0,
    model: "instant",
    choices: [
      { index: 0, message: { role: "assistant", content: text }, logprobs: null, finish_reason: "stop" },
    ],
    usage: { prompt_tokens: promptTokens, completion_tokens: 1, total_tokens: promptTokens + 1 },
  });
}

function prebuilt(text) {
  const buf = Buffer.from(text);
  return { buf, headers: { "content-type": "application/json", "content-length": String(buf.length) } };
}

function sendJson(res, status, text) {
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(text)),
  });
  res.end(text);
}

/** Echo mode: the completion is the prompt (or the last message's content). */
function echoReply(req, res, chat) {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      sendJson(res, 400, '{"error":{"message":"invalid JSON","type":"invalid_request_error","code":null}}');
      return;
    }
    let text = "";
    if (chat) {
      const last = Array.isArray(body?.messages) ? body.messages[body.messages.length - 1] : undefined;
      text = typeof last?.content === "string" ? last.content : "";
    } else text = typeof body?.prompt === "string" ? body.prompt : "";
    const tokens = Math.max(1, Math.ceil(text.length / 4));
    sendJson(res, 200, chat ? chatBody(text, tokens) : completionBody(text, tokens));
  });
}

/**
 * Start the server. `port` 0 picks a free one. Returns `{ url, port, server, close }`; `url` ends in /v1.
 * @param {number} [port]
 * @param {{ host?: string, text?: string, echo?: boolean }} [opts]
 */
export async function startInstantServer(port = 0, opts = {}) {
  const host = opts.host ?? "127.0.0.1";
  const text = opts.text ?? "ok";
  const echo = opts.echo === true;
  const completion = prebuilt(completionBody(text));
  const chat = prebuilt(chatBody(text));
  const models = prebuilt(
    JSON.stringify({ object: "list", data: [{ id: "instant", object: "model", owned_by: "bench" }] }),
  );
  const notFound = prebuilt(
    '{"error":{"message":"Invalid URL","type":"invalid_request_error","code":"unknown_url"}}',
  );

  const server = http.createServer((req, res) => {
    const url = req.url;
    let r;
    if (url === "/v1/chat/completions") {
      if (echo) return echoReply(req, res, true);
      r = chat;
    } else if (url === "/v1/completions") {
      if (echo) return echoReply(req, res, false);
      r = completion;
    } else if (url === "/v1/models") r = models;
    else {
      res.writeHead(404, notFound.headers);
      res.end(notFound.buf);
      return;
    }
    res.writeHead(200, r.headers);
    res.end(r.buf);
  });
  server.keepAliveTimeout = 65_000;
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  const actual = server.address().port;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${actual}/v1`,
    port: actual,
    server,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function parseArgs(argv) {
  const out = { port: 0, host: "127.0.0.1", text: "ok", echo: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--port") out.port = Number(argv[++i]);
    else if (a === "--host") out.host = argv[++i];
    else if (a === "--text") out.text = argv[++i];
    else if (a === "--echo") out.echo = true;
    else if (a === "--help" || a === "-h") {
      process.stdout.write(
        "usage: node bench/instant_server.mjs [--port N] [--host H] [--text T] [--echo]\n",
      );
      process.exit(0);
    } else {
      process.stderr.write(`instant_server: unknown argument '${a}'\n`);
      process.exit(2);
    }
  }
  if (!Number.isInteger(out.port) || out.port < 0 || out.port > 65535) {
    process.stderr.write("instant_server: --port expects an integer from 0 to 65535\n");
    process.exit(2);
  }
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = parseArgs(process.argv.slice(2));
  const s = await startInstantServer(args.port, args);
  process.stdout.write(`${s.url}\n`);
  const stop = () => s.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
