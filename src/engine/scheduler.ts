/**
 * The one place model calls happen: concurrency, retries with exponential backoff and jitter
 * (honouring Retry-After), per-request timeouts, deduplication and the response cache (when given a
 * store: token embeddings, for one, are too large to be worth caching).
 */
import type { ModelProvider, ProviderResult, Request } from "../models/types.js";
import { ProviderError } from "../models/types.js";
import type { CachedResponse, Store } from "../store/types.js";
import { LatencyHistogram } from "./latency.js";
import { requestKey } from "./request_key.js";
import { WriteBatcher } from "./write_batcher.js";

export interface SchedulerOptions {
  /** Requests on the wire to the model at once. */
  concurrency: number;
  /** Retries after the first attempt. */
  maxRetries: number;
  timeoutMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Injected for tests; defaults to setTimeout and Math.random. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export const DEFAULT_SCHEDULER_OPTIONS: SchedulerOptions = {
  concurrency: 16,
  maxRetries: 6,
  timeoutMs: 120_000,
  backoffBaseMs: 500,
  backoffMaxMs: 30_000,
};

/** A served request: the result plus where it came from. */
export interface Served extends ProviderResult {
  cached: boolean;
  latencyMs: number;
}

export interface SchedulerCounters {
  requests: number;
  cacheHits: number;
  deduplicated: number;
  retries: number;
  errors: number;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class Scheduler {
  readonly counters: SchedulerCounters = {
    requests: 0,
    cacheHits: 0,
    deduplicated: 0,
    retries: 0,
    errors: 0,
  };
  readonly latency: LatencyHistogram;
  private readonly opts: SchedulerOptions;
  private active = 0;
  /** Requests handed to the provider at once: `concurrency`, or 2× when the provider queues the rest. */
  readonly admit: number;
  private waiters: Array<() => void> = [];
  private inflight = new Map<string, Promise<Served>>();
  /** Deadlines of running requests; one sweep timer aborts the late ones (cheaper than a timer each). */
  private deadlines = new Map<AbortController, number>();
  private sweeper: NodeJS.Timeout | undefined;
  /** Cache lookups of all samples started in one event-loop turn go to the store as one query. */
  private lookupKeys: string[] = [];
  private lookupBatch: Promise<Map<string, CachedResponse>> | undefined;
  private readonly writes: WriteBatcher | undefined;
  /** The provider's start-up, awaited once before the first request's clock starts. */
  private providerReady: Promise<void> | undefined;
  private providerStarted = false;

  constructor(
    private readonly provider: ModelProvider,
    private readonly store: Store | null,
    opts: Partial<SchedulerOptions> = {},
    latency = new LatencyHistogram(),
    writes?: WriteBatcher,
  ) {
    this.opts = { ...DEFAULT_SCHEDULER_OPTIONS, ...opts };
    const queues = provider.limitInFlight?.(this.opts.concurrency) ?? false;
    this.admit = queues ? 2 * this.opts.concurrency : this.opts.concurrency;
    this.latency = latency;
    this.writes = writes ?? (store ? new WriteBatcher(store) : undefined);
  }

  /** Serves a sample's requests: cache first, identical requests once, the rest from the provider. */
  async serveAll(requests: Request[]): Promise<Served[]> {
    const keys = requests.map((r) => requestKey(this.provider.id, r));
    const writes = this.writes;
    const missing = writes ? keys.filter((k) => !writes.lookup(k) && !this.inflight.has(k)) : [];
    const stored = missing.length > 0 ? await this.lookup(missing) : new Map<string, CachedResponse>();
    return Promise.all(
      requests.map((req, i) => {
        const key = keys[i];
        const hit = writes?.lookup(key) ?? stored.get(key);
        if (hit) {
          this.counters.cacheHits++;
          return { ...hit, cached: true, latencyMs: 0 };
        }
        const running = this.inflight.get(key);
        if (running) {
          this.counters.deduplicated++;
          return running.then((s) => ({ ...s, cached: true, latencyMs: 0 }));
        }
        const p = this.callWithRetries(req).then((served) => {
          writes?.addCache(key, { response: served.response, usage: served.usage });
          return served;
        });
        this.inflight.set(key, p);
        p.finally(() => this.inflight.delete(key)).catch(() => {});
        return p;
      }),
    );
  }

  private lookup(keys: string[]): Promise<Map<string, CachedResponse>> {
    for (const k of keys) this.lookupKeys.push(k);
    this.lookupBatch ??= new Promise((resolve, reject) =>
      setImmediate(() => {
        const batch = this.lookupKeys;
        this.lookupKeys = [];
        this.lookupBatch = undefined;
        this.store!.getCached(batch).then(resolve, reject);
      }),
    );
    return this.lookupBatch;
  }

  private async acquire(): Promise<void> {
    if (this.active < this.admit) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  private release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.active--;
  }

  /** Delay before retry `attempt` (0-based): Retry-After when given, else capped exponential with jitter. */
  backoffMs(attempt: number, err: ProviderError): number {
    if (err.retryAfterMs !== undefined) return Math.min(err.retryAfterMs, this.opts.backoffMaxMs * 4);
    const exp = Math.min(this.opts.backoffMaxMs, this.opts.backoffBaseMs * 2 ** attempt);
    return exp * (0.5 + 0.5 * (this.opts.random ?? Math.random)());
  }

  private async callWithRetries(req: Request): Promise<Served> {
    await this.acquire();
    try {
      if (!this.providerStarted) {
        this.providerReady ??= (this.provider.ready?.() ?? Promise.resolve()).catch((e) => {
          throw new ProviderError(`${this.provider.spec}: failed to start: ${(e as Error)?.message ?? e}`, {
            retryable: false,
          });
        });
        await this.providerReady;
        this.providerStarted = true;
      }
      for (let attempt = 0; ; attempt++) {
        const controller = new AbortController();
        const signal = controller.signal;
        const t0 = performance.now();
        this.trackDeadline(controller, t0 + this.opts.timeoutMs);
        try {
          this.counters.requests++;
          const result = await this.provider.serve(req, signal);
          const latencyMs = performance.now() - t0;
          this.latency.add(latencyMs);
          return { ...result, cached: false, latencyMs };
        } catch (e) {
          const err = asProviderError(e, signal, this.opts.timeoutMs);
          if (!err.retryable || attempt >= this.opts.maxRetries) {
            this.counters.errors++;
            throw err;
          }
          this.counters.retries++;
          await (this.opts.sleep ?? defaultSleep)(this.backoffMs(attempt, err));
        } finally {
          this.deadlines.delete(controller);
        }
      }
    } finally {
      this.release();
    }
  }

  private trackDeadline(controller: AbortController, deadline: number): void {
    this.deadlines.set(controller, deadline);
    if (this.sweeper) return;
    const tick = Math.max(5, Math.min(250, this.opts.timeoutMs / 4));
    this.sweeper = setInterval(() => {
      const now = performance.now();
      for (const [c, d] of this.deadlines)
        if (d <= now) {
          this.deadlines.delete(c);
          c.abort(new DOMException("request timed out", "TimeoutError"));
        }
      if (this.deadlines.size === 0) {
        clearInterval(this.sweeper);
        this.sweeper = undefined;
      }
    }, tick);
    this.sweeper.unref();
  }

  /** Writes pending cache entries; call before finishing a run. */
  async flush(): Promise<void> {
    await this.writes?.flush();
  }
}

/** Normalizes anything a provider throws; timeouts and aborts are retryable. */
export function asProviderError(e: unknown, signal: AbortSignal, timeoutMs: number): ProviderError {
  if (e instanceof ProviderError) return e;
  const err = e as Error;
  if (signal.aborted || err?.name === "AbortError" || err?.name === "TimeoutError")
    return new ProviderError(`request timed out after ${timeoutMs} ms`, { retryable: true });
  return new ProviderError(err?.message ?? String(e), { retryable: false });
}
