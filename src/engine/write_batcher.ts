/**
 * Collects finished samples and new cache entries and writes them to the store together, every ~10 ms
 * (or every `maxPending` items), so a run commits a few transactions per second
 * rather than one per response. Pending cache entries answer lookups until they are written.
 */
import type { CachedResponse, SampleRecord, Store } from "../store/types.js";

export class WriteBatcher {
  private cache = new Map<string, CachedResponse>();
  private samples: SampleRecord[] = [];
  private scheduled = false;
  private error: unknown;

  constructor(
    private readonly store: Store,
    private readonly maxPending = 2048,
  ) {}

  lookup(key: string): CachedResponse | undefined {
    return this.cache.get(key);
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
    const cache = [...this.cache].map(([key, value]) => ({ key, value }));
    const samples = this.samples;
    this.cache = new Map();
    this.samples = [];
    this.store.writeBatch({ samples, cache }).catch((e) => {
      this.error ??= e;
    });
  }

  /** Writes everything pending; rethrows the first write failure. */
  async flush(): Promise<void> {
    this.write();
    if (this.error !== undefined) throw this.error;
  }
}
