/**
 * sacreBLEU 2.6.0 TER, ported for exact parity. Per-segment statistics are
 * `[num_edits, mean reference length]` (edits: minimum over the references); they add up across
 * segments and corpus TER is computed from the sums.
 */
import { pyRStrip, pySplit } from "./pystr.js";
import { translationEditRate } from "./ter_lib.js";
import { type TercomOptions, tokenizeTercom } from "./tokenizers.js";

export interface TerOptions {
  /** Tercom normalisation and punctuation tokenisation; default false. */
  normalized?: boolean;
  /** Remove `.,?:;!"()` (and CJK punctuation with asianSupport); default false. */
  noPunct?: boolean;
  /** CJK handling, effective with normalized and/or noPunct; default false. */
  asianSupport?: boolean;
  /** Keep case; default false (both sides lowercased). */
  caseSensitive?: boolean;
}

/** Same fields as sacreBLEU's TERScore; `score` is 100 × edits / reference length. */
export interface TerScore {
  score: number;
  num_edits: number;
  ref_length: number;
}

/** Tercom options for the tokenizer. */
function tercom(opts: TerOptions): TercomOptions {
  return {
    normalized: opts.normalized ?? false,
    noPunct: opts.noPunct ?? false,
    asianSupport: opts.asianSupport ?? false,
    caseSensitive: opts.caseSensitive ?? false,
  };
}

/** Right-strips and tokenizes one segment into words, as sacreBLEU's TER does. */
export function terWords(sent: string, opts: TerOptions = {}): string[] {
  return pySplit(tokenizeTercom(pyRStrip(sent), tercom(opts)));
}

/** Statistics of one segment: `[min edits over refs, mean ref length]`. `refs` must be non-empty. */
export function terSegmentStats(hyp: string, refs: readonly string[], opts: TerOptions = {}): number[] {
  if (refs.length === 0) throw new Error("TER needs at least one reference per segment");
  const o = tercom(opts);
  const hypWords = pySplit(tokenizeTercom(pyRStrip(hyp), o));
  let refLengths = 0;
  let best = Number.POSITIVE_INFINITY;
  for (const ref of refs) {
    const [edits, refLen] = translationEditRate(hypWords, pySplit(tokenizeTercom(pyRStrip(ref), o)));
    refLengths += refLen;
    if (edits < best) best = edits;
  }
  return [best, refLengths / refs.length];
}

/** TER from (summed) `[edits, ref length]` statistics. */
export function terFromStats(stats: readonly number[]): TerScore {
  if (stats.length !== 2) throw new Error(`expected 2 TER statistics, got ${stats.length}`);
  const [edits, refLength] = stats;
  let score: number;
  if (refLength > 0) score = edits / refLength;
  else if (edits > 0) score = 1.0;
  else score = 0.0;
  return { score: 100 * score, num_edits: edits, ref_length: refLength };
}

/** Element-wise sum of segment statistics, in segment order. */
export function sumTerStats(stats: readonly (readonly number[])[]): number[] {
  if (stats.length === 0) throw new Error("no statistics to sum");
  let edits = 0;
  let refLength = 0;
  for (const s of stats) {
    edits += s[0];
    refLength += s[1];
  }
  return [edits, refLength];
}

/** Sentence TER (sacreBLEU `TER(...).sentence_score`). */
export function sentenceTer(hyp: string, refs: readonly string[], opts: TerOptions = {}): TerScore {
  return terFromStats(terSegmentStats(hyp, refs, opts));
}

/** Per-segment statistics of a corpus; `refs[i]` holds the references of `hyps[i]`. */
export function corpusTerStats(
  hyps: readonly string[],
  refs: readonly (readonly string[])[],
  opts: TerOptions = {},
): number[][] {
  if (hyps.length !== refs.length)
    throw new Error(`${hyps.length} hypotheses but ${refs.length} reference lists`);
  return hyps.map((h, i) => terSegmentStats(h, refs[i], opts));
}

/** Corpus TER (sacreBLEU `TER(...).corpus_score`); `refs[i]` holds the references of `hyps[i]`. */
export function corpusTer(
  hyps: readonly string[],
  refs: readonly (readonly string[])[],
  opts: TerOptions = {},
): TerScore {
  if (hyps.length === 0) throw new Error("corpus TER needs at least one segment");
  return terFromStats(sumTerStats(corpusTerStats(hyps, refs, opts)));
}

/** sacreBLEU's TER signature, e.g. `nrefs:1|case:lc|tok:tercom|norm:no|punct:yes|asian:no|version:2.6.0`. */
export function terSignature(opts: TerOptions = {}, nrefs: number | "var" = 1): string {
  const o = tercom(opts);
  const yn = (b: boolean | undefined) => (b ? "yes" : "no");
  return [
    `nrefs:${nrefs}`,
    `case:${o.caseSensitive ? "mixed" : "lc"}`,
    "tok:tercom",
    `norm:${yn(o.normalized)}`,
    `punct:${yn(!o.noPunct)}`,
    `asian:${yn(o.asianSupport)}`,
    "version:2.6.0",
  ].join("|");
}
