/**
 * Paired comparison of two runs of the same task on the same samples: per-metric deltas with
 * confidence intervals, p-values and verdicts, plus the samples that flipped.
 */
import { getMetric, type MetricDef } from "../metrics/registry.js";
import type { ComparisonRow, Verdict } from "../report/comparison_types.js";
import { studentTPpf } from "../stats/distributions.js";
import { flips, mcnemarExact, pairedTable, pairedTTest } from "../stats/paired.js";
import { createRng } from "../stats/rng.js";
import type { RunRecord, Store } from "../store/types.js";
import { UserError } from "../util/errors.js";

export interface MetricFlips {
  metric: string;
  /** doc ids wrong in the baseline and right in the candidate. */
  improved: number[];
  /** doc ids right in the baseline and wrong in the candidate. */
  regressed: number[];
}

export interface RunComparison {
  baseline: RunRecord;
  candidate: RunRecord;
  /** Samples present in both runs. */
  paired: number;
  rows: ComparisonRow[];
  flips: MetricFlips[];
}

type Scores = Record<string, number | number[]>;

/** Per-sample scores of both runs, joined on doc id (both streams come sorted by doc id). */
async function joinScores(store: Store, a: string, b: string): Promise<Array<[Scores, Scores, number]>> {
  const left = new Map<number, Scores>();
  for await (const s of store.iterateScores(a)) left.set(s.docId, s.scores);
  const out: Array<[Scores, Scores, number]> = [];
  for await (const s of store.iterateScores(b)) {
    const l = left.get(s.docId);
    if (l) out.push([l, s.scores, s.docId]);
  }
  return out;
}

const isBinary = (xs: Float64Array): boolean => xs.every((x) => x === 0 || x === 1);

function verdict(delta: number, lo: number, hi: number, higherIsBetter: boolean): Verdict {
  if (lo <= 0 && hi >= 0) return "no significant difference";
  return delta > 0 === higherIsBetter ? "better" : "worse";
}

/** Paired bootstrap of combine(sums) for corpus metrics (BLEU, perplexity, ...). */
function corpusDelta(
  def: MetricDef,
  a: number[][],
  b: number[][],
  confidence: number,
  seed: number,
): { delta: number; lo: number; hi: number; p: number } {
  const dims = a[0].length;
  const sum = (rows: number[][], idx?: Uint32Array) => {
    const s = new Array<number>(dims).fill(0);
    const n = idx ? idx.length : rows.length;
    for (let i = 0; i < n; i++) {
      const r = rows[idx ? idx[i] : i];
      for (let d = 0; d < dims; d++) s[d] += r[d];
    }
    return s;
  };
  const delta = def.combine!(sum(b)) - def.combine!(sum(a));
  const rounds = 1000;
  const rng = createRng(seed);
  const idx = new Uint32Array(a.length);
  const reps = new Float64Array(rounds);
  for (let r = 0; r < rounds; r++) {
    rng.fillIntegers(idx, a.length);
    reps[r] = def.combine!(sum(b, idx)) - def.combine!(sum(a, idx));
  }
  reps.sort();
  const q = (p: number) => reps[Math.min(rounds - 1, Math.max(0, Math.floor(p * rounds)))];
  let nonPos = 0;
  let nonNeg = 0;
  for (const x of reps) {
    if (x <= 0) nonPos++;
    if (x >= 0) nonNeg++;
  }
  const alpha = (1 - confidence) / 2;
  return { delta, lo: q(alpha), hi: q(1 - alpha), p: Math.min(1, (2 * Math.min(nonPos, nonNeg)) / rounds) };
}

export async function compareRuns(
  store: Store,
  baseline: RunRecord,
  candidate: RunRecord,
  opts: { confidence?: number; seed?: number } = {},
): Promise<RunComparison> {
  const confidence = opts.confidence ?? 0.95;
  if (baseline.task !== candidate.task)
    throw new UserError(`runs are of different tasks (${baseline.task} vs ${candidate.task})`, {
      field: "runs",
      expected: "two runs of the same task",
    });
  const joined = await joinScores(store, baseline.id, candidate.id);
  const metrics = Object.keys(baseline.aggregates).filter((k) => k in candidate.aggregates);
  const rows: ComparisonRow[] = [];
  const flipLists: MetricFlips[] = [];
  for (const key of metrics) {
    const def = getMetric(key.split(",")[0]);
    const higherIsBetter = baseline.aggregates[key].higherIsBetter;
    const pairs = joined.filter(([a, b]) => key in a && key in b);
    if (pairs.length < 2) continue;
    const base = baseline.aggregates[key].value;
    const cand = candidate.aggregates[key].value;
    if (def.aggregation === "corpus") {
      const r = corpusDelta(
        def,
        pairs.map(([a]) => a[key] as number[]),
        pairs.map(([, b]) => b[key] as number[]),
        confidence,
        opts.seed ?? 1234,
      );
      rows.push({
        task: baseline.task,
        metric: key,
        baseline: base,
        candidate: cand,
        delta: r.delta,
        ciLow: r.lo,
        ciHigh: r.hi,
        pValue: r.p,
        verdict: verdict(r.delta, r.lo, r.hi, higherIsBetter),
        test: "paired bootstrap",
      });
      continue;
    }
    const a = Float64Array.from(pairs, ([x]) => x[key] as number);
    const b = Float64Array.from(pairs, ([, y]) => y[key] as number);
    const t = pairedTTest(b, a);
    const half = studentTPpf(1 - (1 - confidence) / 2, t.df) * t.stderr;
    const delta = t.meanDifference;
    const lo = t.stderr === 0 ? delta : delta - half;
    const hi = t.stderr === 0 ? delta : delta + half;
    let pValue = t.stderr === 0 ? (delta === 0 ? 1 : 0) : t.pvalue;
    let test = "paired t-test";
    if (isBinary(a) && isBinary(b)) {
      const table = pairedTable(a, b);
      pValue = mcnemarExact(table[0][1], table[1][0]).pvalue;
      test = "McNemar exact";
      const f = flips(a, b);
      flipLists.push({
        metric: key,
        improved: f.improved.map((i) => pairs[i][2]),
        regressed: f.regressed.map((i) => pairs[i][2]),
      });
    }
    // Verdicts follow the test's p-value so the table never contradicts itself.
    const significant = pValue < 1 - confidence;
    rows.push({
      task: baseline.task,
      metric: key,
      baseline: base,
      candidate: cand,
      delta,
      ciLow: lo,
      ciHigh: hi,
      pValue,
      verdict: significant
        ? delta > 0 === higherIsBetter
          ? "better"
          : "worse"
        : "no significant difference",
      test,
    });
  }
  return { baseline, candidate, paired: joined.length, rows, flips: flipLists };
}
