/**
 * sacreBLEU 2.6.0 TER, ported for exact parity. Per-segment statistics are
 * `[num_edits, mean reference length]` (edits: minimum over the references); they add up across
 * segments and corpus TER is computed from the sums.
 */
import { checkCorpus, checkHyp, checkOptionNames, checkRefs, optBool } from "./args.js";
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

const TER_OPTION_NAMES = ["normalized", "noPunct", "asianSupport", "caseSensitive"] as const;

/** Tercom options for the tokenizer (TypeError for a wrong type, RangeError for an unknown name). */
function tercom(opts: TerOptions): TercomOptions {
  checkOptionNames("TER", opts, TER_OPTION_NAMES);
  return {
    normalized: optBool("TER", "normalized", opts.normalized, false),
    noPunct: optBool("TER", "noPunct", opts.noPunct, false),
    asianSupport: optBool("TER", "asianSupport", opts.asianSupport, false),
    caseSensitive: optBool("TER", "caseSensitive", opts.caseSensitive, false),
  };
}

/** Right-strips and tokenizes one segment into words, as sacreBLEU's TER does. */
export function terWords(sent: string, opts: TerOptions = {}): string[] {
  return pySplit(tokenizeTercom(pyRStrip(sent), tercom(opts)));
}

/** Statistics of one segment: `[min edits over refs, mean ref length]`. `refs` must be non-empty. */
export function terSegmentStats(hyp: string, refs: readonly string[], opts: TerOptions = {}): number[] {
  const o = tercom(opts);
  checkHyp("TER", hyp, "the hypothesis");
  checkRefs("TER", refs, "the references");
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
  if (stats.length !== 2) throw new RangeError(`TER: expected 2 statistics, got ${stats.length}`);
  const [edits, refLength] = stats;
  let score: number;
  if (refLength > 0) score = edits / refLength;
  else if (edits > 0) score = 1.0;
  else score = 0.0;
  return { score: 100 * score, num_edits: edits, ref_length: refLength };
}

/** Element-wise sum of segment statistics, in segment order. */
export function sumTerStats(stats: readonly (readonly number[])[]): number[] {
  if (stats.length === 0) throw new RangeError("TER: no segment statistics to sum");
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
  checkCorpus("TER", hyps, refs);
  const o = tercom(opts);
  return hyps.map((h, i) => {
    checkHyp("TER", h, i);
    checkRefs("TER", refs[i], i);
    return terSegmentStats(h, refs[i], o);
  });
}

/** Corpus TER (sacreBLEU `TER(...).corpus_score`); `refs[i]` holds the references of `hyps[i]`. */
export function corpusTer(
  hyps: readonly string[],
  refs: readonly (readonly string[])[],
  opts: TerOptions = {},
): TerScore {
  checkCorpus("TER", hyps, refs);
  if (hyps.length === 0) throw new RangeError("TER: corpus TER needs at least one segment, got none");
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
