/**
 * Aggregates per-sample scores into values with uncertainty, streaming samples from the store:
 * mean metrics keep running sums (sample stderr, t interval); corpus metrics keep their per-sample
 * statistic vectors and are bootstrapped.
 */
import type { MetricDef } from "../metrics/registry.js";
import { studentTPpf } from "../stats/distributions.js";
import { wilsonInterval } from "../stats/intervals.js";
import { createRng } from "../stats/rng.js";
import type { AggregateValue } from "../store/types.js";

interface MeanAcc {
  kind: "mean";
  n: number;
  mean: number;
  m2: number;
  /** Every value so far was 0 or 1. */
  binary: boolean;
  ones: number;
}
interface CorpusAcc {
  kind: "corpus";
  dims: number;
  n: number;
  data: Float64Array;
}
type Acc = MeanAcc | CorpusAcc;

export class RunAggregator {
  private accs = new Map<string, Acc>();

  constructor(
    private readonly defs: Map<string, MetricDef>,
    private readonly seed = 1234,
  ) {}

  add(scores: Record<string, number | number[]>): void {
    for (const [key, value] of Object.entries(scores)) {
      const def = this.defs.get(key);
      if (!def) continue;
      let acc = this.accs.get(key);
      if (def.aggregation === "mean") {
        if (!acc) this.accs.set(key, (acc = { kind: "mean", n: 0, mean: 0, m2: 0, binary: true, ones: 0 }));
        const a = acc as MeanAcc;
        const x = value as number;
        if (x === 1) a.ones++;
        else if (x !== 0) a.binary = false;
        a.n++;
        const d = x - a.mean;
        a.mean += d / a.n;
        a.m2 += d * (x - a.mean);
      } else {
        const v = value as number[];
        if (!acc)
          this.accs.set(
            key,
            (acc = { kind: "corpus", dims: v.length, n: 0, data: new Float64Array(v.length * 1024) }),
          );
        const a = acc as CorpusAcc;
        if ((a.n + 1) * a.dims > a.data.length) {
          const grown = new Float64Array(a.data.length * 2);
          grown.set(a.data);
          a.data = grown;
        }
        a.data.set(v, a.n * a.dims);
        a.n++;
      }
    }
  }

  result(confidence = 0.95): Record<string, AggregateValue> {
    const out: Record<string, AggregateValue> = {};
    for (const [key, acc] of this.accs) {
      const def = this.defs.get(key)!;
      out[key] =
        acc.kind === "mean"
          ? meanAggregate(acc, def, confidence)
          : corpusAggregate(acc, def, confidence, this.seed);
    }
    return out;
  }
}

function meanAggregate(a: MeanAcc, def: MetricDef, confidence: number): AggregateValue {
  // lm-eval's stderr (ddof 1); the interval is Wilson for 0/1 metrics (it stays inside [0, 1]), t otherwise.
  const stderr = a.n > 1 ? Math.sqrt(a.m2 / (a.n - 1) / a.n) : Number.NaN;
  const t = a.n > 1 ? studentTPpf(1 - (1 - confidence) / 2, a.n - 1) : Number.NaN;
  const ci = a.binary
    ? wilsonInterval(a.ones, a.n, confidence)
    : { lower: a.mean - t * stderr, upper: a.mean + t * stderr };
  return {
    value: a.mean,
    stderr,
    ciLow: ci.lower,
    ciHigh: ci.upper,
    n: a.n,
    method: "mean",
    higherIsBetter: def.higherIsBetter,
  };
}

/** Bootstrap rounds: 1000, fewer for very large runs so aggregation stays around a second. */
export const bootstrapRounds = (n: number): number =>
  Math.max(100, Math.min(1000, Math.floor(2e8 / Math.max(1, n))));

function corpusAggregate(a: CorpusAcc, def: MetricDef, confidence: number, seed: number): AggregateValue {
  const { dims, n, data } = a;
  const sums = new Array<number>(dims).fill(0);
  for (let i = 0; i < n; i++) for (let d = 0; d < dims; d++) sums[d] += data[i * dims + d];
  const value = def.combine!(sums);
  const rounds = bootstrapRounds(n);
  const rng = createRng(seed);
  const reps = new Float64Array(rounds);
  const s = new Array<number>(dims);
  for (let b = 0; b < rounds; b++) {
    s.fill(0);
    for (let i = 0; i < n; i++) {
      const j = rng.integer(n) * dims;
      for (let d = 0; d < dims; d++) s[d] += data[j + d];
    }
    reps[b] = def.combine!(s);
  }
  let mean = 0;
  for (const r of reps) mean += r / rounds;
  let ss = 0;
  for (const r of reps) ss += (r - mean) ** 2;
  const sorted = Float64Array.from(reps).sort();
  const alpha = (1 - confidence) / 2;
  const q = (p: number) => sorted[Math.min(rounds - 1, Math.max(0, Math.floor(p * rounds)))];
  return {
    value,
    stderr: Math.sqrt(ss / (rounds - 1)),
    ciLow: q(alpha),
    ciHigh: q(1 - alpha),
    n,
    method: "bootstrap",
    higherIsBetter: def.higherIsBetter,
  };
}
