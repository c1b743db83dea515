/**
 * sacreBLEU 2.6.0 BLEU, ported for exact parity (same tokenizers, smoothing, effective order,
 * multi-reference clipping and closest reference length).
 *
 * Sufficient statistics per segment are `[sys_len, ref_len, counts_1..N, totals_1..N]`; they add up
 * across segments, so corpus BLEU (and bootstrap resamples) can be computed from streamed stats.
 */
import { pyFormatFixed, pyLower, pyRStrip, pySplit } from "./pystr.js";
import { type BleuTokenizerName, bleuTokenizer } from "./tokenizers.js";

export type BleuSmoothMethod = "exp" | "floor" | "add-k" | "none";

export interface BleuOptions {
  /** Tokenizer (sacreBLEU `tokenize`); default `13a`. */
  tokenize?: BleuTokenizerName;
  /** Lowercase with Python `str.lower()` first; default false. */
  lowercase?: boolean;
  /** Smoothing (sacreBLEU `smooth_method`); default `exp`. */
  smoothMethod?: BleuSmoothMethod;
  /** Value for `floor` (default 0.1) and `add-k` (default 1); null/undefined means the default. */
  smoothValue?: number | null;
  /** Highest n-gram order; default 4. */
  maxNgramOrder?: number;
  /** Average only over orders with hypothesis n-grams; default false (sacreBLEU `BLEU()` default). */
  effectiveOrder?: boolean;
}

/** Same fields as sacreBLEU's BLEUScore; `score` and `precisions` are on the 0–100 scale. */
export interface BleuScore {
  score: number;
  counts: number[];
  totals: number[];
  precisions: number[];
  bp: number;
  sys_len: number;
  ref_len: number;
}

/** sacreBLEU's `SMOOTH_DEFAULTS`. */
export const BLEU_SMOOTH_DEFAULTS: Readonly<Record<BleuSmoothMethod, number | null>> = {
  none: null,
  floor: 0.1,
  "add-k": 1,
  exp: null,
};

const SACREBLEU_VERSION = "2.6.0";

interface ResolvedBleuOptions {
  tokenize: BleuTokenizerName;
  tokenizer: (line: string) => string;
  lowercase: boolean;
  smoothMethod: BleuSmoothMethod;
  smoothValue: number | null;
  maxNgramOrder: number;
  effectiveOrder: boolean;
}

/** Fills defaults and validates options. */
function resolve(opts: BleuOptions = {}): ResolvedBleuOptions {
  const tokenize = opts.tokenize ?? "13a";
  const smoothMethod = opts.smoothMethod ?? "exp";
  if (!(smoothMethod in BLEU_SMOOTH_DEFAULTS)) throw new Error(`unknown smooth_method '${smoothMethod}'`);
  const maxNgramOrder = opts.maxNgramOrder ?? 4;
  if (!Number.isInteger(maxNgramOrder) || maxNgramOrder < 1)
    throw new Error(`max_ngram_order must be a positive integer, got ${maxNgramOrder}`);
  return {
    tokenize,
    tokenizer: bleuTokenizer(tokenize),
    lowercase: opts.lowercase ?? false,
    smoothMethod,
    smoothValue: opts.smoothValue ?? null,
    maxNgramOrder,
    effectiveOrder: opts.effectiveOrder ?? false,
  };
}

/** Lowercases (optionally), right-strips and tokenizes one segment, as sacreBLEU does. */
function preprocess(sent: string, o: ResolvedBleuOptions): string {
  if (o.lowercase) sent = pyLower(sent);
  return o.tokenizer(pyRStrip(sent));
}

/** Adds every n-gram (1..maxOrder) of `tokens` to `into`, keyed by space-joined tokens. */
function countNgrams(tokens: string[], maxOrder: number, into: Map<string, number>): void {
  const n = tokens.length;
  // Tokens never contain whitespace, so a space-joined key is unambiguous.
  for (let i = 0; i < n; i++) {
    let key = tokens[i];
    into.set(key, (into.get(key) ?? 0) + 1);
    const last = Math.min(n, i + maxOrder);
    for (let j = i + 1; j < last; j++) {
      key = `${key} ${tokens[j]}`;
      into.set(key, (into.get(key) ?? 0) + 1);
    }
  }
}

/** Number of spaces in `s` plus one: the order of an n-gram key. */
function ngramOrder(key: string): number {
  let n = 1;
  for (let i = key.indexOf(" "); i >= 0; i = key.indexOf(" ", i + 1)) n++;
  return n;
}

/** sacreBLEU's closest reference length: smallest |hyp - ref|, shorter reference on ties. */
function closestRefLen(hypLen: number, refLens: number[]): number {
  let closestDiff = -1;
  let closestLen = -1;
  for (const refLen of refLens) {
    const diff = Math.abs(hypLen - refLen);
    if (closestDiff === -1 || diff < closestDiff) {
      closestDiff = diff;
      closestLen = refLen;
    } else if (diff === closestDiff && refLen < closestLen) closestLen = refLen;
  }
  return closestLen;
}

/** Segment statistics from already preprocessed (tokenized) hypothesis and references. */
function statsFromTokenized(hyp: string, refs: readonly string[], maxOrder: number): number[] {
  const refNgrams = new Map<string, number>();
  const refLens: number[] = [];
  const tmp = new Map<string, number>();
  for (let r = 0; r < refs.length; r++) {
    const toks = pySplit(refs[r]);
    refLens.push(toks.length);
    if (r === 0) countNgrams(toks, maxOrder, refNgrams);
    else {
      // Multi-reference clipping uses the maximum count over references.
      tmp.clear();
      countNgrams(toks, maxOrder, tmp);
      for (const [k, v] of tmp) if (v > (refNgrams.get(k) ?? 0)) refNgrams.set(k, v);
    }
  }
  const hypToks = pySplit(hyp);
  const hypNgrams = new Map<string, number>();
  countNgrams(hypToks, maxOrder, hypNgrams);
  const stats = new Array<number>(2 + 2 * maxOrder).fill(0);
  stats[0] = hypToks.length;
  stats[1] = closestRefLen(hypToks.length, refLens);
  for (const [k, count] of hypNgrams) {
    const n = ngramOrder(k) - 1;
    stats[2 + maxOrder + n] += count;
    const rc = refNgrams.get(k);
    if (rc !== undefined) stats[2 + n] += Math.min(count, rc);
  }
  return stats;
}

/**
 * Sufficient statistics of one segment against its references:
 * `[sys_len, ref_len, counts_1..N, totals_1..N]` with N = maxNgramOrder. `refs` must be non-empty.
 */
export function bleuSegmentStats(hyp: string, refs: readonly string[], opts: BleuOptions = {}): number[] {
  const o = resolve(opts);
  if (refs.length === 0) throw new Error("BLEU needs at least one reference per segment");
  return statsFromTokenized(
    preprocess(hyp, o),
    refs.map((r) => preprocess(r, o)),
    o.maxNgramOrder,
  );
}

/** Element-wise sum of segment statistics (sacreBLEU `sum_of_lists`). */
export function sumStats(stats: readonly (readonly number[])[]): number[] {
  if (stats.length === 0) throw new Error("no statistics to sum");
  const total = new Array<number>(stats[0].length).fill(0);
  for (const s of stats) for (let i = 0; i < total.length; i++) total[i] += s[i];
  return total;
}

/** sacreBLEU's `my_log`: log with log(0) floored to -9999999999. */
function myLog(x: number): number {
  return x === 0 ? -9999999999 : Math.log(x);
}

/** BLEU from (summed) sufficient statistics, as sacreBLEU's `compute_bleu`. */
export function bleuFromStats(stats: readonly number[], opts: BleuOptions = {}): BleuScore {
  const o = resolve(opts);
  const order = o.maxNgramOrder;
  if (stats.length !== 2 + 2 * order)
    throw new Error(`expected ${2 + 2 * order} BLEU statistics, got ${stats.length}`);
  const sysLen = stats[0];
  const refLen = stats[1];
  const correct = stats.slice(2, 2 + order);
  const total = stats.slice(2 + order);
  const smoothValue = o.smoothValue ?? BLEU_SMOOTH_DEFAULTS[o.smoothMethod] ?? 0;

  let bp = 1.0;
  if (sysLen < refLen) bp = sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0.0;

  const precisions = new Array<number>(order).fill(0);
  // sacreBLEU stops early (score 0) when no n-gram of any order matched.
  if (!correct.some((c) => c !== 0))
    return { score: 0.0, counts: correct, totals: total, precisions, bp, sys_len: sysLen, ref_len: refLen };

  let smoothMteval = 1.0;
  let effOrder = order;
  for (let n = 1; n <= order; n++) {
    if (o.smoothMethod === "add-k" && n > 1) {
      correct[n - 1] += smoothValue;
      total[n - 1] += smoothValue;
    }
    if (total[n - 1] === 0) break;
    if (o.effectiveOrder) effOrder = n;
    if (correct[n - 1] === 0) {
      if (o.smoothMethod === "exp") {
        smoothMteval *= 2;
        precisions[n - 1] = 100 / (smoothMteval * total[n - 1]);
      } else if (o.smoothMethod === "floor") precisions[n - 1] = (100 * smoothValue) / total[n - 1];
    } else precisions[n - 1] = (100 * correct[n - 1]) / total[n - 1];
  }

  let logSum = 0;
  for (let i = 0; i < effOrder; i++) logSum += myLog(precisions[i]);
  const score = bp * Math.exp(logSum / effOrder);
  return { score, counts: correct, totals: total, precisions, bp, sys_len: sysLen, ref_len: refLen };
}

/** Sentence BLEU of one hypothesis against its references (sacreBLEU `BLEU(...).sentence_score`). */
export function sentenceBleu(hyp: string, refs: readonly string[], opts: BleuOptions = {}): BleuScore {
  return bleuFromStats(bleuSegmentStats(hyp, refs, opts), opts);
}

/** Per-segment statistics of a corpus; `refs[i]` holds the references of `hyps[i]`. */
export function corpusBleuStats(
  hyps: readonly string[],
  refs: readonly (readonly string[])[],
  opts: BleuOptions = {},
): number[][] {
  if (hyps.length !== refs.length)
    throw new Error(`${hyps.length} hypotheses but ${refs.length} reference lists`);
  const o = resolve(opts);
  const out: number[][] = [];
  for (let i = 0; i < hyps.length; i++) {
    if (refs[i].length === 0) throw new Error(`segment ${i} has no reference`);
    out.push(
      statsFromTokenized(
        preprocess(hyps[i], o),
        refs[i].map((r) => preprocess(r, o)),
        o.maxNgramOrder,
      ),
    );
  }
  return out;
}

/** Corpus BLEU (sacreBLEU `BLEU(...).corpus_score`); `refs[i]` holds the references of `hyps[i]`. */
export function corpusBleu(
  hyps: readonly string[],
  refs: readonly (readonly string[])[],
  opts: BleuOptions = {},
): BleuScore {
  if (hyps.length === 0) throw new Error("corpus BLEU needs at least one segment");
  return bleuFromStats(sumStats(corpusBleuStats(hyps, refs, opts)), opts);
}

/** Number of references for a signature: the count if every segment has the same, else "var". */
export function nrefsOf(refs: readonly (readonly string[])[]): number | "var" {
  const counts = new Set(refs.map((r) => r.length));
  return counts.size === 1 ? [...counts][0] : "var";
}

/** sacreBLEU's BLEU signature, e.g. `nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0`. */
export function bleuSignature(opts: BleuOptions = {}, nrefs: number | "var" = 1): string {
  const o = resolve(opts);
  let smooth: string = o.smoothMethod;
  const def = BLEU_SMOOTH_DEFAULTS[o.smoothMethod];
  if (def !== null) smooth += `[${pyFormatFixed(o.smoothValue ?? def, 2)}]`;
  return [
    `nrefs:${nrefs}`,
    `case:${o.lowercase ? "lc" : "mixed"}`,
    `eff:${o.effectiveOrder ? "yes" : "no"}`,
    `tok:${o.tokenize}`,
    `smooth:${smooth}`,
    `version:${SACREBLEU_VERSION}`,
  ].join("|");
}
