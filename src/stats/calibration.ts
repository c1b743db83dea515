/** Calibration metrics: HELM's equal-mass ECE and the Brier score. */
import { pairwiseSum } from "./descriptive.js";

/**
 * Upper bin edges for equal-mass binning (uncertainty-calibration get_equal_bins): sort, split into
 * B = min(numBins, n) chunks like numpy.array_split (the first n mod B chunks one longer), take the
 * midpoint between neighbouring chunks plus 1.0, and de-duplicate (ties can merge bins).
 */
export function equalMassBinEdges(probs: ArrayLike<number>, numBins = 10): number[] {
  const sorted = Array.from(probs).sort((a, b) => a - b);
  const n = sorted.length;
  const bins = Math.min(numBins, n);
  const base = Math.floor(n / bins);
  const extra = n % bins;
  const edges: number[] = [];
  let start = 0;
  for (let i = 0; i < bins - 1; i++) {
    const size = base + (i < extra ? 1 : 0);
    const last = sorted[start + size - 1];
    const next = sorted[start + size];
    edges.push((last + next) / 2);
    start += size;
  }
  edges.push(1);
  return [...new Set(edges)].sort((a, b) => a - b);
}

/** Number of edges strictly below p (numpy.searchsorted side='left' / bisect_left). */
function binIndex(edges: number[], p: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid] < p) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Expected calibration error with equal-mass bins, exactly HELM's ece_10_bin (uncertainty-calibration
 * 0.1.4 get_ece_em(max_probs, correct, num_bins)): Σ_bins (|bin|/n)·|mean(p) − mean(correct)|.
 * probs are the probabilities of the predicted answers, correct is 0/1 (or boolean).
 */
export function eceEqualMass(
  probs: ArrayLike<number>,
  correct: ArrayLike<number | boolean>,
  numBins = 10,
): number {
  const n = probs.length;
  if (correct.length !== n) throw new RangeError("probs and correct must have the same length");
  if (n === 0) return Number.NaN;
  if (!(numBins >= 1)) throw new RangeError(`numBins must be >= 1, got ${numBins}`);
  for (let i = 0; i < n; i++) {
    if (!(probs[i] >= 0 && probs[i] <= 1)) throw new RangeError(`probability out of [0, 1]: ${probs[i]}`);
  }
  const edges = equalMassBinEdges(probs, numBins);
  // Per bin p − correct, averaged like the reference (numpy mean of the differences).
  const binDiffs: number[][] = edges.map(() => []);
  for (let i = 0; i < n; i++) binDiffs[binIndex(edges, probs[i])].push(probs[i] - (correct[i] ? 1 : 0));
  let ece = 0;
  for (const diffs of binDiffs) {
    if (diffs.length === 0) continue;
    ece += (diffs.length / n) * Math.abs(pairwiseSum(diffs) / diffs.length);
  }
  return ece;
}

/**
 * Brier score. Binary: probs are P(label = 1), labels 0/1, mean((p − y)²) (= sklearn brier_score_loss).
 * Multiclass: probs[i] is a distribution over classes, labels[i] the class index, and the score is the
 * original Brier (1950) mean over items of Σ_k (p_ik − 1[y_i = k])², range 0..2 (not divided by K).
 */
export function brierScore(
  probs: ArrayLike<number> | ArrayLike<ArrayLike<number>>,
  labels: ArrayLike<number | boolean>,
): number {
  const n = probs.length;
  if (labels.length !== n) throw new RangeError("probs and labels must have the same length");
  if (n === 0) return Number.NaN;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const p = probs[i];
    if (typeof p === "number") {
      const d = p - (labels[i] ? 1 : 0);
      total += d * d;
    } else {
      const y = Number(labels[i]);
      if (!Number.isInteger(y) || y < 0 || y >= p.length)
        throw new RangeError(`label ${labels[i]} out of range`);
      let s = 0;
      for (let k = 0; k < p.length; k++) {
        const d = p[k] - (k === y ? 1 : 0);
        s += d * d;
      }
      total += s;
    }
  }
  return total / n;
}
