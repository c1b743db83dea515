/**
 * Multiple-comparison adjusted p-values with statsmodels multipletests semantics: results in the
 * original order, monotone in the sorted order, capped at 1. NaN p-values stay NaN and do not count
 * toward the number of tests.
 */

function validIndices(pvalues: ArrayLike<number>): number[] {
  const idx: number[] = [];
  for (let i = 0; i < pvalues.length; i++) {
    const p = pvalues[i];
    if (Number.isNaN(p)) continue;
    if (p < 0 || p > 1) throw new RangeError(`p-value out of [0, 1]: ${p}`);
    idx.push(i);
  }
  // Stable sort: ties keep input order (the adjusted values of ties are equal either way).
  return idx.sort((x, y) => pvalues[x] - pvalues[y]);
}

/** Bonferroni: min(1, m·p). */
export function bonferroni(pvalues: ArrayLike<number>): number[] {
  const order = validIndices(pvalues);
  const m = order.length;
  const out = Array.from(pvalues, () => Number.NaN);
  for (const i of order) out[i] = Math.min(1, pvalues[i] * m);
  return out;
}

/**
 * Holm step-down: for ascending p₍ⱼ₎ (j = 0..m−1), adjusted = max_{i<=j} min(1, (m − i)·p₍ᵢ₎).
 * Controls the family-wise error rate.
 */
export function holm(pvalues: ArrayLike<number>): number[] {
  const order = validIndices(pvalues);
  const m = order.length;
  const out = Array.from(pvalues, () => Number.NaN);
  let running = 0;
  for (let j = 0; j < m; j++) {
    const i = order[j];
    running = Math.max(running, (m - j) * pvalues[i]);
    out[i] = Math.min(1, running);
  }
  return out;
}

/**
 * Benjamini–Hochberg step-up: for ascending p₍ⱼ₎ (rank j + 1), adjusted = min_{i>=j} min(1, m·p₍ᵢ₎/(i + 1)).
 * Controls the false discovery rate under independence or positive dependence.
 */
export function benjaminiHochberg(pvalues: ArrayLike<number>): number[] {
  const order = validIndices(pvalues);
  const m = order.length;
  const out = Array.from(pvalues, () => Number.NaN);
  let running = Number.POSITIVE_INFINITY;
  for (let j = m - 1; j >= 0; j--) {
    const i = order[j];
    running = Math.min(running, pvalues[i] / ((j + 1) / m)); // statsmodels: p / ecdf factor
    out[i] = Math.min(1, running);
  }
  return out;
}

/** Adjusted p-values by method name, plus which hypotheses are rejected at alpha. */
export function adjustPValues(
  pvalues: ArrayLike<number>,
  method: "holm" | "bh" | "bonferroni" = "holm",
  alpha = 0.05,
): { adjusted: number[]; reject: boolean[] } {
  const adjusted =
    method === "holm" ? holm(pvalues) : method === "bh" ? benjaminiHochberg(pvalues) : bonferroni(pvalues);
  return { adjusted, reject: adjusted.map((p) => p <= alpha) };
}
