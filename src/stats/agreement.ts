/**
 * Inter-rater agreement: Cohen's κ (sklearn), Fleiss'/Randolph's κ (statsmodels), Krippendorff's α
 * (coincidence-matrix definition), MT-Bench style percent agreement (FastChat compute_agreement)
 * and a judge-vs-human summary built from them.
 */
import { UserError } from "../util/errors.js";

/** A rating label. 1 and "1" are different labels. */
export type Label = string | number;

/** Code-point order of strings (Python's sort), not UTF-16 code-unit order. */
function compareCodePoints(x: string, y: string): number {
  const a = [...x];
  const b = [...y];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = a[i].codePointAt(0)! - b[i].codePointAt(0)!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** Sorted distinct labels: numbers ascending, then strings in code-point order. */
export function sortedLabels(values: Iterable<Label>): Label[] {
  const set = [...new Set(values)];
  return set.sort((x, y) => {
    if (typeof x === "number" && typeof y === "number") return x - y;
    if (typeof x === "number") return -1;
    if (typeof y === "number") return 1;
    return compareCodePoints(x, y);
  });
}

function isLabel(v: unknown): v is Label {
  return (typeof v === "number" && Number.isFinite(v)) || typeof v === "string";
}

function labelIndex(labels: readonly Label[], field: string): Map<Label, number> {
  const idx = new Map<Label, number>();
  labels.forEach((l, i) => {
    if (!isLabel(l)) throw new UserError(`invalid label ${JSON.stringify(l)}`, { field });
    if (idx.has(l)) throw new UserError(`duplicate label ${JSON.stringify(l)}`, { field });
    idx.set(l, i);
  });
  return idx;
}

function lookup(idx: Map<Label, number>, v: unknown, field: string): number {
  const i = isLabel(v) ? idx.get(v) : undefined;
  if (i === undefined) {
    throw new UserError(`label ${JSON.stringify(v)} is not in the label list`, {
      field,
      expected: [...idx.keys()].map((l) => JSON.stringify(l)).join(", "),
    });
  }
  return i;
}

// ---------------------------------------------------------------------------------------------
// Cohen's kappa

export type KappaWeights = null | "linear" | "quadratic";

export interface CohenKappaOptions {
  /** Label order; default: sorted labels of y1 ∪ y2. Weighted kappa uses positions in this order. */
  labels?: readonly Label[];
  /** Disagreement weights over label positions: none (0/1), |i − j| or (i − j)². */
  weights?: KappaWeights;
}

/**
 * Cohen's kappa exactly as sklearn's cohen_kappa_score: κ = 1 − Σ w·O / Σ w·E with
 * E = outer(row sums, column sums)/n. NaN when Σ w·E = 0 (both raters constant and equal).
 */
export function cohenKappa(y1: readonly Label[], y2: readonly Label[], opts: CohenKappaOptions = {}): number {
  if (y1.length !== y2.length)
    throw new UserError(`y1 and y2 differ in length (${y1.length} vs ${y2.length})`, { field: "y2" });
  if (y1.length === 0) throw new UserError("no ratings", { field: "y1" });
  const labels = opts.labels ?? sortedLabels([...y1, ...y2]);
  const idx = labelIndex(labels, "labels");
  const k = labels.length;
  const O = new Float64Array(k * k);
  for (let i = 0; i < y1.length; i++)
    O[lookup(idx, y1[i], `y1[${i}]`) * k + lookup(idx, y2[i], `y2[${i}]`)]++;
  const rows = new Float64Array(k);
  const cols = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      rows[i] += O[i * k + j];
      cols[j] += O[i * k + j];
    }
  }
  const n = y1.length;
  const weight = (i: number, j: number): number =>
    opts.weights === "linear"
      ? Math.abs(i - j)
      : opts.weights === "quadratic"
        ? (i - j) ** 2
        : opts.weights == null
          ? i === j
            ? 0
            : 1
          : Number.NaN;
  if (opts.weights != null && opts.weights !== "linear" && opts.weights !== "quadratic")
    throw new UserError(`unknown weights '${opts.weights}'`, {
      field: "weights",
      expected: "null, linear, quadratic",
    });
  let num = 0;
  let den = 0;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const w = weight(i, j);
      num += w * O[i * k + j];
      den += (w * (rows[i] * cols[j])) / n;
    }
  }
  return 1 - num / den;
}

// ---------------------------------------------------------------------------------------------
// Fleiss' kappa

export interface FleissKappaOptions {
  /** "fleiss": chance from pooled margins; "randolph": free-marginal, chance = 1/#categories. */
  method?: "fleiss" | "randolph";
  /** All categories (unused ones count for Randolph's k); default: the observed ones. */
  categories?: readonly Label[];
}

/** items × raters label matrix → items × categories count table (statsmodels aggregate_raters). */
export function countTable(
  ratings: readonly (readonly Label[])[],
  categories?: readonly Label[],
): { table: Float64Array[]; categories: Label[] } {
  const cats = categories ? [...categories] : sortedLabels(ratings.flat());
  const idx = labelIndex(cats, "categories");
  const table = ratings.map((row, i) => {
    const counts = new Float64Array(cats.length);
    row.forEach((v, j) => {
      counts[lookup(idx, v, `ratings[${i}][${j}]`)]++;
    });
    return counts;
  });
  return { table, categories: cats };
}

/** Fleiss' kappa as statsmodels.stats.inter_rater.fleiss_kappa; every item needs the same rater count. */
export function fleissKappa(ratings: readonly (readonly Label[])[], opts: FleissKappaOptions = {}): number {
  const method = opts.method ?? "fleiss";
  if (method !== "fleiss" && method !== "randolph")
    throw new UserError(`unknown method '${method}'`, { field: "method", expected: "fleiss, randolph" });
  if (ratings.length === 0) throw new UserError("no items", { field: "ratings" });
  const m = ratings[0].length;
  ratings.forEach((r, i) => {
    if (r.length !== m)
      throw new UserError(`item has ${r.length} ratings, item 0 has ${m}`, {
        field: `ratings[${i}]`,
        expected: "the same number of raters for every item",
      });
  });
  if (m < 2) throw new UserError("need at least 2 raters per item", { field: "ratings" });
  const { table, categories } = countTable(ratings, opts.categories);
  const N = table.length;
  const k = categories.length;
  const pCat = new Float64Array(k);
  let pMean = 0;
  for (const row of table) {
    let sq = 0;
    for (let j = 0; j < k; j++) {
      sq += row[j] * row[j];
      pCat[j] += row[j];
    }
    pMean += (sq - m) / (m * (m - 1));
  }
  pMean /= N;
  let pe = 0;
  if (method === "fleiss") {
    for (let j = 0; j < k; j++) {
      const p = pCat[j] / (N * m);
      pe += p * p;
    }
  } else pe = 1 / k;
  return (pMean - pe) / (1 - pe);
}

// ---------------------------------------------------------------------------------------------
// Krippendorff's alpha

export type AlphaLevel = "nominal" | "ordinal" | "interval" | "ratio";

export interface KrippendorffOptions {
  level?: AlphaLevel;
  /** Ordered list of possible values (rank order for ordinal; required for ordinal strings). */
  valueDomain?: readonly Label[];
}

export interface KrippendorffResult {
  alpha: number;
  /** Number of pairable values n (values in units with at least two values). */
  n_pairable: number;
  /** Observed disagreement Σ o_ck δ²(c,k) / n. */
  D_o: number;
  /** Expected disagreement Σ n_c n_k δ²(c,k) / (n(n − 1)). */
  D_e: number;
}

/**
 * Krippendorff's α from the coincidence matrix. `units` is units × coders with null for missing;
 * units with fewer than two values are not pairable and are dropped.
 */
export function krippendorffAlpha(
  units: readonly (readonly (Label | null | undefined)[])[],
  opts: KrippendorffOptions = {},
): KrippendorffResult {
  const level = opts.level ?? "nominal";
  if (!["nominal", "ordinal", "interval", "ratio"].includes(level))
    throw new UserError(`unknown level '${level}'`, {
      field: "level",
      expected: "nominal, ordinal, interval, ratio",
    });
  const present: Label[] = [];
  units.forEach((u, i) => {
    u.forEach((v, j) => {
      if (v === null || v === undefined) return;
      if (!isLabel(v))
        throw new UserError(`invalid value ${JSON.stringify(v)}`, { field: `units[${i}][${j}]` });
      if ((level === "interval" || level === "ratio") && typeof v !== "number")
        throw new UserError(`${level} data must be numeric, got ${JSON.stringify(v)}`, {
          field: `units[${i}][${j}]`,
        });
      if (level === "ratio" && (v as number) < 0)
        throw new UserError(`ratio data must be non-negative, got ${v}`, { field: `units[${i}][${j}]` });
      present.push(v);
    });
  });
  let domain: Label[];
  if (opts.valueDomain && level !== "interval" && level !== "ratio") domain = [...opts.valueDomain];
  else {
    if (level === "ordinal" && present.some((v) => typeof v === "string"))
      throw new UserError("ordinal string values need a value domain giving their order", {
        field: "valueDomain",
      });
    domain = sortedLabels(present);
  }
  const idx = labelIndex(domain, "valueDomain");
  const V = domain.length;
  // Coincidences o_ck.
  const o = new Float64Array(V * V);
  let n = 0;
  const counts = new Map<number, number>();
  units.forEach((u, i) => {
    counts.clear();
    let mu = 0;
    u.forEach((v, j) => {
      if (v === null || v === undefined) return;
      const c = lookup(idx, v, `units[${i}][${j}]`);
      counts.set(c, (counts.get(c) ?? 0) + 1);
      mu++;
    });
    if (mu < 2) return;
    n += mu;
    for (const [c, nc] of counts) {
      for (const [k, nk] of counts) o[c * V + k] += (c === k ? nc * (nc - 1) : nc * nk) / (mu - 1);
    }
  });
  const nc = new Float64Array(V);
  for (let c = 0; c < V; c++) for (let k = 0; k < V; k++) nc[c] += o[c * V + k];
  const num = (c: number) => domain[c] as number;
  let delta: (c: number, k: number) => number;
  if (level === "nominal") delta = (c, k) => (c === k ? 0 : 1);
  else if (level === "interval") delta = (c, k) => (num(c) - num(k)) ** 2;
  else if (level === "ratio")
    delta = (c, k) => {
      const s = num(c) + num(k);
      return s === 0 ? 0 : ((num(c) - num(k)) / s) ** 2;
    };
  else {
    // Cumulative margins over the rank order of the domain.
    const cum = new Float64Array(V + 1);
    for (let g = 0; g < V; g++) cum[g + 1] = cum[g] + nc[g];
    delta = (c, k) => {
      const lo = Math.min(c, k);
      const hi = Math.max(c, k);
      return (cum[hi + 1] - cum[lo] - (nc[c] + nc[k]) / 2) ** 2;
    };
  }
  let dObs = 0;
  let dExp = 0;
  for (let c = 0; c < V; c++) {
    if (nc[c] === 0) continue;
    for (let k = 0; k < V; k++) {
      if (nc[k] === 0 || c === k) continue;
      const d = delta(c, k);
      dObs += o[c * V + k] * d;
      dExp += nc[c] * nc[k] * d;
    }
  }
  const D_o = dObs / n;
  const D_e = dExp / (n * (n - 1));
  return { alpha: 1 - D_o / D_e, n_pairable: n, D_o, D_e };
}

// ---------------------------------------------------------------------------------------------
// Percent agreement (MT-Bench)

export type AgreementMode = "judge_vs_each_human" | "human_human" | "judge_vs_majority" | "pairwise";

export interface PercentAgreementOptions {
  /** Labels meaning "tie"; any two tie labels agree (default ["tie", "tie (bothbad)"]). */
  tieLabels?: readonly Label[];
  /** Drop every compared pair in which either vote is a tie ("without ties"). */
  excludeTies?: boolean;
  /** judge_vs_majority: items without a strict human majority are dropped or count as a tie. */
  noMajority?: "exclude" | "tie";
}

export interface AgreementCounts {
  agree: number;
  total: number;
  /** agree / total (NaN when total is 0). */
  rate: number;
}

type Vote = Label | null | undefined;
const DEFAULT_TIES: readonly Label[] = ["tie", "tie (bothbad)"];

function voteTools(opts: PercentAgreementOptions) {
  const ties = new Set<Label>(opts.tieLabels ?? DEFAULT_TIES);
  const isTie = (v: Label) => ties.has(v);
  const equal = (x: Label, y: Label) => x === y || (isTie(x) && isTie(y));
  const counts = { agree: 0, total: 0 };
  const compare = (x: Label, y: Label) => {
    if (opts.excludeTies && (isTie(x) || isTie(y))) return;
    counts.total++;
    if (equal(x, y)) counts.agree++;
  };
  const result = (): AgreementCounts => ({ ...counts, rate: counts.agree / counts.total });
  return { isTie, compare, result };
}

function present(v: Vote): v is Label {
  return v !== null && v !== undefined;
}

function sameLength(a: readonly unknown[], b: readonly unknown[], fa: string, fb: string): void {
  if (a.length !== b.length)
    throw new UserError(`${fa} has ${a.length} items but ${fb} has ${b.length}`, { field: fb });
}

/** Every (judge vote, human vote) pair on the same item counts once (MT-Bench "gpt4-pair vs human"). */
export function agreementJudgeVsEachHuman(
  judge: readonly Vote[],
  humans: readonly (readonly Vote[])[],
  opts: PercentAgreementOptions = {},
): AgreementCounts {
  sameLength(judge, humans, "judge", "humans");
  const t = voteTools(opts);
  judge.forEach((j, i) => {
    if (!present(j)) return;
    for (const h of humans[i]) if (present(h)) t.compare(j, h);
  });
  return t.result();
}

/** Every unordered pair of human votes on the same item counts once (MT-Bench "human vs human"). */
export function agreementHumanHuman(
  humans: readonly (readonly Vote[])[],
  opts: PercentAgreementOptions = {},
): AgreementCounts {
  const t = voteTools(opts);
  for (const item of humans) {
    const votes = item.filter(present);
    for (let i = 0; i < votes.length; i++)
      for (let j = i + 1; j < votes.length; j++) t.compare(votes[i], votes[j]);
  }
  return t.result();
}

/**
 * The label held by more than half of the non-null votes, tie labels merged into tieLabels[0];
 * null when there is no strict majority (or no vote).
 */
export function majorityLabel(
  votes: readonly Vote[],
  tieLabels: readonly Label[] = DEFAULT_TIES,
): Label | null {
  const ties = new Set(tieLabels);
  const counts = new Map<Label, number>();
  let total = 0;
  for (const v of votes) {
    if (!present(v)) continue;
    const key = ties.has(v) ? tieLabels[0] : v;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    total++;
  }
  for (const [label, c] of counts) if (2 * c > total) return label;
  return null;
}

/** Judge vs the item's strict human majority (see majorityLabel). */
export function agreementJudgeVsMajority(
  judge: readonly Vote[],
  humans: readonly (readonly Vote[])[],
  opts: PercentAgreementOptions = {},
): AgreementCounts {
  sameLength(judge, humans, "judge", "humans");
  const tieLabels = opts.tieLabels ?? DEFAULT_TIES;
  const t = voteTools(opts);
  judge.forEach((j, i) => {
    if (!present(j) || !humans[i].some(present)) return;
    let maj = majorityLabel(humans[i], tieLabels);
    if (maj === null) {
      if ((opts.noMajority ?? "exclude") === "exclude") return;
      maj = tieLabels[0];
    }
    t.compare(j, maj);
  });
  return t.result();
}

/** Position-wise comparison of two label arrays; a null on either side drops the position. */
export function agreementPairwise(
  a: readonly Vote[],
  b: readonly Vote[],
  opts: PercentAgreementOptions = {},
): AgreementCounts {
  sameLength(a, b, "a", "b");
  const t = voteTools(opts);
  a.forEach((x, i) => {
    const y = b[i];
    if (present(x) && present(y)) t.compare(x, y);
  });
  return t.result();
}

export interface PercentAgreementInput {
  judge?: readonly Vote[];
  humans?: readonly (readonly Vote[])[];
  a?: readonly Vote[];
  b?: readonly Vote[];
}

/** Dispatches on `mode` (FastChat get_mt_bench_agreement, generalised). */
export function percentAgreement(
  input: PercentAgreementInput,
  opts: PercentAgreementOptions & { mode: AgreementMode },
): AgreementCounts {
  const need = <T>(v: T | undefined, field: string): T => {
    if (v === undefined)
      throw new UserError("missing field", { field, expected: `an array for mode ${opts.mode}` });
    return v;
  };
  switch (opts.mode) {
    case "judge_vs_each_human":
      return agreementJudgeVsEachHuman(need(input.judge, "judge"), need(input.humans, "humans"), opts);
    case "human_human":
      return agreementHumanHuman(need(input.humans, "humans"), opts);
    case "judge_vs_majority":
      return agreementJudgeVsMajority(need(input.judge, "judge"), need(input.humans, "humans"), opts);
    case "pairwise":
      return agreementPairwise(need(input.a, "a"), need(input.b, "b"), opts);
    default:
      throw new UserError(`unknown mode '${opts.mode}'`, {
        field: "mode",
        expected: "judge_vs_each_human, human_human, judge_vs_majority, pairwise",
      });
  }
}

// ---------------------------------------------------------------------------------------------
// Judge vs human summary

export interface JudgeHumanSummary {
  items: number;
  /** Judge verdicts that could not be parsed (null/undefined); those items are left out. */
  unparseable: number;
  /** Items with a valid verdict and a strict human majority. */
  itemsWithMajority: number;
  vsMajority: { withTies: AgreementCounts; withoutTies: AgreementCounts };
  vsEachHuman: { withTies: AgreementCounts; withoutTies: AgreementCounts };
  /** Unweighted Cohen's κ of judge vs majority (tie labels merged), NaN if undefined. */
  kappaVsMajority: number;
}

/** Agreement of an LLM judge with human votes, the way MT-Bench / PandaLM report it. */
export function judgeHumanSummary(
  judge: readonly Vote[],
  humans: readonly (readonly Vote[])[],
  opts: { tieLabels?: readonly Label[] } = {},
): JudgeHumanSummary {
  sameLength(judge, humans, "judge", "humans");
  const tieLabels = opts.tieLabels ?? DEFAULT_TIES;
  const ties = new Set(tieLabels);
  const base = { tieLabels };
  const y1: Label[] = [];
  const y2: Label[] = [];
  judge.forEach((j, i) => {
    if (!present(j)) return;
    const maj = majorityLabel(humans[i], tieLabels);
    if (maj === null) return;
    y1.push(ties.has(j) ? tieLabels[0] : j);
    y2.push(maj);
  });
  let kappa = Number.NaN;
  if (y1.length > 0) kappa = cohenKappa(y1, y2);
  return {
    items: judge.length,
    unparseable: judge.filter((j) => !present(j)).length,
    itemsWithMajority: y1.length,
    vsMajority: {
      withTies: agreementJudgeVsMajority(judge, humans, base),
      withoutTies: agreementJudgeVsMajority(judge, humans, { ...base, excludeTies: true }),
    },
    vsEachHuman: {
      withTies: agreementJudgeVsEachHuman(judge, humans, base),
      withoutTies: agreementJudgeVsEachHuman(judge, humans, { ...base, excludeTies: true }),
    },
    kappaVsMajority: kappa,
  };
}
