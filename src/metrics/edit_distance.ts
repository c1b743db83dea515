/** Levenshtein distance over Unicode code points (not UTF-16 units), and the normalised similarity. */

function codePoints(s: string): Int32Array {
  const out = new Int32Array(s.length);
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.codePointAt(i)!;
    out[n++] = c;
    if (c > 0xffff) i++;
  }
  return out.subarray(0, n);
}

function distance(a: ArrayLike<unknown>, b: ArrayLike<unknown>): number {
  if (a.length < b.length) [a, b] = [b, a];
  const m = b.length;
  if (m === 0) return a.length;
  // One row of the DP table, indexed by positions in the shorter sequence.
  const row = new Int32Array(m + 1);
  for (let j = 0; j <= m; j++) row[j] = j;
  for (let i = 1; i <= a.length; i++) {
    const ai = a[i - 1];
    let diag = row[0];
    row[0] = i;
    for (let j = 1; j <= m; j++) {
      const up = row[j];
      const sub = diag + (ai === b[j - 1] ? 0 : 1);
      const del = up + 1;
      const ins = row[j - 1] + 1;
      row[j] = sub < del ? Math.min(sub, ins) : Math.min(del, ins);
      diag = up;
    }
  }
  return row[m];
}

/** Minimum number of code-point insertions, deletions and substitutions turning `a` into `b`. */
export function levenshtein(a: string, b: string): number {
  return distance(codePoints(a), codePoints(b));
}

/** Levenshtein distance over arbitrary token sequences (compared with `===`). */
export function levenshteinTokens<T>(a: readonly T[], b: readonly T[]): number {
  return distance(a, b);
}

/** `1 - d / max(len(a), len(b))` in code points; 1 when both strings are empty. */
export function editSimilarity(a: string, b: string): number {
  const ca = codePoints(a);
  const cb = codePoints(b);
  const longest = Math.max(ca.length, cb.length);
  if (longest === 0) return 1;
  return 1 - distance(ca, cb) / longest;
}
