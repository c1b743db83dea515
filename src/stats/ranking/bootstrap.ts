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
  /**
   * Starting point for the full-data fit, e.g. β of a fit already made on the same matchups
   * (in model order); the fit then only confirms convergence.
   */
  start?: ArrayLike<number>;
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

// ---------------------------------------------------------------------------------------------
// Binomial draws for the multinomial resampling

// log(k!) − [log √(2π) + (k + ½)·log(k + 1) − (k + 1)] for k < 10 (Hörmann's fc table).
const STIRLING_TAIL = [
  0.0810614667953272, 0.0413406959554092, 0.0276779256849983, 0.02079067210376509, 0.0166446911898211,
  0.0138761288230707, 0.0118967099458917, 0.010411265261972, 0.00925546218271273, 0.00833056343336287,
];

function stirlingTail(k: number): number {
  if (k < 10) return STIRLING_TAIL[k];
  const k1 = k + 1;
  const k1sq = k1 * k1;
  return (1 / 12 - (1 / 360 - 1 / 1260 / k1sq) / k1sq) / k1;
}

/**
 * Binomial(n, p) draw: Hörmann's BTRS transformed rejection (1993; as in TensorFlow and PyTorch)
 * when n·min(p, 1 − p) ≥ 10, about 1.2 pairs of uniforms per draw whatever n; exact inversion
 * (Rng.binomial) below that.
 */
export function binomialDraw(rng: Rng, n: number, p: number): number {
  if (n <= 0 || !(p > 0)) return 0;
  if (p >= 1) return n;
  const flip = p > 0.5;
  const q = flip ? 1 - p : p;
  let k: number;
  if (n * q < 10) k = rng.binomial(n, q);
  else {
    const spq = Math.sqrt(n * q * (1 - q));
    const b = 1.15 + 2.53 * spq;
    const a = -0.0873 + 0.0248 * b + 0.01 * q;
    const c = n * q + 0.5;
    const vr = 0.92 - 4.2 / b;
    const r = q / (1 - q);
    const alpha = (2.83 + 5.1 / b) * spq;
    const m = Math.floor((n + 1) * q);
    for (;;) {
      const u = rng.uniform() - 0.5;
      let v = rng.uniform();
      const us = 0.5 - Math.abs(u);
      k = Math.floor(((2 * a) / us + b) * u + c);
      if (k < 0 || k > n) continue;
      if (us >= 0.07 && v <= vr) break;
      v = Math.log((v * alpha) / (a / (us * us) + b));
      const bound =
        (m + 0.5) * Math.log((m + 1) / (r * (n - m + 1))) +
        (n + 1) * Math.log((n - m + 1) / (n - k + 1)) +
        (k + 0.5) * Math.log((r * (n - k + 1)) / (k + 1)) +
        stirlingTail(m) +
        stirlingTail(n - m) -
        stirlingTail(k) -
        stirlingTail(n - k);
      if (v <= bound) break;
    }
  }
  return flip ? n - k : k;
}

/**
 * One Multinomial(draws, w/Σw) sample into `out` (same length as w), as conditional binomials
 * over the entries: O(length) draws, not O(draws). Entries with w ≤ 0 get 0.
 */
export function drawMultinomial(rng: Rng, w: ArrayLike<number>, draws: number, out: Float64Array): void {
  const K = w.length;
  let mass = 0;
  for (let k = 0; k < K; k++) if (w[k] > 0) mass += w[k];
  let last = K - 1;
  while (last > 0 && !(w[last] > 0)) last--;
  let left = draws;
  for (let k = 0; k < K; k++) {
    if (left === 0 || k >= last || !(w[k] > 0)) {
      out[k] = k === last ? left : 0;
      if (k === last) left = 0;
      continue;
    }
    const c = binomialDraw(rng, left, Math.min(1, Math.max(0, w[k] / mass)));
    out[k] = c;
    left -= c;
    mass -= w[k];
  }
}

// ---------------------------------------------------------------------------------------------
// Newton on unordered pairs (the bootstrap's inner solver)

/**
 * Bradley–Terry on per-pair sufficient statistics: for each unordered pair (i, j), total weight W
 * and S = the weight-sum of i's score (win 1, tie ½). The likelihood of all rows of a pair only
 * depends on W and S, so a replicate costs one exp and one log1p per pair (≤ n(n−1)/2) instead
 * of per row. The Newton system drops one reference model per component (its step is 0), so the
 * reduced Hessian is positive definite and factors by Cholesky; all buffers are allocated once.
 */
class PairSolver {
  private readonly R: number;
  private readonly red: Int32Array;
  private readonly g: Float64Array;
  private readonly gT: Float64Array;
  private readonly H: Float64Array;
  private readonly HT: Float64Array;
  private readonly step: Float64Array;
  private readonly trial: Float64Array;
  private readonly compSum: Float64Array;
  private readonly compSize: Float64Array;

  constructor(
    private readonly n: number,
    private readonly pi: Int32Array,
    private readonly pj: Int32Array,
    private readonly comp: Int32Array,
    count: number,
    private readonly alpha: number,
  ) {
    // Reduced index of every model; −1 for the first model of each component (the reference).
    this.red = new Int32Array(n).fill(-1);
    const hasRef = new Uint8Array(count);
    let R = 0;
    for (let i = 0; i < n; i++) {
      if (!hasRef[comp[i]]) hasRef[comp[i]] = 1;
      else this.red[i] = R++;
    }
    this.R = R;
    this.g = new Float64Array(n);
    this.gT = new Float64Array(n);
    this.H = new Float64Array(R * R);
    this.HT = new Float64Array(R * R);
    this.step = new Float64Array(n);
    this.trial = new Float64Array(n);
    this.compSum = new Float64Array(count);
    this.compSize = new Float64Array(count);
    for (let i = 0; i < n; i++) this.compSize[comp[i]]++;
  }

  /** f(q) = Σ_pairs S·softplus(−d) + (W − S)·softplus(d), d = α(q_i − q_j); gradient and reduced Hessian into g, H. */
  private evaluate(
    q: Float64Array,
    W: Float64Array,
    S: Float64Array,
    g: Float64Array,
    H: Float64Array,
  ): number {
    const { pi, pj, red, alpha, R } = this;
    g.fill(0);
    H.fill(0);
    const a2 = alpha * alpha;
    let f = 0;
    for (let p = 0; p < pi.length; p++) {
      const w = W[p];
      if (w === 0) continue;
      const i = pi[p];
      const j = pj[p];
      const s = S[p];
      const d = alpha * (q[i] - q[j]);
      const e = Math.exp(-Math.abs(d));
      const l = Math.log1p(e);
      f += d >= 0 ? s * l + (w - s) * (d + l) : s * (l - d) + (w - s) * l;
      const sig = d >= 0 ? 1 / (1 + e) : e / (1 + e);
      const gr = alpha * (w * sig - s);
      g[i] += gr;
      g[j] -= gr;
      const h = (a2 * w * e) / ((1 + e) * (1 + e));
      const ri = red[i];
      const rj = red[j];
      if (ri >= 0) {
        H[ri * R + ri] += h;
        if (rj >= 0) {
          H[ri * R + rj] -= h;
          H[rj * R + ri] -= h;
        }
      }
      if (rj >= 0) H[rj * R + rj] += h;
    }
    return f;
  }

  /**
   * Minimises from `start` into `out` (Σβ = 0 per component); false when Newton stalls before the
   * gradient tolerance (the caller then falls back to the general solver).
   */
  solve(
    W: Float64Array,
    S: Float64Array,
    start: Float64Array,
    out: Float64Array,
    tol: number,
    looseTol: number,
    maxIter: number,
  ): boolean {
    const { n, R, red, step, trial, comp } = this;
    let g = this.g;
    let gT = this.gT;
    let H = this.H;
    let HT = this.HT;
    out.set(start);
    let f = this.evaluate(out, W, S, g, H);
    let gmax = maxAbs(g);
    let converged = gmax <= tol;
    for (let it = 0; !converged && it < maxIter; it++) {
      // H ← L (lower Cholesky factor, in place); H itself is not needed again.
      if (!cholesky(H, R)) break;
      for (let i = 0; i < n; i++) step[i] = 0;
      const x = trial; // scratch: the reduced right-hand side, then the reduced step
      for (let i = 0; i < n; i++) if (red[i] >= 0) x[red[i]] = -g[i];
      choleskySolveInPlace(H, R, x);
      for (let i = 0; i < n; i++) if (red[i] >= 0) step[i] = x[red[i]];
      let slope = 0;
      for (let i = 0; i < n; i++) slope += g[i] * step[i];
      const tiny = -slope <= 1e-14 * Math.max(1, Math.abs(f));
      let t = 1;
      let fTrial = Number.POSITIVE_INFINITY;
      let accepted = false;
      for (let ls = 0; ls < 60; ls++) {
        for (let i = 0; i < n; i++) trial[i] = out[i] + t * step[i];
        fTrial = this.evaluate(trial, W, S, gT, HT);
        if (tiny || fTrial <= f + 1e-4 * t * slope) {
          accepted = true;
          break;
        }
        t /= 2;
      }
      if (!accepted) break;
      const newG = maxAbs(gT);
      if (tiny && newG >= gmax) break; // rounding floor: keep the better point
      out.set(trial);
      [g, gT] = [gT, g];
      [H, HT] = [HT, H];
      f = fTrial;
      gmax = newG;
      converged = gmax <= tol;
    }
    // As solveBradleyTerry: at the rounding floor, a gradient within looseTol counts as converged.
    if (!converged) converged = gmax <= Math.max(tol, looseTol);
    const sum = this.compSum.fill(0);
    for (let i = 0; i < n; i++) sum[comp[i]] += out[i];
    for (let i = 0; i < n; i++) out[i] -= sum[comp[i]] / this.compSize[comp[i]];
    return converged;
  }
}

function maxAbs(v: Float64Array): number {
  let mx = 0;
  for (let i = 0; i < v.length; i++) {
    const x = Math.abs(v[i]);
    if (x > mx) mx = x;
  }
  return mx;
}

/** In-place lower Cholesky of the N×N SPD matrix A (row-major). False if not SPD. */
function cholesky(A: Float64Array, N: number): boolean {
  for (let j = 0; j < N; j++) {
    const rj = j * N;
    let d = A[rj + j];
    for (let k = 0; k < j; k++) d -= A[rj + k] * A[rj + k];
    if (!(d > 0)) return false;
    d = Math.sqrt(d);
    A[rj + j] = d;
    for (let i = j + 1; i < N; i++) {
      const ri = i * N;
      let s = A[ri + j];
      for (let k = 0; k < j; k++) s -= A[ri + k] * A[rj + k];
      A[ri + j] = s / d;
    }
  }
  return true;
}

/** Solves L·Lᵀ·x = b in place (b in x). */
function choleskySolveInPlace(L: Float64Array, N: number, x: Float64Array): void {
  for (let i = 0; i < N; i++) {
    let s = x[i];
    const ri = i * N;
    for (let k = 0; k < i; k++) s -= L[ri + k] * x[k];
    x[i] = s / L[ri + i];
  }
  for (let i = N - 1; i >= 0; i--) {
    let s = x[i];
    for (let k = i + 1; k < N; k++) s -= L[k * N + i] * x[k];
    x[i] = s / L[i * N + i];
  }
}

/**
 * Bootstrap percentile intervals: each replicate draws round(Σw) battles from the unique rows
 * with probability ∝ count (a multinomial over rows, as FastChat: conditional binomials), refits
 * from the full-data optimum and, like FastChat, applies the anchor per replicate. Requires a
 * finite MLE on the full data. A replicate whose beat-or-tied support per pair equals the full
 * data's (so the MLE exists, same components) is solved on per-pair totals; any other replicate
 * goes through the existence check and the general solver.
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
  const { comp, count } = componentIds(m);
  let total = 0;
  for (let k = 0; k < K; k++) total += m.w[k];
  const draws = Math.round(total);
  if (draws < 1) throw new UserError("no battles to resample", { field: "battles" });
  const gradTol = opts.gradTol ?? 1e-13;
  const maxIter = opts.maxIter ?? 100;

  const anchorIdx = opts.anchor && count === 1 ? m.models.indexOf(opts.anchor.model) : -1;
  const toRatings = (beta: Float64Array, r: Float64Array): void => {
    for (let i = 0; i < n; i++) r[i] = scale * beta[i] + init;
    if (anchorIdx >= 0) {
      const shift = opts.anchor!.rating - r[anchorIdx];
      for (let i = 0; i < n; i++) r[i] += shift;
    }
  };
  // Ratings of the replicates with a finite MLE, one row of n per kept replicate.
  const samples = new Float64Array(rounds * n);
  let kept = 0;
  const keep = (beta: Float64Array): void => {
    toRatings(beta, samples.subarray(kept * n, (kept + 1) * n));
    kept++;
  };

  const start = opts.start ? Float64Array.from(opts.start) : undefined;
  const full = solveBradleyTerry(m, { alpha, start, gradTol, maxIter });
  const point = new Float64Array(n);
  toRatings(full.beta, point);

  // Unordered pairs: row k adds its count to W[pairOf[k]] and count·y (oriented to pi) to S.
  const pairIndex = new Map<number, number>();
  const pairOf = new Int32Array(K);
  const yOriented = new Float64Array(K);
  const piList: number[] = [];
  const pjList: number[] = [];
  for (let k = 0; k < K; k++) {
    const a = m.a[k];
    const b = m.b[k];
    const lo = Math.min(a, b);
    const hi = Math.max(a, b);
    const key = lo * n + hi;
    let p = pairIndex.get(key);
    if (p === undefined) {
      p = piList.length;
      pairIndex.set(key, p);
      piList.push(lo);
      pjList.push(hi);
    }
    pairOf[k] = p;
    yOriented[k] = a === lo ? m.y[k] : 1 - m.y[k];
  }
  const P = piList.length;
  const solver = new PairSolver(n, Int32Array.from(piList), Int32Array.from(pjList), comp, count, alpha);
  const W = new Float64Array(P);
  const S = new Float64Array(P);
  // Support of the full data per pair: bit 1 = lo beat or tied hi, bit 2 = hi beat or tied lo.
  const fullSupport = new Uint8Array(P);
  for (let k = 0; k < K; k++) {
    if (!(m.w[k] > 0)) continue;
    const y = yOriented[k];
    fullSupport[pairOf[k]] |= (y > 0 ? 1 : 0) | (y < 1 ? 2 : 0);
  }
  const support = new Uint8Array(P);
  const beta = new Float64Array(n);

  const rng = new Rng(opts.seed ?? 0);
  const counts = new Float64Array(K);
  const rep: Matchups = { models: m.models, a: m.a, b: m.b, y: m.y, w: counts };
  let failed = 0;
  const tol = gradTol * draws;
  for (let r = 0; r < rounds; r++) {
    drawMultinomial(rng, m.w, draws, counts);
    W.fill(0);
    S.fill(0);
    support.fill(0);
    for (let k = 0; k < K; k++) {
      const c = counts[k];
      if (c === 0) continue;
      const p = pairOf[k];
      const y = yOriented[k];
      W[p] += c;
      S[p] += c * y;
      support[p] |= (y > 0 ? 1 : 0) | (y < 1 ? 2 : 0);
    }
    let sameSupport = true;
    for (let p = 0; p < P; p++)
      if (support[p] !== fullSupport[p]) {
        sameSupport = false;
        break;
      }
    if (sameSupport && solver.solve(W, S, full.beta, beta, tol, 1e-9 * draws, maxIter)) {
      keep(beta);
      continue;
    }
    // General path: weights as fractions of the draws (FastChat), existence check, full solver.
    for (let k = 0; k < K; k++) counts[k] /= draws;
    if (!checkMleExistence(rep).exists) {
      failed++;
      continue;
    }
    keep(solveBradleyTerry(rep, { alpha, start: full.beta, gradTol, maxIter }).beta);
  }

  const tail = ((1 - confidence) / 2) * 100;
  const lower: Record<string, number> = {};
  const upper: Record<string, number> = {};
  const median: Record<string, number> = {};
  const col = new Float64Array(kept);
  m.models.forEach((model, i) => {
    for (let r = 0; r < kept; r++) col[r] = samples[r * n + i];
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
  if (opts.keepSamples)
    result.samples = Array.from({ length: kept }, (_, r) => samples.slice(r * n, (r + 1) * n));
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
