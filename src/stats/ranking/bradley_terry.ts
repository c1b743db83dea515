/**
 * Bradley–Terry maximum likelihood (Chatbot Arena's `compute_bt` objective), solved to the true
 * optimum with Newton steps instead of FastChat's early-stopped L-BFGS-B, plus the older
 * sklearn logistic-regression formulations, connected components and MLE existence (Ford 1957).
 */
import { UserError } from "../../util/errors.js";
import { type Battle, BattleAggregator, type Matchups } from "./battles.js";

export interface BTOptions {
  /** Odds base (default 10): P(a beats b) = 1 / (1 + base^((R_b - R_a) / scale)). */
  base?: number;
  /** Rating points per unit of β (default 400). */
  scale?: number;
  /** Mean rating of every connected component (default 1000). */
  initRating?: number;
  /** Shift all ratings so that this model gets this rating (only when the graph is connected). */
  anchor?: { model: string; rating: number };
  /** Largest |gradient| accepted, relative to the total weight (default 1e-13). */
  gradTol?: number;
  /** Newton iterations at most (default 100). */
  maxIter?: number;
}

/** Why a finite MLE does not exist in one connected component. */
export interface MleFailure {
  /** Models of the connected component. */
  component: string[];
  /**
   * Strongly connected groups of the beat-or-tied digraph in topological order (top first):
   * each group never loses to (nor ties with) any later group.
   */
  groups: string[][];
  /** Models that never lose or tie against anyone (their β would go to +∞). */
  neverLose: string[];
  /** Models that never win or tie against anyone (their β would go to −∞). */
  neverWin: string[];
}

export interface MleExistence {
  exists: boolean;
  failures: MleFailure[];
  /** Human-readable summary; empty when the MLE exists. */
  message: string;
}

export interface BTFit {
  models: string[];
  /** Connected components of the comparison graph (each sorted like `models`). */
  components: string[][];
  mleExists: boolean;
  existence: MleExistence;
  /** β with Σβ = 0 per component; null when no finite MLE exists. */
  beta: Record<string, number> | null;
  /** scale·β + initRating; null when no finite MLE exists. */
  ratings: Record<string, number> | null;
  /** Ratings shifted to the anchor; null without anchor, if the anchor is absent or the graph is disconnected. */
  ratingsAnchored: Record<string, number> | null;
  /** L at the optimum (natural log, weights as given); null when no finite MLE exists. */
  negLogLikelihood: number | null;
  /**
   * Only when no finite MLE exists: ratings of a fit with a tiny ridge penalty. Their order is
   * meaningful (diverging models end up far above/below), their values are not.
   */
  orderingRatings: Record<string, number> | null;
  iterations: number;
  /** max |∂L/∂β| at the returned β. */
  maxGradient: number;
  converged: boolean;
}

// ---------------------------------------------------------------------------------------------
// Graph structure

/** Connected component id of every model (rows with weight 0 do not connect). */
export function componentIds(m: Matchups): { comp: Int32Array; count: number } {
  const n = m.models.length;
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]];
      x = parent[x];
    }
    return x;
  };
  for (let k = 0; k < m.a.length; k++) {
    if (!(m.w[k] > 0)) continue;
    const ra = find(m.a[k]);
    const rb = find(m.b[k]);
    if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
  // Number components in order of their smallest model index.
  const comp = new Int32Array(n).fill(-1);
  const label = new Int32Array(n).fill(-1);
  let count = 0;
  for (let i = 0; i < n; i++) {
    const r = find(i);
    if (label[r] < 0) label[r] = count++;
    comp[i] = label[r];
  }
  return { comp, count };
}

function groupByComponent(models: string[], comp: Int32Array, count: number): string[][] {
  const out: string[][] = Array.from({ length: count }, () => []);
  models.forEach((m, i) => {
    out[comp[i]].push(m);
  });
  return out;
}

/**
 * Ford's criterion: a finite MLE exists iff, inside every connected component, the digraph with
 * an edge a→b whenever a beat or tied b is strongly connected.
 */
export function checkMleExistence(m: Matchups): MleExistence {
  const n = m.models.length;
  const { comp, count } = componentIds(m);
  const out: number[][] = Array.from({ length: n }, () => []);
  const hasIn = new Uint8Array(n);
  const hasOut = new Uint8Array(n);
  for (let k = 0; k < m.a.length; k++) {
    if (!(m.w[k] > 0)) continue;
    const a = m.a[k];
    const b = m.b[k];
    if (m.y[k] > 0) {
      out[a].push(b);
      hasOut[a] = 1;
      hasIn[b] = 1;
    }
    if (m.y[k] < 1) {
      out[b].push(a);
      hasOut[b] = 1;
      hasIn[a] = 1;
    }
  }
  const { scc, sccCount } = tarjan(out);
  if (sccCount === count) return { exists: true, failures: [], message: "" };

  // Condensation per failing component, in topological order (Tarjan emits sinks first).
  const sccComp = new Int32Array(sccCount);
  const sccSize = new Int32Array(sccCount);
  for (let i = 0; i < n; i++) {
    sccComp[scc[i]] = comp[i];
    sccSize[scc[i]]++;
  }
  const perComp = new Int32Array(count);
  for (let s = 0; s < sccCount; s++) perComp[sccComp[s]]++;
  const failures: MleFailure[] = [];
  for (let c = 0; c < count; c++) {
    if (perComp[c] <= 1) continue;
    const groups: string[][] = [];
    for (let s = sccCount - 1; s >= 0; s--) {
      if (sccComp[s] !== c) continue;
      groups.push(m.models.filter((_, i) => scc[i] === s));
    }
    failures.push({
      component: m.models.filter((_, i) => comp[i] === c),
      groups,
      neverLose: m.models.filter((_, i) => comp[i] === c && !hasIn[i] && hasOut[i]),
      neverWin: m.models.filter((_, i) => comp[i] === c && !hasOut[i] && hasIn[i]),
    });
  }
  const parts = failures.map((f) => {
    const bits: string[] = [];
    if (f.neverLose.length)
      bits.push(`${f.neverLose.join(", ")} never lose${f.neverLose.length === 1 ? "s" : ""}`);
    if (f.neverWin.length)
      bits.push(`${f.neverWin.join(", ")} never ${f.neverWin.length === 1 ? "wins or ties" : "win or tie"}`);
    const inner = f.groups.filter(
      (g) => g.length > 1 || (!f.neverLose.includes(g[0]) && !f.neverWin.includes(g[0])),
    );
    if (inner.length > 1 || bits.length === 0)
      bits.push(`groups ${f.groups.map((g) => `{${g.join(", ")}}`).join(" > ")} never lose to a later group`);
    return bits.join("; ");
  });
  return {
    exists: false,
    failures,
    message: `no finite maximum-likelihood ratings (the beat-or-tied graph is not strongly connected): ${parts.join(" | ")}`,
  };
}

/** Iterative Tarjan SCC; ids are assigned sinks first (reverse topological order). */
function tarjan(adj: number[][]): { scc: Int32Array; sccCount: number } {
  const n = adj.length;
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const scc = new Int32Array(n).fill(-1);
  const stack: number[] = [];
  const callStack: [number, number][] = [];
  let next = 0;
  let sccCount = 0;
  for (let s = 0; s < n; s++) {
    if (index[s] >= 0) continue;
    callStack.push([s, 0]);
    index[s] = low[s] = next++;
    stack.push(s);
    onStack[s] = 1;
    while (callStack.length) {
      const top = callStack[callStack.length - 1];
      const v = top[0];
      if (top[1] < adj[v].length) {
        const w = adj[v][top[1]++];
        if (index[w] < 0) {
          index[w] = low[w] = next++;
          stack.push(w);
          onStack[w] = 1;
          callStack.push([w, 0]);
        } else if (onStack[w]) low[v] = Math.min(low[v], index[w]);
        continue;
      }
      callStack.pop();
      if (callStack.length) {
        const u = callStack[callStack.length - 1][0];
        low[u] = Math.min(low[u], low[v]);
      }
      if (low[v] === index[v]) {
        let w: number;
        do {
          w = stack.pop()!;
          onStack[w] = 0;
          scc[w] = sccCount;
        } while (w !== v);
        sccCount++;
      }
    }
  }
  return { scc, sccCount };
}

// ---------------------------------------------------------------------------------------------
// Newton solver

/** Optional per-row covariates (style control): logit = α(β_a − β_b) + x·θ. */
export interface RowFeatures {
  /** Row-major rows × p. */
  x: Float64Array;
  p: number;
}

export interface SolveOptions {
  /** α = ln(base). */
  alpha: number;
  /** Penalty ridge/2·||params||² (default 0). */
  ridge?: number;
  /** Penalise only β, not the feature coefficients. */
  ridgeBetaOnly?: boolean;
  features?: RowFeatures;
  gradTol?: number;
  maxIter?: number;
  /** Starting β (length n); default zeros. */
  start?: Float64Array;
}

export interface SolveResult {
  /** β, Σβ = 0 per connected component when ridge is 0. */
  beta: Float64Array;
  /** Feature coefficients (empty without features). */
  theta: Float64Array;
  /** Negative log-likelihood without the penalty. */
  nll: number;
  iterations: number;
  maxGradient: number;
  converged: boolean;
}

/** log(1 + e^x) without overflow. */
function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** In-place Cholesky of the N×N SPD matrix A (row-major, lower part used). False if not SPD. */
function cholesky(A: Float64Array, N: number): boolean {
  for (let j = 0; j < N; j++) {
    let d = A[j * N + j];
    for (let k = 0; k < j; k++) d -= A[j * N + k] * A[j * N + k];
    if (!(d > 0)) return false;
    d = Math.sqrt(d);
    A[j * N + j] = d;
    for (let i = j + 1; i < N; i++) {
      let s = A[i * N + j];
      for (let k = 0; k < j; k++) s -= A[i * N + k] * A[j * N + k];
      A[i * N + j] = s / d;
    }
  }
  return true;
}

function choleskySolve(L: Float64Array, N: number, b: Float64Array): Float64Array {
  const x = Float64Array.from(b);
  for (let i = 0; i < N; i++) {
    let s = x[i];
    for (let k = 0; k < i; k++) s -= L[i * N + k] * x[k];
    x[i] = s / L[i * N + i];
  }
  for (let i = N - 1; i >= 0; i--) {
    let s = x[i];
    for (let k = i + 1; k < N; k++) s -= L[k * N + i] * x[k];
    x[i] = s / L[i * N + i];
  }
  return x;
}

/**
 * Minimises Σ w·[y·softplus(−d) + (1−y)·softplus(d)] + ridge/2·||params||², d = α(β_a − β_b) [+ x·θ],
 * by damped Newton. Without ridge the Hessian is singular along a constant shift of each
 * component; adding c·11ᵀ/k on each component block solves in the pseudo-inverse sense (the
 * gradient sums to 0 per component, so the step does too).
 */
export function solveBradleyTerry(m: Matchups, opts: SolveOptions): SolveResult {
  const n = m.models.length;
  const p = opts.features?.p ?? 0;
  const X = opts.features?.x;
  const N = n + p;
  const alpha = opts.alpha;
  const ridge = opts.ridge ?? 0;
  const ridgeTheta = opts.ridgeBetaOnly ? 0 : ridge;
  const rows = m.a.length;
  let totalW = 0;
  for (let k = 0; k < rows; k++) totalW += m.w[k];
  const tol = (opts.gradTol ?? 1e-13) * Math.max(totalW, 1);
  const maxIter = opts.maxIter ?? 100;
  const { comp, count } = componentIds(m);
  const compSize = new Int32Array(count);
  for (let i = 0; i < n; i++) compSize[comp[i]]++;

  const params = new Float64Array(N);
  if (opts.start) params.set(opts.start.subarray(0, n));

  const A = m.a;
  const B = m.b;
  const Y = m.y;
  const W = m.w;
  const penaltyAt = (q: Float64Array): number => {
    let s = 0;
    for (let i = 0; i < n; i++) s += ridge * q[i] * q[i];
    for (let j = 0; j < p; j++) s += ridgeTheta * q[n + j] * q[n + j];
    return s / 2;
  };

  /**
   * One pass over the rows: returns the negative log-likelihood at q and writes the gradient and
   * Hessian of the penalised objective into g and H (H skipped when null). One exp and one log1p
   * per row: with e = exp(−|d|), softplus(±d) = max(±d, 0) + log1p(e) and σ(d) follows from e.
   */
  const evaluate = (q: Float64Array, g: Float64Array | null, H: Float64Array | null): number => {
    if (g) g.fill(0);
    if (H) H.fill(0);
    let f = 0;
    for (let k = 0; k < rows; k++) {
      const w = W[k];
      if (w === 0) continue;
      const a = A[k];
      const b = B[k];
      let d = alpha * (q[a] - q[b]);
      if (X) for (let j = 0; j < p; j++) d += X[k * p + j] * q[n + j];
      const y = Y[k];
      const e = Math.exp(-Math.abs(d));
      const l = Math.log1p(e);
      // y·softplus(−d) + (1 − y)·softplus(d)
      f += w * (y * (d < 0 ? l - d : l) + (1 - y) * (d > 0 ? d + l : l));
      if (!g) continue;
      const s = d >= 0 ? 1 / (1 + e) : e / (1 + e);
      const r = w * (s - y);
      g[a] += alpha * r;
      g[b] -= alpha * r;
      if (X) for (let j = 0; j < p; j++) g[n + j] += r * X[k * p + j];
      if (!H) continue;
      const h = (w * e) / ((1 + e) * (1 + e)); // w·σ(d)(1 − σ(d))
      const hb = alpha * alpha * h;
      H[a * N + a] += hb;
      H[b * N + b] += hb;
      H[a * N + b] -= hb;
      H[b * N + a] -= hb;
      if (X) {
        for (let j = 0; j < p; j++) {
          const xj = X[k * p + j];
          const c = alpha * h * xj;
          H[(n + j) * N + a] += c;
          H[a * N + n + j] += c;
          H[(n + j) * N + b] -= c;
          H[b * N + n + j] -= c;
          for (let l2 = 0; l2 <= j; l2++) {
            const v = h * xj * X[k * p + l2];
            H[(n + j) * N + n + l2] += v;
            if (l2 !== j) H[(n + l2) * N + n + j] += v;
          }
        }
      }
    }
    if (g) {
      for (let i = 0; i < n; i++) g[i] += ridge * q[i];
      for (let j = 0; j < p; j++) g[n + j] += ridgeTheta * q[n + j];
    }
    if (H) {
      for (let i = 0; i < n; i++) H[i * N + i] += ridge;
      for (let j = 0; j < p; j++) H[(n + j) * N + n + j] += ridgeTheta;
    }
    return f;
  };
  const maxAbs = (v: Float64Array): number => {
    let mx = 0;
    for (let i = 0; i < v.length; i++) mx = Math.max(mx, Math.abs(v[i]));
    return mx;
  };

  let g = new Float64Array(N);
  let H = new Float64Array(N * N);
  let gT = new Float64Array(N);
  let HT = new Float64Array(N * N);
  const trial = new Float64Array(N);
  let f = evaluate(params, g, H) + penaltyAt(params);
  let gmax = maxAbs(g);
  let it = 0;
  let converged = gmax <= tol;
  while (!converged && it < maxIter) {
    it++;
    // Factorise a copy: H is still needed if the damped retry below runs.
    const F = Float64Array.from(H);
    if (ridge === 0) {
      // Pin the free shift of each component: add (mean diagonal)/k · 11ᵀ on its block.
      const diag = new Float64Array(count);
      for (let i = 0; i < n; i++) diag[comp[i]] += F[i * N + i];
      for (let i = 0; i < n; i++) {
        const c = comp[i];
        const add = (diag[c] > 0 ? diag[c] / compSize[c] : 1) / compSize[c];
        for (let j = 0; j < n; j++) if (comp[j] === c) F[i * N + j] += add;
      }
    }
    const damped = Float64Array.from(F);
    let factor = F;
    if (!cholesky(factor, N)) {
      // Saturated rows can make the Hessian numerically singular; retry with a little damping.
      let maxDiag = 0;
      for (let i = 0; i < N; i++) maxDiag = Math.max(maxDiag, damped[i * N + i]);
      for (let i = 0; i < N; i++) damped[i * N + i] += 1e-10 * maxDiag + 1e-300;
      if (!cholesky(damped, N)) break;
      factor = damped;
    }
    const neg = new Float64Array(N);
    for (let i = 0; i < N; i++) neg[i] = -g[i];
    const step = choleskySolve(factor, N, neg);
    let slope = 0;
    for (let i = 0; i < N; i++) slope += g[i] * step[i];
    // Backtracking line search (Armijo); near the optimum f changes below rounding, so a tiny
    // Newton decrement takes the full step.
    const tiny = -slope <= 1e-14 * Math.max(1, Math.abs(f));
    let t = 1;
    let fTrial = Number.POSITIVE_INFINITY;
    let accepted = false;
    for (let ls = 0; ls < 60; ls++) {
      for (let i = 0; i < N; i++) trial[i] = params[i] + t * step[i];
      fTrial = evaluate(trial, gT, HT) + penaltyAt(trial);
      if (tiny || fTrial <= f + 1e-4 * t * slope) {
        accepted = true;
        break;
      }
      t /= 2;
    }
    if (!accepted) break;
    const newG = maxAbs(gT);
    if (tiny && newG >= gmax) break; // at the rounding floor: keep the better point
    params.set(trial);
    [g, gT] = [gT, g];
    [H, HT] = [HT, H];
    f = fTrial;
    gmax = newG;
    converged = gmax <= tol;
  }
  if (!converged) converged = gmax <= Math.max(tol, 1e-9 * Math.max(totalW, 1));
  if (ridge === 0) {
    // Σβ = 0 per component (Newton keeps it up to rounding).
    const sum = new Float64Array(count);
    for (let i = 0; i < n; i++) sum[comp[i]] += params[i];
    for (let i = 0; i < n; i++) params[i] -= sum[comp[i]] / compSize[comp[i]];
  }
  return {
    beta: params.slice(0, n),
    theta: params.slice(n),
    nll: evaluate(params, null, null),
    iterations: it,
    maxGradient: gmax,
    converged,
  };
}

// ---------------------------------------------------------------------------------------------
// Public fits

function toRecord(models: string[], v: ArrayLike<number>, f: (x: number) => number = (x) => x) {
  return Object.fromEntries(models.map((m, i) => [m, f(v[i])]));
}

/** Bradley–Terry MLE on aggregated rows (counts or fractional weights). */
export function fitBradleyTerry(m: Matchups, opts: BTOptions = {}): BTFit {
  const base = opts.base ?? 10;
  const scale = opts.scale ?? 400;
  const init = opts.initRating ?? 1000;
  if (!(base > 1) || !(scale > 0))
    throw new UserError("base must be > 1 and scale > 0", { field: "base/scale" });
  const alpha = Math.log(base);
  const { comp, count } = componentIds(m);
  const components = groupByComponent(m.models, comp, count);
  const existence = checkMleExistence(m);
  let totalW = 0;
  for (let k = 0; k < m.w.length; k++) totalW += m.w[k];

  if (!existence.exists) {
    // A tiny ridge keeps everything finite; only the order of the result is meaningful.
    const fit = solveBradleyTerry(m, {
      alpha,
      ridge: 1e-8 * Math.max(totalW, 1e-300),
      maxIter: opts.maxIter,
    });
    return {
      models: m.models,
      components,
      mleExists: false,
      existence,
      beta: null,
      ratings: null,
      ratingsAnchored: null,
      negLogLikelihood: null,
      orderingRatings: toRecord(m.models, fit.beta, (b) => scale * b + init),
      iterations: fit.iterations,
      maxGradient: fit.maxGradient,
      converged: false,
    };
  }
  const fit = solveBradleyTerry(m, { alpha, gradTol: opts.gradTol, maxIter: opts.maxIter });
  const ratings = toRecord(m.models, fit.beta, (b) => scale * b + init);
  let ratingsAnchored: Record<string, number> | null = null;
  if (opts.anchor && count === 1 && opts.anchor.model in ratings) {
    const shift = opts.anchor.rating - ratings[opts.anchor.model];
    ratingsAnchored = toRecord(m.models, fit.beta, (b) => scale * b + init + shift);
  }
  return {
    models: m.models,
    components,
    mleExists: true,
    existence,
    beta: toRecord(m.models, fit.beta),
    ratings,
    ratingsAnchored,
    negLogLikelihood: fit.nll,
    orderingRatings: null,
    iterations: fit.iterations,
    maxGradient: fit.maxGradient,
    converged: fit.converged,
  };
}

/** Aggregates battles into unique rows and fits Bradley–Terry. */
export function fitBradleyTerryBattles(battles: Iterable<Battle>, opts: BTOptions = {}): BTFit {
  const agg = new BattleAggregator();
  for (const b of battles) agg.add(b);
  return fitBradleyTerry(agg.matchups(), opts);
}

/**
 * P(a beats b) = 1 / (1 + base^((R_b − R_a)/scale)) for every ordered pair inside the same
 * component (pairs across components have no defined probability and are left out).
 */
export function winProbabilities(
  ratings: Record<string, number>,
  components: string[][],
  opts: { base?: number; scale?: number } = {},
): Record<string, Record<string, number>> {
  const base = opts.base ?? 10;
  const scale = opts.scale ?? 400;
  const alpha = Math.log(base) / scale;
  const out: Record<string, Record<string, number>> = {};
  for (const c of components) {
    for (const a of c) {
      const row: Record<string, number> = {};
      for (const b of c) if (b !== a) row[b] = sigmoid(alpha * (ratings[a] - ratings[b]));
      out[a] = row;
    }
  }
  return out;
}

/** Negative log-likelihood of given β (natural log) on aggregated rows. */
export function negLogLikelihood(m: Matchups, beta: ArrayLike<number>, base = 10): number {
  const alpha = Math.log(base);
  let f = 0;
  for (let k = 0; k < m.a.length; k++) {
    const d = alpha * (beta[m.a[k]] - beta[m.b[k]]);
    const y = m.y[k];
    if (y !== 0) f += m.w[k] * y * softplus(-d);
    if (y !== 1) f += m.w[k] * (1 - y) * softplus(d);
  }
  return f;
}

// ---------------------------------------------------------------------------------------------
// Older FastChat formulation: sklearn LogisticRegression on pairwise rows

export interface BTLROptions {
  SCALE?: number;
  BASE?: number;
  INIT_RATING?: number;
  /** null: no penalty (2024-03 … 2024-09); "l2": sklearn's default ||β||²/2 with weight 1/C (2024-01). */
  penalty?: null | "l2";
  /** Inverse penalty strength (sklearn C, default 1). */
  C?: number;
  /** Sample weight of a win (default 2). */
  winWeight?: number;
  /** Sample weight of a tie, on each side (default 1). */
  tieWeight?: number;
}

export interface BTLRFit {
  models: string[];
  components: string[][];
  /** Always true with the L2 penalty (strictly convex). */
  mleExists: boolean;
  existence: MleExistence;
  /** 400·coef + 1000 at the optimum (Σβ = 0 per component); null when no finite optimum exists. */
  ratings: Record<string, number> | null;
  /** Like BTFit.orderingRatings. */
  orderingRatings: Record<string, number> | null;
  coef: Record<string, number> | null;
  iterations: number;
  converged: boolean;
}

/**
 * FastChat `compute_elo_mle_with_tie` at its optimum: rows x = ln(BASE)(e_i − e_j) with weight
 * winWeight per win and tieWeight per tie on each side; penalty "l2" reproduces the 2024-01
 * version (every battle duplicated, sklearn's default C = 1). It is the Bradley–Terry likelihood
 * times winWeight, so without penalty the ratings equal fitBradleyTerry's.
 */
export function fitBradleyTerryLR(battles: Iterable<Battle>, opts: BTLROptions = {}): BTLRFit {
  const scale = opts.SCALE ?? 400;
  const base = opts.BASE ?? 10;
  const init = opts.INIT_RATING ?? 1000;
  const ww = opts.winWeight ?? 2;
  const tw = opts.tieWeight ?? 1;
  const C = opts.C ?? 1;
  if (opts.penalty === "l2" && !(C > 0)) throw new UserError("C must be > 0", { field: "C" });
  const agg = new BattleAggregator();
  for (const b of battles) agg.add(b);
  const u = agg.matchups();
  // Expand ties into one y=1 and one y=0 row; wins keep their label.
  const rows: [number, number, number, number][] = [];
  for (let k = 0; k < u.a.length; k++) {
    if (u.y[k] === 0.5) {
      rows.push([u.a[k], u.b[k], 1, tw * u.w[k]], [u.a[k], u.b[k], 0, tw * u.w[k]]);
    } else rows.push([u.a[k], u.b[k], u.y[k], ww * u.w[k]]);
  }
  const m: Matchups = {
    models: u.models,
    a: Int32Array.from(rows, (r) => r[0]),
    b: Int32Array.from(rows, (r) => r[1]),
    y: Float64Array.from(rows, (r) => r[2]),
    w: Float64Array.from(rows, (r) => r[3]),
  };
  const { comp, count } = componentIds(m);
  const components = groupByComponent(m.models, comp, count);
  const alpha = Math.log(base);
  const penalised = opts.penalty === "l2";
  const existence: MleExistence = penalised
    ? { exists: true, failures: [], message: "" }
    : checkMleExistence(m);
  let totalW = 0;
  for (let k = 0; k < m.w.length; k++) totalW += m.w[k];
  const ridge = penalised ? 1 / C : existence.exists ? 0 : 1e-8 * Math.max(totalW, 1e-300);
  const fit = solveBradleyTerry(m, { alpha, ridge });
  const rec = toRecord(m.models, fit.beta, (b) => scale * b + init);
  return {
    models: m.models,
    components,
    mleExists: existence.exists,
    existence,
    ratings: existence.exists ? rec : null,
    orderingRatings: existence.exists ? null : rec,
    coef: existence.exists ? toRecord(m.models, fit.beta) : null,
    iterations: fit.iterations,
    converged: existence.exists && fit.converged,
  };
}
