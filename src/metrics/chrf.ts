/**
 * sacreBLEU 2.6.0 chrF / chrF++, ported for exact parity.
 *
 * Per-segment statistics are `[hyp, ref, match]` triples for character orders 1..charOrder then
 * word orders 1..wordOrder, taken from the reference with the best sentence chrF (first on ties).
 * They add up across segments; corpus chrF is computed from the sums.
 */
import { checkCorpus, checkHyp, checkOptionNames, checkRefs, optBool, optInt, optNum } from "./args.js";
import { addClippedMatches, SegmentInterner, SymbolSeq } from "./ngram_match.js";
import { isPyWhitespace, pyLower, pySplit } from "./pystr.js";

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

const CHRF_OPTION_NAMES = [
  "charOrder",
  "wordOrder",
  "beta",
  "lowercase",
  "whitespace",
  "epsSmoothing",
] as const;

/** Fills defaults and validates options (TypeError for a wrong type, RangeError for a bad value). */
function resolve(opts: ChrfOptions = {}): ResolvedChrfOptions {
  checkOptionNames("chrF", opts, CHRF_OPTION_NAMES);
  const o = {
    charOrder: optInt("chrF", "charOrder", opts.charOrder, 6, 0),
    wordOrder: optInt("chrF", "wordOrder", opts.wordOrder, 0, 0),
    beta: optNum("chrF", "beta", opts.beta, 2, (x) => x > 0, "a number > 0"),
    lowercase: optBool("chrF", "lowercase", opts.lowercase, false),
    whitespace: optBool("chrF", "whitespace", opts.whitespace, false),
    epsSmoothing: optBool("chrF", "epsSmoothing", opts.epsSmoothing, false),
  };
  if (o.charOrder + o.wordOrder === 0)
    throw new RangeError("chrF: charOrder + wordOrder must be positive, got 0 + 0");
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

// Code point -> symbol id (shared by all calls; at most one id per code point). BMP ids are stored + 1.
const BMP_IDS = new Int32Array(0x10000);
const ASTRAL_IDS = new Map<number, number>();
let nCharIds = 0;

/** Appends the symbol ids of the code points of `line` (Python whitespace dropped unless kept). */
function pushChars(line: string, whitespace: boolean, seq: SymbolSeq): number {
  const n = line.length;
  let count = 0;
  for (let i = 0; i < n; i++) {
    let c = line.charCodeAt(i);
    if (!whitespace && isPyWhitespace(c)) continue;
    let id: number;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = line.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c < 0x10000) {
      id = BMP_IDS[c] - 1;
      if (id < 0) {
        id = nCharIds++;
        BMP_IDS[c] = id + 1;
      }
    } else {
      const known = ASTRAL_IDS.get(c);
      if (known === undefined) {
        id = nCharIds++;
        ASTRAL_IDS.set(c, id);
      } else id = known;
    }
    seq.push(id);
    count++;
  }
  seq.endSide();
  return count;
}

/** Appends the ids of `words` and a separator to `seq`; returns the number of words. */
function pushWords(words: readonly string[], vocab: SegmentInterner, seq: SymbolSeq): number {
  for (const w of words) seq.push(vocab.id(w, 0, w.length));
  seq.endSide();
  return words.length;
}

// Hypothesis then reference symbols (code points; words for chrF++), each followed by -1.
const charSeq = new SymbolSeq();
const wordSeq = new SymbolSeq();
const segmentWords = new SegmentInterner();

/**
 * `[hyp, ref, match]` for each character then word order (sacreBLEU `_get_match_statistics`):
 * hyp and ref are the n-gram counts (hyp is 0 when the reference has no n-gram of that order),
 * match the clipped matches. The sequences hold the hypothesis and one reference.
 */
function pairStats(
  o: ResolvedChrfOptions,
  words: SegmentInterner,
  hypChars: number,
  refChars: number,
  hypWords: number,
  refWords: number,
): number[] {
  const order = o.charOrder + o.wordOrder;
  const stats = new Array<number>(3 * order).fill(0);
  for (let i = 0; i < order; i++) {
    const char = i < o.charOrder;
    const n = char ? i + 1 : i - o.charOrder + 1;
    const hypLen = char ? hypChars : hypWords;
    const refLen = char ? refChars : refWords;
    stats[3 * i] = refLen >= n ? Math.max(0, hypLen - n + 1) : 0;
    stats[3 * i + 1] = Math.max(0, refLen - n + 1);
  }
  if (o.charOrder > 0) addClippedMatches(charSeq.data, charSeq.len, nCharIds, o.charOrder, stats, 2, 3);
  if (o.wordOrder > 0)
    addClippedMatches(wordSeq.data, wordSeq.len, words.size, o.wordOrder, stats, 3 * o.charOrder + 2, 3);
  return stats;
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

/** Statistics of a hypothesis against its references (the best reference by sentence chrF wins). */
function statsOf(
  hyp: string,
  refs: readonly string[],
  o: ResolvedChrfOptions,
  words: SegmentInterner,
): number[] {
  if (o.lowercase) hyp = pyLower(hyp);
  charSeq.clear();
  wordSeq.clear();
  words.reset(); // word n-grams only match within a segment
  const hypChars = o.charOrder > 0 ? pushChars(hyp, o.whitespace, charSeq) : 0;
  const hypWords = o.wordOrder > 0 ? pushWords(removePunctuation(hyp), words, wordSeq) : 0;
  const charEnd = charSeq.len;
  const wordEnd = wordSeq.len;
  let best: number[] = [];
  let bestF = -1.0;
  for (let ref of refs) {
    if (o.lowercase) ref = pyLower(ref);
    // Each reference replaces the previous one after the hypothesis.
    charSeq.len = charEnd;
    wordSeq.len = wordEnd;
    const refChars = o.charOrder > 0 ? pushChars(ref, o.whitespace, charSeq) : 0;
    const refWords = o.wordOrder > 0 ? pushWords(removePunctuation(ref), words, wordSeq) : 0;
    const stats = pairStats(o, words, hypChars, refChars, hypWords, refWords);
    if (refs.length === 1) return stats;
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
  checkHyp("chrF", hyp, "the hypothesis");
  checkRefs("chrF", refs, "the references");
  return statsOf(hyp, refs, o, segmentWords);
}

/** chrF from (summed) statistics. */
export function chrfFromStats(stats: readonly number[], opts: ChrfOptions = {}): ChrfScore {
  const o = resolve(opts);
  const expected = 3 * (o.charOrder + o.wordOrder);
  if (stats.length !== expected)
    throw new RangeError(`chrF: expected ${expected} statistics for these orders, got ${stats.length}`);
  return { score: fScore(stats, o), char_order: o.charOrder, word_order: o.wordOrder, beta: o.beta };
}

/** Element-wise sum of segment statistics. */
export function sumChrfStats(stats: readonly (readonly number[])[]): number[] {
  if (stats.length === 0) throw new RangeError("chrF: no segment statistics to sum");
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
  checkCorpus("chrF", hyps, refs);
  const o = resolve(opts);
  const out: number[][] = [];
  for (let i = 0; i < hyps.length; i++) {
    checkHyp("chrF", hyps[i], i);
    checkRefs("chrF", refs[i], i);
    out.push(statsOf(hyps[i], refs[i], o, segmentWords));
  }
  return out;
}

/** Corpus chrF (sacreBLEU `CHRF(...).corpus_score`); `refs[i]` holds the references of `hyps[i]`. */
export function corpusChrf(
  hyps: readonly string[],
  refs: readonly (readonly string[])[],
  opts: ChrfOptions = {},
): ChrfScore {
  checkCorpus("chrF", hyps, refs);
  if (hyps.length === 0) throw new RangeError("chrF: corpus chrF needs at least one segment, got none");
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
