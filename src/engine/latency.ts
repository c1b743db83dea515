/**
 * A log-bucket latency histogram (1% relative resolution), so p50/p95/p99 take O(1) memory
 * whatever the number of requests, and survive resumes as a sparse object.
 */
const GROWTH = Math.log(1.01);
const MIN_MS = 0.001;

export class LatencyHistogram {
  private counts = new Map<number, number>();
  total = 0;

  static from(sparse: Record<string, number> | undefined): LatencyHistogram {
    const h = new LatencyHistogram();
    for (const [k, v] of Object.entries(sparse ?? {})) {
      h.counts.set(Number(k), v);
      h.total += v;
    }
    return h;
  }

  add(ms: number): void {
    const b = Math.max(0, Math.ceil(Math.log(Math.max(ms, MIN_MS) / MIN_MS) / GROWTH));
    this.counts.set(b, (this.counts.get(b) ?? 0) + 1);
    this.total++;
  }

  /** The q-quantile (0..1), as the upper edge of its bucket; NaN when empty. */
  quantile(q: number): number {
    if (this.total === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (const b of [...this.counts.keys()].sort((x, y) => x - y)) {
      seen += this.counts.get(b)!;
      if (seen >= rank) return MIN_MS * Math.exp(b * GROWTH);
    }
    return Number.NaN;
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}
