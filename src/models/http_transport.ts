/**
 * How the HTTP providers (openai, anthropic) send their POSTs: a keep-alive undici pool, either on the
 * calling thread or on a worker thread of its own. The threaded one takes HTTP's CPU cost (sockets,
 * parsing, undici's bookkeeping) off the run's thread, which otherwise spends more time in undici than
 * in the engine. Requests and replies cross threads in batches, one message per event-loop turn.
 */
import { isMainThread, parentPort, type Worker, workerData } from "node:worker_threads";
import { Pool } from "undici";
import { UserError } from "../util/errors.js";
import { startModuleWorker } from "../util/worker.js";
import type { Price } from "./pricing.js";

/** The options every HTTP provider (openai, anthropic) takes; each documents its own defaults. */
export interface HttpProviderOptions {
  /** Model name sent to the server (overrides the spec's). */
  model?: string;
  /** Default: the spec's `@url`, then the provider's environment variable, then its public API. */
  baseUrl?: string;
  /** Default: the provider's API-key environment variable. Local servers usually need none. */
  apiKey?: string;
  /** Maximum open connections to the server. */
  connections?: number;
  /** Price overrides, USD per 1M tokens, merged over the defaults; `null` drops a model. */
  prices?: Record<string, Price | null>;
  /** Extra headers sent with every request. */
  headers?: Record<string, string>;
  /** Where the HTTP pool runs: `thread` (default, its own worker thread) or `inline`. */
  transport?: "thread" | "inline";
  /** Environment to read defaults from (tests); default process.env. */
  env?: Record<string, string | undefined>;
}

export interface HttpReply {
  status: number;
  /** Response headers; given for non-2xx replies only (success paths never read them). */
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export interface HttpTransport {
  /** POSTs `body` to `path` on the transport's origin. Network failures reject with undici's error. */
  post(path: string, body: string, signal: AbortSignal): Promise<HttpReply>;
  /** Resolves once requests can go out (the thread has started). */
  ready(): Promise<void>;
  /**
   * Caps requests on the wire at `n`; later ones wait inside the transport. True when this takes
   * a cross-thread hop off each request (so callers may hand over more than `n` at once).
   */
  limitInFlight(n: number): boolean;
  close(): Promise<void>;
}

export interface HttpTransportOptions {
  origin: string;
  headers: Record<string, string>;
  /** Sockets in the pool; the scheduler bounds concurrency, this only bounds sockets. */
  connections: number;
  /** `thread` (default) runs the pool on a worker thread; `inline` on the caller's. */
  mode?: "thread" | "inline";
}

export function createHttpTransport(opts: HttpTransportOptions): HttpTransport {
  if (!Number.isInteger(opts.connections) || opts.connections < 1)
    throw new UserError(`invalid connections '${opts.connections}'`, {
      field: "connections",
      expected: "a positive integer",
    });
  return (opts.mode ?? "thread") === "thread" ? new ThreadHttpTransport(opts) : new PoolHttpTransport(opts);
}

const NO_HEADERS: HttpReply["headers"] = Object.freeze({});

function newPool(opts: HttpTransportOptions): Pool {
  return new Pool(opts.origin, {
    connections: opts.connections,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 600_000,
  });
}

/**
 * Collects one response whole. A bare dispatch handler: undici's `request()` wraps every response
 * in a Readable stream and an async resource, which costs more than the HTTP exchange itself.
 */
class CollectHandler {
  private abortFn: ((reason: Error) => void) | undefined;
  private abortReason: Error | undefined;
  private status = 0;
  private headers: HttpReply["headers"] = NO_HEADERS;
  private chunks: Buffer[] = [];

  constructor(private readonly done: (err: Error | null, reply?: HttpReply) => void) {}

  /** Aborts the exchange now, or as soon as it connects. */
  abort(reason: Error): void {
    if (this.abortFn) this.abortFn(reason);
    else this.abortReason = reason;
  }

  onConnect(abort: (reason: Error) => void): void {
    if (this.abortReason) abort(this.abortReason);
    else this.abortFn = abort;
  }

  onHeaders(status: number, rawHeaders: Buffer[]): boolean {
    if (status < 200) return true; // 1xx: the real status follows
    this.status = status;
    if (status >= 300) this.headers = parseRawHeaders(rawHeaders);
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    const body = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    this.done(null, { status: this.status, headers: this.headers, text: body.toString("utf8") });
  }

  onError(err: Error): void {
    this.done(err);
  }
}

/** undici's raw header list (`[name, value, ...]`) as a lower-cased record; repeats become arrays. */
function parseRawHeaders(raw: Buffer[]): HttpReply["headers"] {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i].toString("latin1").toLowerCase();
    const value = raw[i + 1].toString("latin1");
    const prev = out[name];
    out[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}

/** Starts one POST; `done` is called once with the reply or the network error. Returns its handler. */
function dispatchPost(
  pool: Pool,
  headers: Record<string, string>,
  path: string,
  body: string,
  done: (err: Error | null, reply?: HttpReply) => void,
): CollectHandler {
  const handler = new CollectHandler(done);
  pool.dispatch({ path, method: "POST", headers, body }, handler);
  return handler;
}

/** The pool on the calling thread. */
export class PoolHttpTransport implements HttpTransport {
  private readonly pool: Pool;
  constructor(private readonly opts: HttpTransportOptions) {
    this.pool = newPool(opts);
  }
  post(path: string, body: string, signal: AbortSignal): Promise<HttpReply> {
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      let handler: CollectHandler | undefined;
      const onAbort = () => handler?.abort(signal.reason);
      // Listening first: a dispatch that fails synchronously must still remove the listener.
      signal.addEventListener("abort", onAbort, { once: true });
      handler = dispatchPost(this.pool, this.opts.headers, path, body, (err, reply) => {
        signal.removeEventListener("abort", onAbort);
        if (err) reject(err);
        else resolve(reply as HttpReply);
      });
    });
  }
  async ready(): Promise<void> {}
  /** In-thread the caller's own limit is as good: nothing to gain from queueing here. */
  limitInFlight(): boolean {
    return false;
  }
  async close(): Promise<void> {
    await this.pool.close();
  }
}

/** Main → worker: new requests `[id, path, body]`, ids to abort, and the in-flight cap when it changes. */
interface ToWorker {
  requests: Array<[number, string, string]>;
  aborts: number[];
  limit?: number;
}
/** Worker → main: `[id, status, headers, text]`, or `[id, 0, error]` for a failure before a status. */
type FromWorker = Array<[number, number, HttpReply["headers"] | SerializedError, string]>;

interface SerializedError {
  name?: string;
  message?: string;
  code?: string;
  cause?: { code?: string; message?: string };
}

interface Pending {
  resolve: (r: HttpReply) => void;
  reject: (e: unknown) => void;
  signal: AbortSignal;
  onAbort: () => void;
}

/** The pool on a worker thread; the worker holds the process open only while requests are pending. */
export class ThreadHttpTransport implements HttpTransport {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private outbox: ToWorker = { requests: [], aborts: [] };
  private flushScheduled = false;
  private failure: Error | undefined;
  private readonly started: Promise<void>;

  constructor(opts: HttpTransportOptions) {
    this.worker = startModuleWorker(new URL("./http_transport.js", import.meta.url), {
      httpTransport: { origin: opts.origin, headers: opts.headers, connections: opts.connections },
    });
    this.worker.unref();
    this.started = new Promise((resolve, reject) => {
      this.worker.once("message", () => resolve());
      this.worker.once("error", reject);
    });
    this.started.catch(() => {}); // reported through post()
    this.worker.on("message", (replies: FromWorker | "ready") => {
      if (replies !== "ready") this.receive(replies);
    });
    this.worker.on("error", (e) => this.fail(e));
    this.worker.on("exit", (code) => this.fail(new Error(`HTTP thread exited with code ${code}`)));
  }

  ready(): Promise<void> {
    return this.started;
  }

  limitInFlight(n: number): boolean {
    this.outbox.limit = n;
    this.scheduleFlush();
    return true;
  }

  post(path: string, body: string, signal: AbortSignal): Promise<HttpReply> {
    if (this.failure) return Promise.reject(this.failure);
    if (signal.aborted) return Promise.reject(signal.reason);
    const id = this.nextId++;
    return new Promise<HttpReply>((resolve, reject) => {
      const onAbort = () => {
        if (!this.pending.delete(id)) return;
        this.outbox.aborts.push(id);
        this.scheduleFlush();
        this.settled();
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject, signal, onAbort });
      this.outbox.requests.push([id, path, body]);
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const msg = this.outbox;
      this.outbox = { requests: [], aborts: [] };
      this.worker.postMessage(msg);
    });
  }

  private receive(replies: FromWorker): void {
    for (const [id, status, extra, text] of replies) {
      const p = this.pending.get(id);
      if (!p) continue; // aborted meanwhile
      this.pending.delete(id);
      p.signal.removeEventListener("abort", p.onAbort);
      if (status === 0) p.reject(reviveError(extra as SerializedError));
      else p.resolve({ status, headers: extra as HttpReply["headers"], text });
    }
    this.settled();
  }

  private settled(): void {
    if (this.pending.size === 0) this.worker.unref();
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
  }

  async close(): Promise<void> {
    this.failure ??= new Error("HTTP transport is closed");
    await this.worker.terminate();
  }
}

function serializeError(e: unknown): SerializedError {
  const err = e as SerializedError & { cause?: SerializedError };
  return {
    name: err?.name,
    message: err?.message ?? String(e),
    code: err?.code,
    cause: err?.cause ? { code: err.cause.code, message: err.cause.message } : undefined,
  };
}

/** An Error carrying the fields the providers' network classifier reads (code, cause). */
function reviveError(s: SerializedError): Error {
  const e = new Error(s.message) as Error & SerializedError;
  if (s.name) e.name = s.name;
  if (s.code) e.code = s.code;
  if (s.cause) e.cause = s.cause;
  return e;
}

/**
 * The worker side: serve requests on a pool, at most `limit` on the wire (the rest queue here, so the
 * next one goes out as soon as a reply comes in, without a round trip to the main thread), and
 * reply in batches.
 */
function runWorker(opts: HttpTransportOptions): void {
  const port = parentPort;
  if (!port) return;
  const pool = newPool(opts);
  port.postMessage("ready");
  const running = new Map<number, CollectHandler>();
  let limit = Number.POSITIVE_INFINITY;
  let queue: Array<[number, string, string]> = [];
  let head = 0;
  const cancelled = new Set<number>();
  let replies: FromWorker = [];
  let replyScheduled = false;
  const reply = (r: FromWorker[number]) => {
    replies.push(r);
    if (replyScheduled) return;
    replyScheduled = true;
    setImmediate(() => {
      replyScheduled = false;
      const batch = replies;
      replies = [];
      port.postMessage(batch);
    });
  };
  const start = ([id, path, body]: [number, string, string]) => {
    const handler = dispatchPost(pool, opts.headers, path, body, (err, r) => {
      running.delete(id);
      reply(err ? [id, 0, serializeError(err), ""] : [id, r!.status, r!.headers, r!.text]);
      pump();
    });
    running.set(id, handler);
  };
  const pump = () => {
    while (running.size < limit && head < queue.length) {
      const next = queue[head++];
      if (!cancelled.delete(next[0])) start(next);
    }
    if (head === queue.length) {
      queue = [];
      head = 0;
      cancelled.clear(); // any left were answered before their abort arrived
    }
  };
  port.on("message", (m: ToWorker) => {
    if (m.limit !== undefined) limit = m.limit;
    for (const id of m.aborts) {
      const handler = running.get(id);
      if (handler) handler.abort(new Error("aborted"));
      else cancelled.add(id); // still queued (or already answered: then never seen again)
    }
    for (const r of m.requests) queue.push(r);
    pump();
  });
}

if (!isMainThread && workerData?.httpTransport) runWorker(workerData.httpTransport as HttpTransportOptions);

/**
 * `<scheme>:<model>` or `<scheme>:<model>@http(s)://host:port/...`: the model name (which may contain
 * `:`, as fine-tune names do) and the server's base URL when one is given. `example` is a model name
 * for the error message.
 */
export function parseModelAtUrl(
  scheme: string,
  spec: string,
  example: string,
): { model: string; baseUrl?: string } {
  const form = `${scheme}:<model>[@<url>]`;
  if (!spec.startsWith(`${scheme}:`))
    throw new UserError(`not an ${scheme} spec: '${spec}'`, { field: "model", expected: form });
  let rest = spec.slice(scheme.length + 1);
  let baseUrl: string | undefined;
  const at = rest.search(/@https?:\/\//);
  if (at >= 0) {
    baseUrl = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  if (rest.length === 0)
    throw new UserError(`missing model name in '${spec}'`, {
      field: "model",
      expected: `${form}, e.g. ${scheme}:${example}`,
    });
  return { model: rest, baseUrl };
}
