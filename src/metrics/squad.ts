/**
 * SQuAD v1.1 exact match and token F1 (`evaluate-v1.1.py`), with Python string semantics:
 * `str.lower()`, ASCII `string.punctuation`, Unicode-aware `\b` from Python 3 `re`, `str.split()`.
 */
import { pyLower, pySplit } from "./pystr.js";

const PUNCT = new Set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~");

// Python 3 `re` word characters for str patterns: str.isalnum() or '_'. isalnum covers the letter
// categories and characters with a numeric value, i.e. \p{L} and \p{N}.
// `\b(a|an|the)\b`: the article starts with a word character, so `\b` before it means "no word
// character before", and after it "no word character next".
const ARTICLES = /(?<![\p{L}\p{N}_])(?:the|an|a)(?![\p{L}\p{N}_])/gu;

/** SQuAD `normalize_answer`: lower, drop ASCII punctuation, drop articles, collapse whitespace. */
export function squadNormalize(s: string): string {
  const lowered = pyLower(s);
  let noPunct = "";
  let start = 0;
  for (let i = 0; i < lowered.length; i++) {
    if (PUNCT.has(lowered[i])) {
      noPunct += lowered.slice(start, i);
      start = i + 1;
    }
  }
  noPunct += lowered.slice(start);
  return pySplit(noPunct.replace(ARTICLES, " ")).join(" ");
}

/** 1 when the normalised strings are equal, else 0. */
export function squadExactMatch(prediction: string, groundTruth: string): number {
  return squadNormalize(prediction) === squadNormalize(groundTruth) ? 1 : 0;
}

/** Token-multiset F1 of the normalised strings; 0 when no token is shared (also when both are empty). */
export function squadF1(prediction: string, groundTruth: string): number {
  const p = pySplit(squadNormalize(prediction));
  const g = pySplit(squadNormalize(groundTruth));
  const counts = new Map<string, number>();
  for (const t of g) counts.set(t, (counts.get(t) ?? 0) + 1);
  let same = 0;
  for (const t of p) {
    const c = counts.get(t);
    if (c) {
      same++;
      counts.set(t, c - 1);
    }
  }
  if (same === 0) return 0;
  const precision = (1.0 * same) / p.length;
  const recall = (1.0 * same) / g.length;
  return (2 * precision * recall) / (precision + recall);
}

function maxOver(groundTruths: readonly string[], f: (gt: string) => number): number {
  if (groundTruths.length === 0) throw new Error("SQuAD metrics need at least one ground truth");
  let best = -Infinity;
  for (const gt of groundTruths) best = Math.max(best, f(gt));
  return best;
}

/** `metric_max_over_ground_truths(exact_match_score, ...)`. */
export function squadExactMatchMulti(prediction: string, groundTruths: readonly string[]): number {
  return maxOver(groundTruths, (gt) => squadExactMatch(prediction, gt));
}

/** `metric_max_over_ground_truths(f1_score, ...)`. */
export function squadF1Multi(prediction: string, groundTruths: readonly string[]): number {
  return maxOver(groundTruths, (gt) => squadF1(prediction, gt));
}

export interface SquadCorpusScore {
  /** 100 × mean exact match. */
  exactMatch: number;
  /** 100 × mean F1. */
  f1: number;
}

/** Corpus level as `evaluate-v1.1.py` prints it: 100 × the mean over items. */
export function squadCorpus(
  predictions: readonly string[],
  references: readonly (readonly string[])[],
): SquadCorpusScore {
  if (predictions.length !== references.length)
    throw new Error("predictions and references must have the same length");
  if (predictions.length === 0) throw new Error("SQuAD corpus score needs at least one item");
  let em = 0;
  let f1 = 0;
  for (let i = 0; i < predictions.length; i++) {
    em += squadExactMatchMulti(predictions[i], references[i]);
    f1 += squadF1Multi(predictions[i], references[i]);
  }
  return { exactMatch: (100.0 * em) / predictions.length, f1: (100.0 * f1) / predictions.length };
}
