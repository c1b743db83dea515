/**
 * Bias diagnostics of a pairwise run: parse failures, position consistency and first-position
 * preference, length preference, a self-preference flag, and agreement with human labels when attached.
 */
import {
  type AgreementCounts,
  agreementJudgeVsMajority,
  type JudgeHumanSummary,
  judgeHumanSummary,
} from "../stats/agreement.js";
import { spearman } from "../stats/correlation.js";
import type { PairJudgment, Winner } from "./pairwise.js";

export interface ParseStats {
  /** Judgments asked for (one per order of each pair, or one per graded answer). */
  judgments: number;
  /** Of those, how many never parsed (recorded as failed, not dropped). */
  failed: number;
  failureRate: number;
  /** Outputs generated, retries included. */
  outputs: number;
  /** Outputs that did not parse (each cost a retry or ended a judgment). */
  unparseableOutputs: number;
}

export interface PositionStats {
  /** Pairs with both orders parsed. */
  pairs: number;
  /** Pairs with the same verdict in both orders. */
  consistent: number;
  /** consistent / pairs (null without pairs). */
  consistency: number | null;
  /** Inconsistent pairs where the first position won in both orders (MT-Bench paper's "biased toward first"). */
  biasedFirst: number;
  biasedSecond: number;
  /** Parsed single-order verdicts. */
  verdicts: number;
  /** Of those, not ties. */
  decisive: number;
  /** Decisive verdicts that chose the answer shown first. */
  firstChosen: number;
  /** firstChosen / decisive: 0.5 for a judge without position preference. */
  firstPositionRate: number | null;
  tieRate: number | null;
}

export interface LengthStats {
  /** Single-order verdicts used. */
  n: number;
  /**
   * Spearman correlation between the verdict (+1 first answer, 0 tie, −1 second; or P(first) − P(second)
   * with probabilities) and the length difference first − second; null when either side is constant.
   */
  spearman: number | null;
  pvalue: number | null;
  /** Decisive verdicts between answers of different length. */
  decisiveWithLengthDifference: number;
  /** Of those, how many chose the longer answer. */
  longerChosen: number;
  longerWinRate: number | null;
}

export interface SelfPreference {
  judge: string;
  judgeFamily: string | null;
  /** Candidate models of the judge's family: their wins may be inflated. */
  sameFamily: string[];
  flag: boolean;
}

export interface PairwiseDiagnostics {
  parse: ParseStats;
  position: PositionStats;
  length: LengthStats;
  selfPreference: SelfPreference;
  /** Present when human labels are attached to pairs. */
  human?: HumanAgreement;
}

const FAMILIES: Array<[string, RegExp]> = [
  ["openai-gpt", /(^|[^a-z])(gpt|chatgpt|davinci|babbage|o[134](-mini|-pro)?($|[^a-z0-9]))/],
  ["claude", /claude/],
  ["gemini", /gemini|palm|bison/],
  ["gemma", /gemma/],
  ["llama", /llama|vicuna|alpaca|koala|guanaco|tulu|wizardlm|lima|baize|nous-hermes|snoozy/],
  ["mistral", /mistral|mixtral|codestral/],
  ["qwen", /qwen/],
  ["deepseek", /deepseek/],
  ["falcon", /falcon/],
  ["mpt", /(^|[^a-z])mpt/],
  ["pythia", /pythia|dolly|stablelm/],
  ["chatglm", /chatglm|glm-/],
  ["rwkv", /rwkv/],
  ["t5", /t5/],
];

/** The model's name without provider, path or URL: `openai:gpt-4o@http://h/v1` → `gpt-4o`. */
export function modelName(spec: string): string {
  let s = spec.replace(/@https?:\/\/.*$/, "");
  const colon = s.indexOf(":");
  if (colon >= 0 && /^[a-z]+$/.test(s.slice(0, colon))) s = s.slice(colon + 1);
  s = s.replace(/\?.*$/, "");
  const slash = s.lastIndexOf("/");
  if (slash >= 0) s = s.slice(slash + 1);
  return s.replace(/\.(gguf|bin|txt|jsonl?)$/i, "").toLowerCase();
}

/** A model family from the name (GPT, Claude, Llama and derivatives, ...), or null when unknown. */
export function modelFamily(spec: string): string | null {
  const name = modelName(spec);
  // Fine-tunes are named after their base (vicuna is Llama, gpt4all-13b-snoozy is Llama, not GPT).
  for (const [family, re] of FAMILIES) {
    if (family === "openai-gpt" && /gpt4all|gpt-j|gpt-neo|gpt2/.test(name)) continue;
    if (re.test(name)) return family;
  }
  return null;
}

export function selfPreference(judge: string, candidates: readonly string[]): SelfPreference {
  const judgeFamily = modelFamily(judge);
  const jn = modelName(judge);
  const sameFamily = candidates.filter(
    (c) => modelName(c) === jn || (judgeFamily !== null && modelFamily(c) === judgeFamily),
  );
  return { judge, judgeFamily, sameFamily, flag: sameFamily.length > 0 };
}

export function parseStats(
  items: ReadonlyArray<{ ok: boolean; attempts: ReadonlyArray<{ error?: string }> }>,
): ParseStats {
  const failed = items.filter((i) => !i.ok).length;
  let outputs = 0;
  let bad = 0;
  for (const i of items) {
    outputs += i.attempts.length;
    bad += i.attempts.filter((a) => a.error !== undefined).length;
  }
  return {
    judgments: items.length,
    failed,
    failureRate: items.length === 0 ? 0 : failed / items.length,
    outputs,
    unparseableOutputs: bad,
  };
}

export function positionStats(judgments: readonly PairJudgment[]): PositionStats {
  let pairs = 0;
  let consistent = 0;
  let biasedFirst = 0;
  let biasedSecond = 0;
  let verdicts = 0;
  let decisive = 0;
  let firstChosen = 0;
  let ties = 0;
  for (const j of judgments) {
    for (const o of j.orders) {
      if (!o.ok || o.position === undefined) continue;
      verdicts++;
      if (o.position === "tie") ties++;
      else {
        decisive++;
        if (o.position === "A") firstChosen++;
      }
    }
    if (j.orders.length === 2 && j.orders.every((o) => o.ok && o.winner !== undefined)) {
      pairs++;
      const [a, b] = j.orders;
      if (a.winner === b.winner) consistent++;
      else if (a.position === "A" && b.position === "A") biasedFirst++;
      else if (a.position === "B" && b.position === "B") biasedSecond++;
    }
  }
  return {
    pairs,
    consistent,
    consistency: pairs === 0 ? null : consistent / pairs,
    biasedFirst,
    biasedSecond,
    verdicts,
    decisive,
    firstChosen,
    firstPositionRate: decisive === 0 ? null : firstChosen / decisive,
    tieRate: verdicts === 0 ? null : ties / verdicts,
  };
}

export function lengthStats(judgments: readonly PairJudgment[]): LengthStats {
  const x: number[] = [];
  const y: number[] = [];
  let withDiff = 0;
  let longer = 0;
  for (const j of judgments) {
    for (const o of j.orders) {
      if (!o.ok || o.position === undefined) continue;
      // Lengths in position terms: order 1 shows model_1 first.
      const [first, second] = o.order === 1 ? j.lengths : [j.lengths[1], j.lengths[0]];
      const v = o.probabilities
        ? o.probabilities.A - o.probabilities.B
        : o.position === "A"
          ? 1
          : o.position === "B"
            ? -1
            : 0;
      x.push(first - second);
      y.push(v);
      if (o.position !== "tie" && first !== second) {
        withDiff++;
        if ((o.position === "A") === first > second) longer++;
      }
    }
  }
  let rho: number | null = null;
  let p: number | null = null;
  if (x.length >= 3) {
    const r = spearman(x, y);
    if (Number.isFinite(r.statistic)) {
      rho = r.statistic;
      p = Number.isFinite(r.pvalue) ? r.pvalue : null;
    }
  }
  return {
    n: x.length,
    spearman: rho,
    pvalue: p,
    decisiveWithLengthDifference: withDiff,
    longerChosen: longer,
    longerWinRate: withDiff === 0 ? null : longer / withDiff,
  };
}

export type HumanAgreement = JudgeHumanSummary & {
  pairs: number;
  /** Agreement with the human majority when every failed judgment counts as a disagreement. */
  vsMajorityFailedAsWrong: { withTies: AgreementCounts; withoutTies: AgreementCounts };
};

/** Judge verdicts vs attached human votes (FastChat percent agreement with/without ties, Cohen's κ). */
export function humanAgreement(judgments: readonly PairJudgment[]): HumanAgreement | undefined {
  const withHumans = judgments.filter((j) => j.human && j.human.length > 0);
  if (withHumans.length === 0) return undefined;
  const judge: Array<Winner | null> = withHumans.map((j) => j.verdict);
  const humans = withHumans.map((j) => j.human!);
  const opts = { tieLabels: ["tie"] };
  // A label no human uses: failed judgments stay in the denominator.
  const strict = judge.map((v) => v ?? "failed");
  return {
    pairs: withHumans.length,
    ...judgeHumanSummary(judge, humans, opts),
    vsMajorityFailedAsWrong: {
      withTies: agreementJudgeVsMajority(strict, humans, opts),
      withoutTies: agreementJudgeVsMajority(strict, humans, { ...opts, excludeTies: true }),
    },
  };
}

export function pairwiseDiagnostics(judgments: readonly PairJudgment[], judge: string): PairwiseDiagnostics {
  const candidates = [...new Set(judgments.flatMap((j) => [j.model1, j.model2]))];
  const human = humanAgreement(judgments);
  return {
    parse: parseStats(judgments.flatMap((j) => j.orders)),
    position: positionStats(judgments),
    length: lengthStats(judgments),
    selfPreference: selfPreference(judge, candidates),
    ...(human ? { human } : {}),
  };
}

export interface ScoreAgreement {
  /** Items with both a judge score and a human score. */
  n: number;
  spearman: number | null;
  pvalue: number | null;
}

/** Spearman correlation of judge scores with human scores (items missing either are left out). */
export function scoreHumanAgreement(
  judge: ReadonlyArray<number | null>,
  human: ReadonlyArray<number | null>,
): ScoreAgreement {
  const x: number[] = [];
  const y: number[] = [];
  judge.forEach((j, i) => {
    const h = human[i];
    if (j !== null && h !== null && h !== undefined && Number.isFinite(j) && Number.isFinite(h)) {
      x.push(j);
      y.push(h);
    }
  });
  if (x.length < 3) return { n: x.length, spearman: null, pvalue: null };
  const r = spearman(x, y);
  return {
    n: x.length,
    spearman: Number.isFinite(r.statistic) ? r.statistic : null,
    pvalue: Number.isFinite(r.pvalue) ? r.pvalue : null,
  };
}
