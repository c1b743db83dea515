/**
 * Power analysis for accuracy comparisons (normal approximations, two-sided tests):
 * - unpaired: two independent proportions (each system on its own sample), per-group size;
 * - paired: McNemar on the same items (Connor 1987), driven by the discordance rate
 *   ψ = P(systems disagree) and the accuracy delta δ = p10 − p01.
 */
import { normalCdf, normalPpf } from "./distributions.js";

export interface PowerOptions {
  /** Two-sided significance level (default 0.05). */
  alpha?: number;
  /** Target power 1 − β (default 0.8). */
  power?: number;
}

function zValues(options: PowerOptions): { za: number; zb: number } {
  const alpha = options.alpha ?? 0.05;
  const power = options.power ?? 0.8;
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  if (!(power > 0 && power < 1)) throw new RangeError(`power must be in (0, 1), got ${power}`);
  return { za: -normalPpf(alpha / 2), zb: normalPpf(power) };
}

function checkUnpaired(baseline: number, delta: number): void {
  const p2 = baseline + delta;
  if (!(baseline > 0 && baseline < 1) || !(p2 > 0 && p2 < 1) || delta === 0)
    throw new RangeError(`need 0 < baseline, baseline + delta < 1 and delta != 0`);
}

/**
 * Samples per group to detect accuracy baseline → baseline + delta with two independent samples:
 * n = [z_{α/2}·√(2p̄q̄) + z_β·√(p₁q₁ + p₂q₂)]² / δ² (Fleiss, no continuity correction), rounded up.
 * E.g. baseline 0.52, delta 0.02, α 0.05, power 0.8 → 9,775 per group.
 */
export function sampleSizeTwoProportions(
  baseline: number,
  delta: number,
  options: PowerOptions = {},
): number {
  checkUnpaired(baseline, delta);
  const { za, zb } = zValues(options);
  const p1 = baseline;
  const p2 = baseline + delta;
  const pbar = (p1 + p2) / 2;
  const root = za * Math.sqrt(2 * pbar * (1 - pbar)) + zb * Math.sqrt(p1 * (1 - p1) + p2 * (1 - p2));
  return Math.ceil((root * root) / (delta * delta) - 1e-9);
}

/** Power of the two-proportion z-test with n per group (normal approximation, far tail ignored). */
export function powerTwoProportions(baseline: number, delta: number, n: number, alpha = 0.05): number {
  checkUnpaired(baseline, delta);
  const za = -normalPpf(alpha / 2);
  const p1 = baseline;
  const p2 = baseline + delta;
  const pbar = (p1 + p2) / 2;
  const num = Math.abs(delta) * Math.sqrt(n) - za * Math.sqrt(2 * pbar * (1 - pbar));
  return normalCdf(num / Math.sqrt(p1 * (1 - p1) + p2 * (1 - p2)));
}

/** Solves f(δ) = target for δ in (0, hi] by bisection, f increasing. */
function solveIncreasing(f: (d: number) => number, target: number, hi: number): number {
  let lo = 0;
  if (f(hi) < target) return Number.NaN;
  for (let i = 0; i < 200 && hi - lo > 1e-15 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (f(mid) < target) lo = mid;
    else hi = mid;
  }
  return hi;
}

/**
 * Minimum detectable (upward) effect δ for n per group: the δ at which the two-proportion test reaches
 * the target power (inverse of sampleSizeTwoProportions without rounding). NaN if even δ → 1 − baseline
 * does not reach it.
 */
export function minimumDetectableEffectTwoProportions(
  baseline: number,
  n: number,
  options: PowerOptions = {},
): number {
  const power = options.power ?? 0.8;
  zValues(options);
  if (!(baseline > 0 && baseline < 1) || !(n > 0)) throw new RangeError("need 0 < baseline < 1 and n > 0");
  const alpha = options.alpha ?? 0.05;
  const hi = (1 - baseline) * (1 - 1e-12);
  return solveIncreasing((d) => powerTwoProportions(baseline, d, n, alpha), power, hi);
}

function checkPaired(discordance: number, delta: number): void {
  if (!(discordance > 0 && discordance <= 1)) throw new RangeError(`discordance must be in (0, 1]`);
  if (!(Math.abs(delta) < discordance) || delta === 0)
    throw new RangeError(`need 0 < |delta| < discordance (delta = p10 − p01, discordance = p10 + p01)`);
}

/**
 * Items for a paired comparison (McNemar, normal approximation; Connor 1987):
 * n = [z_{α/2}·√ψ + z_β·√(ψ − δ²)]² / δ², rounded up, with ψ the discordance rate.
 * E.g. ψ = 0.1, δ = 0.02, α 0.05, power 0.8 → 1,960 items.
 */
export function sampleSizePaired(discordance: number, delta: number, options: PowerOptions = {}): number {
  checkPaired(discordance, delta);
  const { za, zb } = zValues(options);
  const root = za * Math.sqrt(discordance) + zb * Math.sqrt(discordance - delta * delta);
  return Math.ceil((root * root) / (delta * delta) - 1e-9);
}

/** Power of the paired (McNemar) test with n items (normal approximation). */
export function powerPaired(discordance: number, delta: number, n: number, alpha = 0.05): number {
  checkPaired(discordance, delta);
  const za = -normalPpf(alpha / 2);
  const num = Math.abs(delta) * Math.sqrt(n) - za * Math.sqrt(discordance);
  return normalCdf(num / Math.sqrt(discordance - delta * delta));
}

/** Minimum detectable δ for a paired comparison on n items with discordance rate ψ (NaN if none < ψ). */
export function minimumDetectableEffectPaired(
  discordance: number,
  n: number,
  options: PowerOptions = {},
): number {
  const power = options.power ?? 0.8;
  zValues(options);
  if (!(discordance > 0 && discordance <= 1) || !(n > 0))
    throw new RangeError("need 0 < discordance <= 1, n > 0");
  const alpha = options.alpha ?? 0.05;
  const hi = discordance * (1 - 1e-12);
  return solveIncreasing((d) => powerPaired(discordance, d, n, alpha), power, hi);
}
