/**
 * Bootstrap confidence intervals for Bradley–Terry ratings (FastChat `compute_bootstrap_bt`:
 * multinomial resampling of the unique (pair, outcome) counts), the Arena rank rule, and
 * style control (extra covariates such as the length difference in the logistic model).
 */
import { UserError } from "../../util/errors.js";
import { Rng, type Seed } from "../rng.js";
import { type Battle, BattleAggregator, compareNames, type Matchups } from "./battles.js";
import { type BTOptions, checkMleExistence, componentIds, solveBradleyTerry } from "./bradley_terry.js";

/** numpy.percentile with the default linear interpolation; `sorted` ascending. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const pos = (q / 100) * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  const frac = pos - lo;
  return frac === 0 ? sorted[lo] : sorted[lo] + frac * (sorted[hi] - sorted[lo]);
}

/**
 * Arena's rank: 1 + the number of models whose lower bound is above this model's upper bound
 * (so models with overlapping intervals share a rank).
 */
export function ranksFromIntervals(
  lower: Record<string, number>,
  upper: Record<string, number>,
): Record<string, number> {
  const models = Object.keys(upper);
  return Object.fromEntries(models.map((m) => [m, 1 + models.filter((o) => lower[o] > upper[m]).length]));
}

export interface BootstrapOptions extends BTOptions {
  /** Number of bootstrap replicates (default 100). */
  rounds?: number;
  /** PRNG seed (default 0); see src/stats/rng.ts. Not numpy-compatible: intervals are reproducible, not FastChat's. */
  seed?: Seed;
  /** Central interval mass (default 0.95: 2.5th and 97.5th percentiles). */
  confidence?: number;
  /** Keep every replicate's ratings in the result (default false). */
  keepSamples?: boolean;
}

export interface BootstrapResult {
  models: string[];
  /** Point estimate: the fit on the full data (anchored if an anchor applies). */
  ratings: Record<string, number>;
  lower: Record<string, number>;
  upper: Record<string, number>;
  median: Record<string, number>;
  /** 1 + #{models whose lower bound > this model's upper bound}. */
  rank: Record<string, number>;
  rounds: number;
  /** Replicates without a finite MLE; they are left out of the intervals. */
  failedRounds: number;
  /** rounds × models ratings (only with keepSamples). */
  samples?: Float64Array[];
}

/**
 * Bootstrap percentile intervals: each replicate draws round(Σw) battles from the unique rows
 * with probability ∝ count (a multinomial over rows, as FastChat), refits from the full-data optimum and,
 * like FastChat, applies the anchor per replicate. Requires a finite MLE on the full data.
 */
export function bootstrapBradleyTerry(m: Matchups, opts: BootstrapOptions = {}): BootstrapResult {
  const rounds = opts.rounds ?? 100;
  const confidence = opts.confidence ?? 0.95;
  const base = opts.base ?? 10;
  const scale = opts.scale ?? 400;
  const init = opts.initRating ?? 1000;
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new UserError("rounds must be a positive integer", { field: "rounds" });
  if (!(confidence > 0 && confidence < 1))
    throw new UserError("confidence must be in (0, 1)", { field: "confidence" });
  const existence = checkMleExistence(m);
  if (!existence.exists) throw new UserError(existence.message, { field: "battles" });
  const alpha = Math.log(base);
  const n = m.models.length;
  const K = m.a.length;
  const { count } = componentIds(m);
  let total = 0;
  for (let k = 0; k < K; k++) total += m.w[k];
  const draws = Math.round(total);
  if (draws < 1) throw new UserError("no battles to resample", { field: "battles" });

  const anchorIdx = opts.anchor && count === 1 ? m.models.indexOf(opts.anchor.model) : -1;
  const toRatings = (beta: Float64Array): Float64Array => {
    const r = Float64Array.from(beta, (b) => scale * b + init);
    if (anchorIdx >= 0) {
      const shift = opts.anchor!.rating - r[anchorIdx];
      for (let i = 0; i < n; i++) r[i] += shift;
    }
    return r;
  };

  const full = solveBradleyTerry(m, { alpha, gradTol: opts.gradTol, maxIter: opts.maxIter });
  const point = toRatings(full.beta);
  const rng = new Rng(opts.seed ?? 0);
  const counts = new Float64Array(K);
  const rep: Matchups = { models: m.models, a: m.a, b: m.b, y: m.y, w: counts };
  const samples: Float64Array[] = [];
  let failed = 0;
  let last = K - 1;
  while (last > 0 && !(m.w[last] > 0)) last--;
  for (let r = 0; r < rounds; r++) {
    // Multinomial(draws, w/Σw) as conditional binomials over the rows: O(K·√count), not O(draws).
    let left = draws;
    let mass = total;
    for (let k = 0; k < K; k++) {
      if (left === 0 || k >= last || !(m.w[k] > 0)) {
        counts[k] = k === last ? left : 0;
        if (k === last) left = 0;
        continue;
      }
      const c = rng.binomial(left, Math.min(1, Math.max(0, m.w[k] / mass)));
      counts[k] = c;
      left -= c;
      mass -= m.w[k];
    }
    for (let k = 0; k < K; k++) counts[k] /= draws;
    if (!checkMleExistence(rep).exists) {
      failed++;
      continue;
    }
    const fit = solveBradleyTerry(rep, {
      alpha,
      start: full.beta,
      gradTol: opts.gradTol,
      maxIter: opts.maxIter,
    });
    samples.push(toRatings(fit.beta));
  }

  const tail = ((1 - confidence) / 2) * 100;
  const lower: Record<string, number> = {};
  const upper: Record<string, number> = {};
  const median: Record<string, number> = {};
  const col = new Float64Array(samples.length);
  m.models.forEach((model, i) => {
    samples.forEach((s, r) => {
      col[r] = s[i];
    });
    col.sort();
    lower[model] = percentile(col, tail);
    upper[model] = percentile(col, 100 - tail);
    median[model] = percentile(col, 50);
  });
  const result: BootstrapResult = {
    models: m.models,
    ratings: Object.fromEntries(m.models.map((model, i) => [model, point[i]])),
    lower,
    upper,
    median,
    rank: ranksFromIntervals(lower, upper),
    rounds,
    failedRounds: failed,
  };
  if (opts.keepSamples) result.samples = samples;
  return result;
}

// ---------------------------------------------------------------------------------------------
// Style control

export interface StyleControlInput {
  battles: Battle[];
  /** Per battle, the style values of model_a's answer (e.g. [tokens, headers, lists, bold]). */
  styleA: readonly (readonly number[])[];
  /** Per battle, the style values of model_b's answer. */
  styleB: readonly (readonly number[])[];
  /** Names of the style features (default feature_0, …). */
  names?: string[];
  /**
   * Per feature: true → (a − b)/(a + b + 1), as Arena does for every default element;
   * false → plain a − b. Default all true.
   */
  ratio?: boolean[];
}

export interface StyleControlOptions extends BTOptions {
  /** Ridge on all parameters, FastChat's `reg` (loss + reg/2·||params||², default 0.5). */
  reg?: number;
}

export interface StyleControlResult {
  models: string[];
  /** Style-adjusted ratings: scale·β + init (Σβ = 0 per component), anchored if asked. */
  ratings: Record<string, number>;
  beta: Record<string, number>;
  /** Coefficient of each standardised style feature (logit units). */
  coefficients: Record<string, number>;
  /** Mean and (population) standard deviation used to standardise each feature. */
  featureMean: Record<string, number>;
  featureStd: Record<string, number>;
  converged: boolean;
}

/**
 * Arena style control (FastChat `compute_style_control`): logit = ln(base)(β_a − β_b) + θ·x with
 * x the standardised style differences of the two answers, one row per battle, ridge `reg`.
 */
export function fitStyleControl(
  input: StyleControlInput,
  opts: StyleControlOptions = {},
): StyleControlResult {
  const { battles, styleA, styleB } = input;
  const N = battles.length;
  if (styleA.length !== N || styleB.length !== N)
    throw new UserError("styleA and styleB need one entry per battle", { field: "styleA/styleB" });
  if (N === 0) throw new UserError("no battles", { field: "battles" });
  const p = styleA[0].length;
  const names = input.names ?? Array.from({ length: p }, (_, j) => `feature_${j}`);
  const ratio = input.ratio ?? names.map(() => true);
  if (names.length !== p || ratio.length !== p)
    throw new UserError(`expected ${p} feature names and ratio flags`, { field: "names/ratio" });
  const reg = opts.reg ?? 0.5;
  const base = opts.base ?? 10;
  const scale = opts.scale ?? 400;
  const init = opts.initRating ?? 1000;

  const models = [...new Set(battles.flatMap((b) => [b.model_a, b.model_b]))].sort(compareNames);
  const idx = new Map(models.map((m, i) => [m, i]));
  const X = new Float64Array(N * p);
  const m: Matchups = {
    models,
    a: new Int32Array(N),
    b: new Int32Array(N),
    y: new Float64Array(N),
    w: new Float64Array(N).fill(1),
  };
  battles.forEach((bt, k) => {
    m.a[k] = idx.get(bt.model_a)!;
    m.b[k] = idx.get(bt.model_b)!;
    m.y[k] = bt.winner === "model_a" ? 1 : bt.winner === "model_b" ? 0 : 0.5;
    const sa = styleA[k];
    const sb = styleB[k];
    if (sa.length !== p || sb.length !== p)
      throw new UserError(`expected ${p} style values`, { field: `styleA/styleB[${k}]` });
    for (let j = 0; j < p; j++) {
      const d = sa[j] - sb[j];
      X[k * p + j] = ratio[j] ? d / (sa[j] + sb[j] + 1) : d;
    }
  });
  const featureMean: Record<string, number> = {};
  const featureStd: Record<string, number> = {};
  for (let j = 0; j < p; j++) {
    let mean = 0;
    for (let k = 0; k < N; k++) mean += X[k * p + j];
    mean /= N;
    let v = 0;
    for (let k = 0; k < N; k++) v += (X[k * p + j] - mean) ** 2;
    const sd = Math.sqrt(v / N);
    if (!(sd > 0)) throw new UserError(`style feature '${names[j]}' is constant`, { field: names[j] });
    for (let k = 0; k < N; k++) X[k * p + j] = (X[k * p + j] - mean) / sd;
    featureMean[names[j]] = mean;
    featureStd[names[j]] = sd;
  }
  if (reg === 0) {
    const ex = checkMleExistence(m);
    if (!ex.exists) throw new UserError(`${ex.message}; use reg > 0`, { field: "reg" });
  }
  const fit = solveBradleyTerry(m, {
    alpha: Math.log(base),
    ridge: reg,
    features: { x: X, p },
    gradTol: opts.gradTol,
    maxIter: opts.maxIter,
  });
  const { count } = componentIds(m);
  let shift = 0;
  if (opts.anchor && count === 1 && idx.has(opts.anchor.model)) {
    shift = opts.anchor.rating - (scale * fit.beta[idx.get(opts.anchor.model)!] + init);
  }
  return {
    models,
    ratings: Object.fromEntries(models.map((mm, i) => [mm, scale * fit.beta[i] + init + shift])),
    beta: Object.fromEntries(models.map((mm, i) => [mm, fit.beta[i]])),
    coefficients: Object.fromEntries(names.map((nm, j) => [nm, fit.theta[j]])),
    featureMean,
    featureStd,
    converged: fit.converged,
  };
}

/** Style control on the answer-length difference only; `lengths[k] = [len_a, len_b]`. */
export function fitLengthControl(
  battles: Battle[],
  lengths: readonly (readonly [number, number])[],
  opts: StyleControlOptions = {},
): StyleControlResult {
  return fitStyleControl(
    {
      battles,
      styleA: lengths.map((l) => [l[0]]),
      styleB: lengths.map((l) => [l[1]]),
      names: ["length"],
    },
    opts,
  );
}

/** Convenience: aggregate battles and bootstrap. */
export function bootstrapBattles(battles: Iterable<Battle>, opts: BootstrapOptions = {}): BootstrapResult {
  const agg = new BattleAggregator();
  for (const b of battles) agg.add(b);
  return bootstrapBradleyTerry(agg.matchups(), opts);
}
