/**
 * sacreBLEU 2.6.0 chrF / chrF++, ported for exact parity.
 *
 * Per-segment statistics are `[hyp, ref, match]` triples for character orders 1..charOrder then
 * word orders 1..wordOrder, taken from the reference with the best sentence chrF (first on ties).
 * They add up across segments; corpus chrF is computed from the sums.
 */
import { pyLower, pySplit } from "./pystr.js";

export interface ChrfOptions {
  /** Character n-gram order; default 6. */
  charOrder?: number;
  /** Word n-gram order: 0 = chrF, 2 = chrF++; default 0. */
  wordOrder?: number;
  /** Recall weight; default 2. */
  beta?: number;
  /** Lowercase with Python `str.lower()` first; default false. */
  lowercase?: boolean;
  /** Keep whitespace inside character n-grams; default false. */
  whitespace?: boolean;
  /** chrF++.py-style epsilon smoothing instead of sacreBLEU 2.x effective-order averaging; default false. */
  epsSmoothing?: boolean;
}

/** Like sacreBLEU's CHRFScore; `score` is on the 0–100 scale. */
export interface ChrfScore {
  score: number;
  char_order: number;
  word_order: number;
  beta: number;
}

interface ResolvedChrfOptions {
  charOrder: number;
  wordOrder: number;
  beta: number;
  lowercase: boolean;
  whitespace: boolean;
  epsSmoothing: boolean;
}

/** Fills defaults and validates options. */
function resolve(opts: ChrfOptions = {}): ResolvedChrfOptions {
  const o = {
    charOrder: opts.charOrder ?? 6,
    wordOrder: opts.wordOrder ?? 0,
    beta: opts.beta ?? 2,
    lowercase: opts.lowercase ?? false,
    whitespace: opts.whitespace ?? false,
    epsSmoothing: opts.epsSmoothing ?? false,
  };
  if (!Number.isInteger(o.charOrder) || o.charOrder < 0) throw new Error(`bad char_order ${o.charOrder}`);
  if (!Number.isInteger(o.wordOrder) || o.wordOrder < 0) throw new Error(`bad word_order ${o.wordOrder}`);
  if (o.charOrder + o.wordOrder === 0) throw new Error("char_order + word_order must be positive");
  return o;
}

// string.punctuation, used by chrF++'s word splitter.
const PUNCTS = new Set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~");

/** chrF++ word splitting: peels one ASCII punctuation mark off the end (else the start) of each word. */
function removePunctuation(sent: string): string[] {
  const out: string[] = [];
  for (const w of pySplit(sent)) {
    // Python indexes code points, but PUNCTS are ASCII, so UTF-16 checks at either end agree.
    if (w.length === 1 || (w.length === 2 && w.codePointAt(0)! > 0xffff)) out.push(w);
    else if (PUNCTS.has(w[w.length - 1])) out.push(w.slice(0, -1), w[w.length - 1]);
    else if (PUNCTS.has(w[0])) out.push(w[0], w.slice(1));
    else out.push(w);
  }
  return out;
}

type Counts = Map<string, number>;

/** Character n-gram counters for orders 1..maxOrder over code points (whitespace dropped unless kept). */
function charNgrams(line: string, maxOrder: number, whitespace: boolean): Counts[] {
  if (!whitespace) line = pySplit(line).join("");
  // UTF-16 offsets of each code point so n-grams slice whole code points.
  const offs: number[] = [];
  for (let i = 0; i < line.length; i++) {
    offs.push(i);
    const c = line.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < line.length) {
      const d = line.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
  }
  const len = offs.length;
  offs.push(line.length);
  const out: Counts[] = [];
  for (let n = 1; n <= maxOrder; n++) {
    const m: Counts = new Map();
    for (let i = 0; i + n <= len; i++) {
      const g = line.slice(offs[i], offs[i + n]);
      m.set(g, (m.get(g) ?? 0) + 1);
    }
    out.push(m);
  }
  return out;
}

/** Word n-gram counter of order n, keyed by space-joined words. */
function wordNgrams(words: string[], n: number): Counts {
  const m: Counts = new Map();
  for (let i = 0; i + n <= words.length; i++) {
    const g = n === 1 ? words[i] : words.slice(i, i + n).join(" ");
    m.set(g, (m.get(g) ?? 0) + 1);
  }
  return m;
}

/** All n-gram counters of a preprocessed segment: character orders then word orders. */
function allNgrams(sent: string, o: ResolvedChrfOptions): Counts[] {
  const grams = charNgrams(sent, o.charOrder, o.whitespace);
  if (o.wordOrder > 0) {
    const words = removePunctuation(sent);
    for (let n = 1; n <= o.wordOrder; n++) grams.push(wordNgrams(words, n));
  }
  return grams;
}

/** Appends `[hyp, ref, match]` for one order (hyp is 0 when the reference has no n-grams). */
function matchStats(hyp: Counts, ref: Counts, out: number[]): void {
  let match = 0;
  let hypCount = 0;
  for (const [g, c] of hyp) {
    hypCount += c;
    const r = ref.get(g);
    if (r !== undefined) match += Math.min(c, r);
  }
  let refCount = 0;
  for (const c of ref.values()) refCount += c;
  out.push(ref.size > 0 ? hypCount : 0, refCount, match);
}

/** chrF from (summed) `[hyp, ref, match]` statistics, as sacreBLEU's `_compute_f_score` (0–100). */
function fScore(stats: readonly number[], o: ResolvedChrfOptions): number {
  const eps = 1e-16;
  const factor = o.beta ** 2;
  const order = o.charOrder + o.wordOrder;
  let score = 0.0;
  let effectiveOrder = 0;
  let avgPrec = 0.0;
  let avgRec = 0.0;
  for (let i = 0; i < order; i++) {
    const nHyp = stats[3 * i];
    const nRef = stats[3 * i + 1];
    const nMatch = stats[3 * i + 2];
    const prec = nHyp > 0 ? nMatch / nHyp : eps;
    const rec = nRef > 0 ? nMatch / nRef : eps;
    const denom = factor * prec + rec;
    score += denom > 0 ? ((1 + factor) * prec * rec) / denom : eps;
    if (nHyp > 0 && nRef > 0) {
      avgPrec += prec;
      avgRec += rec;
      effectiveOrder++;
    }
  }
  if (o.epsSmoothing) return (100 * score) / order;
  if (effectiveOrder === 0) avgPrec = avgRec = 0.0;
  else {
    avgPrec /= effectiveOrder;
    avgRec /= effectiveOrder;
  }
  if (avgPrec + avgRec) {
    score = (1 + factor) * avgPrec * avgRec;
    score /= factor * avgPrec + avgRec;
    return 100 * score;
  }
  return 0.0;
}

/** Statistics of a preprocessed hypothesis against preprocessed references (best reference wins). */
function statsFromPreprocessed(hyp: string, refs: readonly string[], o: ResolvedChrfOptions): number[] {
  const hypGrams = allNgrams(hyp, o);
  let best: number[] = [];
  let bestF = -1.0;
  for (const ref of refs) {
    const refGrams = allNgrams(ref, o);
    const stats: number[] = [];
    for (let i = 0; i < hypGrams.length; i++) matchStats(hypGrams[i], refGrams[i], stats);
    const f = fScore(stats, o);
    if (f > bestF) {
      bestF = f;
      best = stats;
    }
  }
  return best;
}

/** Statistics of one segment: `3 * (charOrder + wordOrder)` numbers. `refs` must be non-empty. */
export function chrfSegmentStats(hyp: string, refs: readonly string[], opts: ChrfOptions = {}): number[] {
  const o = resolve(opts);
  if (refs.length === 0) throw new Error("chrF needs at least one reference per segment");
  const pre = (s: string) => (o.lowercase ? pyLower(s) : s);
  return statsFromPreprocessed(pre(hyp), refs.map(pre), o);
}

/** chrF from (summed) statistics. */
export function chrfFromStats(stats: readonly number[], opts: ChrfOptions = {}): ChrfScore {
  const o = resolve(opts);
  const expected = 3 * (o.charOrder + o.wordOrder);
  if (stats.length !== expected) throw new Error(`expected ${expected} chrF statistics, got ${stats.length}`);
  return { score: fScore(stats, o), char_order: o.charOrder, word_order: o.wordOrder, beta: o.beta };
}

/** Element-wise sum of segment statistics. */
export function sumChrfStats(stats: readonly (readonly number[])[]): number[] {
  if (stats.length === 0) throw new Error("no statistics to sum");
  const total = new Array<number>(stats[0].length).fill(0);
  for (const s of stats) for (let i = 0; i < total.length; i++) total[i] += s[i];
  return total;
}

/** Sentence chrF (sacreBLEU `CHRF(...).sentence_score`). */
export function sentenceChrf(hyp: string, refs: readonly string[], opts: ChrfOptions = {}): ChrfScore {
  return chrfFromStats(chrfSegmentStats(hyp, refs, opts), opts);
}

/** Per-segment statistics of a corpus; `refs[i]` holds the references of `hyps[i]`. */
export function corpusChrfStats(
  hyps: readonly string[],
  refs: readonly (readonly string[])[],
  opts: ChrfOptions = {},
): number[][] {
  if (hyps.length !== refs.length)
    throw new Error(`${hyps.length} hypotheses but ${refs.length} reference lists`);
  return hyps.map((h, i) => chrfSegmentStats(h, refs[i], opts));
}

/** Corpus chrF (sacreBLEU `CHRF(...).corpus_score`); `refs[i]` holds the references of `hyps[i]`. */
export function corpusChrf(
  hyps: readonly string[],
  refs: readonly (readonly string[])[],
  opts: ChrfOptions = {},
): ChrfScore {
  if (hyps.length === 0) throw new Error("corpus chrF needs at least one segment");
  return chrfFromStats(sumChrfStats(corpusChrfStats(hyps, refs, opts)), opts);
}

/** sacreBLEU's chrF signature, e.g. `nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0`. */
export function chrfSignature(opts: ChrfOptions = {}, nrefs: number | "var" = 1): string {
  const o = resolve(opts);
  return [
    `nrefs:${nrefs}`,
    `case:${o.lowercase ? "lc" : "mixed"}`,
    `eff:${o.epsSmoothing ? "no" : "yes"}`,
    `nc:${o.charOrder}`,
    `nw:${o.wordOrder}`,
    `space:${o.whitespace ? "yes" : "no"}`,
    "version:2.6.0",
  ].join("|");
}

/** Score name as sacreBLEU prints it: `chrF2`, `chrF2++`. */
export function chrfName(opts: ChrfOptions = {}): string {
  const o = resolve(opts);
  return `chrF${o.beta}${"+".repeat(o.wordOrder)}`;
}
