/**
 * sacreBLEU 2.6.0 BLEU, ported for exact parity (same tokenizers, smoothing, effective order,
 * multi-reference clipping and closest reference length).
 *
 * Sufficient statistics per segment are `[sys_len, ref_len, counts_1..N, totals_1..N]`; they add up
 * across segments, so corpus BLEU (and bootstrap resamples) can be computed from streamed stats.
 */
import {
  checkCorpus,
  checkHyp,
  checkOptionNames,
  checkRefs,
  optBool,
  optChoice,
  optInt,
  optNum,
} from "./args.js";
import { addClippedMatches, reserveClippedMatches, SegmentInterner, SymbolSeq } from "./ngram_match.js";
import { pyFormatFixed, pyLower, pyRStrip, pySplit } from "./pystr.js";
import { type BleuTokenizerName, bleuTokenizer, Spans, spans13a } from "./tokenizers.js";

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

const BLEU_OPTION_NAMES = [
  "tokenize",
  "lowercase",
  "smoothMethod",
  "smoothValue",
  "maxNgramOrder",
  "effectiveOrder",
] as const;
const TOKENIZERS: readonly BleuTokenizerName[] = ["13a", "intl", "char", "none"];
const SMOOTH_METHODS: readonly BleuSmoothMethod[] = ["exp", "floor", "add-k", "none"];

/** Fills defaults and validates options (TypeError for a wrong type, RangeError for a bad value). */
function resolve(opts: BleuOptions = {}): ResolvedBleuOptions {
  checkOptionNames("BLEU", opts, BLEU_OPTION_NAMES);
  const tokenize = optChoice("BLEU", "tokenize", opts.tokenize, "13a", TOKENIZERS);
  const smoothMethod = optChoice("BLEU", "smoothMethod", opts.smoothMethod, "exp", SMOOTH_METHODS);
  const smoothValue =
    opts.smoothValue === undefined || opts.smoothValue === null
      ? null
      : optNum("BLEU", "smoothValue", opts.smoothValue, 0, (x) => x >= 0, "a number ≥ 0 or null");
  return {
    tokenize,
    tokenizer: bleuTokenizer(tokenize),
    lowercase: optBool("BLEU", "lowercase", opts.lowercase, false),
    smoothMethod,
    smoothValue,
    maxNgramOrder: optInt("BLEU", "maxNgramOrder", opts.maxNgramOrder, 4, 1),
    effectiveOrder: optBool("BLEU", "effectiveOrder", opts.effectiveOrder, false),
  };
}

const spans = new Spans();

/**
 * Lowercases (optionally), right-strips and tokenizes one segment as sacreBLEU does, and appends its
 * token ids and a side separator to `seq`. Returns the number of tokens.
 */
function encode(sent: string, o: ResolvedBleuOptions, vocab: SegmentInterner, seq: SymbolSeq): number {
  if (o.lowercase) sent = pyLower(sent);
  sent = pyRStrip(sent);
  let n: number;
  if (o.tokenize === "13a") {
    // The 13a tokens as spans of the line: no token strings, no joined-and-split line.
    const line = spans13a(sent, spans);
    n = spans.count;
    seq.reserve(n + 1);
    const data = seq.data;
    const { starts, ends, hashes } = spans;
    let len = seq.len;
    for (let k = 0; k < n; k++) data[len++] = vocab.idHashed(line, starts[k], ends[k], hashes[k]);
    seq.len = len;
  } else {
    const toks = pySplit(o.tokenizer(sent));
    n = toks.length;
    for (const t of toks) seq.push(vocab.id(t, 0, t.length));
  }
  seq.endSide();
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

const seq = new SymbolSeq();
const refLens: number[] = [];
const segmentVocab = new SegmentInterner();

/**
 * Writes the statistics of one segment to `stats[0 .. 2 + 2 * maxOrder)`: lengths, clipped n-gram
 * matches (the maximum count over references clips a hypothesis n-gram, as in sacreBLEU) and totals.
 */
function segmentStats(
  hyp: string,
  refs: readonly string[],
  o: ResolvedBleuOptions,
  vocab: SegmentInterner,
  stats: number[],
): void {
  const maxOrder = o.maxNgramOrder;
  seq.clear();
  vocab.reset(); // n-grams only match within a segment: its own small ids are enough
  refLens.length = 0;
  // One call site for the hypothesis and the references, so the JIT inlines (compiles) encode once.
  for (let r = -1; r < refs.length; r++) refLens.push(encode(r < 0 ? hyp : refs[r], o, vocab, seq));
  const hypLen = refLens.shift() as number;
  stats[0] = hypLen;
  stats[1] = closestRefLen(hypLen, refLens);
  for (let n = 1; n <= maxOrder; n++) {
    stats[1 + n] = 0;
    stats[1 + maxOrder + n] = Math.max(0, hypLen - n + 1);
  }
  addClippedMatches(seq.data, seq.len, vocab.size, maxOrder, stats, 2);
}

/**
 * Sufficient statistics of one segment against its references:
 * `[sys_len, ref_len, counts_1..N, totals_1..N]` with N = maxNgramOrder. `refs` must be non-empty.
 */
export function bleuSegmentStats(hyp: string, refs: readonly string[], opts: BleuOptions = {}): number[] {
  const o = resolve(opts);
  checkHyp("BLEU", hyp, "the hypothesis");
  checkRefs("BLEU", refs, "the references");
  const stats = new Array<number>(2 + 2 * o.maxNgramOrder).fill(0);
  segmentStats(hyp, refs, o, segmentVocab, stats);
  return stats;
}

/** Element-wise sum of segment statistics (sacreBLEU `sum_of_lists`). */
export function sumStats(stats: readonly (readonly number[])[]): number[] {
  if (stats.length === 0) throw new RangeError("BLEU: no segment statistics to sum");
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
    throw new RangeError(
      `BLEU: expected ${2 + 2 * order} statistics for max_ngram_order ${order}, got ${stats.length}`,
    );
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

// Made-up segments for `primeOnce`: a short pair with the common branches of the 13a tokenizer, the
// interner and the matcher, and a pair with the rare ones (runs of "." and ",", "3.14", "-" after a digit,
// entities, non-ASCII letters and spaces, a one-character non-ASCII token).
// "red" and "tea" share a slot of the interner's initial table, so the probing loop runs too.
const PRIMING_COMMON: readonly [string, string] = [
  "a-b 1-2 x.y 3.14 (c) red tea .",
  "a - b 1-2 x . y c tea red",
];
const PRIMING_RARE: readonly [string, string] = [
  'A..5 b...5 c.5 3.14 1,5 x, y. 2-3 (c) "d" &amp; \u00e9t\u00e9\u00a0f\u3000g \u2014 end.',
  "A.5 b..5 3.14 x , y 2 - 3 a-b &lt;c&gt; \u00e9t\u00e9 f \u2014 end .",
];
let primed = false;

/**
 * Runs the segment code on the priming pairs once per process. V8 records type feedback for a function
 * only after it has run a while (about eight times its size in bytecode) and optimizes it after a few
 * hundred segments; a branch that first runs after that deoptimizes it, and it is compiled again (tens of
 * milliseconds of a cold run over 20,000 segments, bench/metrics). So the common pair runs until feedback
 * is being recorded, then the rare pair: the first optimized code already covers the rare branches.
 */
function primeOnce(o: ResolvedBleuOptions): void {
  if (primed || o.tokenize !== "13a") return;
  primed = true;
  const stats = new Array<number>(2 + 2 * o.maxNgramOrder).fill(0);
  for (let i = 0; i < 12; i++) segmentStats(PRIMING_COMMON[0], [PRIMING_COMMON[1]], o, segmentVocab, stats);
  for (let i = 0; i < 2; i++) segmentStats(PRIMING_RARE[0], [PRIMING_RARE[1]], o, segmentVocab, stats);
}

// Buffers are sized up front for the longest segment (in UTF-16 units, an upper bound on its tokens), up
// to this many; longer segments grow them as they come.
const RESERVE_LIMIT = 1 << 16;

/**
 * Sizes the tokenizer's, the sequence's, the interner's and the matcher's buffers for segments of up to
 * `units` UTF-16 units, hypothesis and references together: a buffer growing mid-corpus would deoptimize
 * the code that uses it (see `primeOnce`).
 */
function reserveFor(units: number): void {
  const n = Math.min(units, RESERVE_LIMIT);
  spans.reserve(n);
  seq.clear();
  seq.reserve(n);
  segmentVocab.reserve(n);
  reserveClippedMatches(n);
}

/**
 * Checks a corpus (every segment, before any work) and returns the UTF-16 length of its longest segment,
 * hypothesis and references together, counting a separator after each side.
 */
function checkedLongestSegment(hyps: readonly string[], refs: readonly (readonly string[])[]): number {
  checkCorpus("BLEU", hyps, refs);
  let longest = 0;
  for (let i = 0; i < hyps.length; i++) {
    checkHyp("BLEU", hyps[i], i);
    checkRefs("BLEU", refs[i], i);
    let units = hyps[i].length + 1;
    for (const r of refs[i]) units += r.length + 1;
    if (units > longest) longest = units;
  }
  return longest;
}

/**
 * The summed statistics of a corpus (sacreBLEU `sum_of_lists` over its segments), after checking it;
 * with `perSegment`, each segment's statistics are appended to it as well.
 */
function corpusStats(
  hyps: readonly string[],
  refs: readonly (readonly string[])[],
  o: ResolvedBleuOptions,
  perSegment?: number[][],
): number[] {
  const longest = checkedLongestSegment(hyps, refs);
  primeOnce(o); // before reserveFor: the priming pairs rely on the interner's initial table
  reserveFor(longest);
  const width = 2 + 2 * o.maxNgramOrder;
  const stats = new Array<number>(width).fill(0);
  const total = new Array<number>(width).fill(0);
  for (let i = 0; i < hyps.length; i++) {
    segmentStats(hyps[i], refs[i], o, segmentVocab, stats);
    for (let k = 0; k < width; k++) total[k] += stats[k];
    perSegment?.push(stats.slice());
  }
  return total;
}

/** Per-segment statistics of a corpus; `refs[i]` holds the references of `hyps[i]`. */
export function corpusBleuStats(
  hyps: readonly string[],
  refs: readonly (readonly string[])[],
  opts: BleuOptions = {},
): number[][] {
  const out: number[][] = [];
  corpusStats(hyps, refs, resolve(opts), out);
  return out;
}

/** Corpus BLEU (sacreBLEU `BLEU(...).corpus_score`); `refs[i]` holds the references of `hyps[i]`. */
export function corpusBleu(
  hyps: readonly string[],
  refs: readonly (readonly string[])[],
  opts: BleuOptions = {},
): BleuScore {
  const o = resolve(opts);
  checkCorpus("BLEU", hyps, refs);
  if (hyps.length === 0) throw new RangeError("BLEU: corpus BLEU needs at least one segment, got none");
  return bleuFromStats(corpusStats(hyps, refs, o), opts);
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
