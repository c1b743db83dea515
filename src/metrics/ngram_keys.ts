/**
 * N-grams of integer token ids as keys, for the metrics that count them per segment (NLTK BLEU,
 * ROUGE-N): sorted numeric keys (base-`base` digits) when every key fits below 2^53, which are compared
 * by merging two sorted arrays; string-keyed counts otherwise.
 */

/** Counts of each n-gram of `ids`, keyed by its ids joined with ",". */
export function ngramCounts(ids: Int32Array, n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= ids.length; i++) {
    const key = Array.prototype.join.call(ids.subarray(i, i + n), ",");
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** Sorted numeric n-gram keys, or null when base^n could exceed 2^53 and keys would collide. */
export function sortedNgramKeys(ids: Int32Array, n: number, base: number): Float64Array | null {
  if (n * Math.log2(Math.max(base, 2)) >= 52) return null;
  const len = Math.max(0, ids.length - n + 1);
  const out = new Float64Array(len);
  for (let i = 0; i < len; i++) {
    let k = 0;
    for (let j = 0; j < n; j++) k = k * base + ids[i + j];
    out[i] = k;
  }
  return out.sort();
}
