/**
 * Collects finished samples and new cache entries and hands them to the store's batch writer every
 * ~10 ms (or every `maxPending` items), so a run commits a few transactions per second rather than
 * one per response. Entries answer cache lookups until their batch is committed.
 */
import type { BatchWriter, CachedResponse, SampleRecord, Store } from "../store/types.js";

const MAX_UNCOMMITTED = 4;

export class WriteBatcher {
  private cache = new Map<string, CachedResponse>();
  /** Handed to the writer but not yet committed. */
  private committing = new Map<string, CachedResponse>();
  private samples: SampleRecord[] = [];
  private scheduled = false;
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
    this.schedule();
  }

  addSample(sample: SampleRecord): void {
    this.samples.push(sample);
    this.schedule();
  }

  private schedule(): void {
    if (this.cache.size + this.samples.length >= this.maxPending) {
      this.write();
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    // At most one commit per ~10 ms: a crash loses at most that much work, and commits stay cheap.
    setTimeout(() => {
      this.scheduled = false;
      this.write();
    }, 10);
  }

  private write(): void {
    if (this.cache.size === 0 && this.samples.length === 0) return;
    const cacheEntries = this.cache;
    const cache = [...cacheEntries].map(([key, value]) => ({ key, value }));
    const samples = this.samples;
    for (const [k, v] of cacheEntries) this.committing.set(k, v);
    this.cache = new Map();
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
    this.write();
    await this.last;
    if (this.error !== undefined) throw this.error;
  }

  async close(): Promise<void> {
    await this.flush().finally(() => this.writer.close());
  }
}
