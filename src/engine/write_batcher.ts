/**
 * Collects finished samples and new cache entries and hands them to the store's batch writer.
 * Samples go every ~10 ms (or every `maxPending` samples): resume depends on them, so a crash may
 * lose only that much work. Cache entries go in larger batches (every CACHE_BATCH entries or
 * CACHE_INTERVAL_MS): their keys are random, so each small commit would rewrite many B-tree pages,
 * and a lost entry only costs a later run one request. Entries answer lookups until committed.
 */
import type { BatchWriter, CachedResponse, SampleRecord, Store } from "../store/types.js";

const MAX_UNCOMMITTED = 4;
const SAMPLE_INTERVAL_MS = 10;
const CACHE_BATCH = 4096;
const CACHE_INTERVAL_MS = 1000;

export class WriteBatcher {
  private cache = new Map<string, CachedResponse>();
  /** Handed to the writer but not yet committed. */
  private committing = new Map<string, CachedResponse>();
  private samples: SampleRecord[] = [];
  private scheduled = false;
  private cacheTimer: NodeJS.Timeout | undefined;
  private error: unknown;
  private last: Promise<void> = Promise.resolve();
  /** Batches handed to the writer and not yet committed. */
  private uncommitted = 0;
  private roomWaiters: Array<() => void> = [];
  private readonly writer: BatchWriter;

  constructor(store: Store, opts: { background?: boolean; maxPending?: number } = {}) {
    this.writer = opts.background
      ? store.openBatchWriter()
      : { write: (b) => store.writeBatch(b), close: async () => {} };
    this.maxPending = opts.maxPending ?? 2048;
  }

  private readonly maxPending: number;

  lookup(key: string): CachedResponse | undefined {
    return this.cache.get(key) ?? this.committing.get(key);
  }

  addCache(key: string, value: CachedResponse): void {
    this.cache.set(key, value);
    if (this.cache.size >= CACHE_BATCH) this.write(true);
    else
      this.cacheTimer ??= setTimeout(() => {
        this.cacheTimer = undefined;
        this.write(true);
      }, CACHE_INTERVAL_MS);
  }

  addSample(sample: SampleRecord): void {
    this.samples.push(sample);
    if (this.samples.length >= this.maxPending) {
      this.write(false);
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    // At most one commit per ~10 ms: a crash loses at most that much work, and commits stay cheap.
    setTimeout(() => {
      this.scheduled = false;
      this.write(false);
    }, SAMPLE_INTERVAL_MS);
  }

  /** Hands pending samples (and, with `withCache`, pending cache entries) to the writer. */
  private write(withCache: boolean): void {
    const cacheEntries = withCache ? this.cache : new Map<string, CachedResponse>();
    if (cacheEntries.size === 0 && this.samples.length === 0) return;
    if (withCache) {
      clearTimeout(this.cacheTimer);
      this.cacheTimer = undefined;
      this.cache = new Map();
    }
    const cache = [...cacheEntries].map(([key, value]) => ({ key, value }));
    const samples = this.samples;
    for (const [k, v] of cacheEntries) this.committing.set(k, v);
    this.samples = [];
    this.uncommitted++;
    this.last = this.writer
      .write({ samples, cache })
      .then(
        () => {
          for (const k of cacheEntries.keys()) this.committing.delete(k);
        },
        (e) => {
          this.error ??= e;
        },
      )
      .finally(() => {
        this.uncommitted--;
        if (this.uncommitted < MAX_UNCOMMITTED) for (const wake of this.roomWaiters.splice(0)) wake();
      });
  }

  /**
   * Backpressure: resolves once fewer than MAX_UNCOMMITTED batches wait for the store, so a fast
   * model cannot outrun the writer and grow memory without bound.
   */
  async waitForRoom(): Promise<void> {
    while (this.uncommitted >= MAX_UNCOMMITTED && this.error === undefined)
      await new Promise<void>((r) => this.roomWaiters.push(r));
  }

  /** Writes everything pending and waits for it to commit; rethrows the first write failure. */
  async flush(): Promise<void> {
    this.write(true);
    await this.last;
    if (this.error !== undefined) throw this.error;
  }

  async close(): Promise<void> {
    await this.flush().finally(() => this.writer.close());
  }
}
