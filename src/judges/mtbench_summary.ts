/**
 * MT-Bench's tables, as FastChat's show_result prints them: mean score per turn and overall and per
 * category (single grading), win rates (pairwise), and judgments in FastChat's model_judgment format.
 */
import {
  type PairwiseDiagnostics,
  type ParseStats,
  pairwiseDiagnostics,
  parseStats,
  type SelfPreference,
  selfPreference,
} from "./bias.js";
import type { SingleRecord } from "./mtbench.js";
import { type PairJudgment, type TieRule, type WinRate, winRates } from "./pairwise.js";

export interface MeanN {
  mean: number | null;
  n: number;
}

export interface SingleModelSummary {
  model: string;
  turn1: MeanN;
  turn2: MeanN;
  /** Mean of every valid score over both turns (FastChat's "Average"). */
  overall: MeanN;
  categories: Record<string, MeanN>;
  judged: number;
  failed: number;
  failureRate: number;
}

export interface SingleSummary {
  judge: string;
  models: SingleModelSummary[];
  categories: string[];
  parse: ParseStats;
  selfPreference: SelfPreference;
}

function meanN(xs: number[]): MeanN {
  return { mean: xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length, n: xs.length };
}

/** FastChat's show_result single mode (failed judgments left out of means, counted separately). */
export function summarizeSingle(
  records: readonly SingleRecord[],
  judge: string,
  categoryOrder: readonly string[] = [],
): SingleSummary {
  const models = [...new Set(records.map((r) => r.model))];
  const cats = [
    ...new Set([
      ...categoryOrder.filter((c) => records.some((r) => r.category === c)),
      ...records.map((r) => r.category),
    ]),
  ];
  const rows = models.map((model): SingleModelSummary => {
    const mine = records.filter((r) => r.model === model);
    const valid = mine.filter((r) => r.ok && r.score !== null);
    const scores = (f: (r: SingleRecord) => boolean) => valid.filter(f).map((r) => r.score as number);
    const failed = mine.length - valid.length;
    return {
      model,
      turn1: meanN(scores((r) => r.turn === 1)),
      turn2: meanN(scores((r) => r.turn === 2)),
      overall: meanN(scores(() => true)),
      categories: Object.fromEntries(cats.map((c) => [c, meanN(scores((r) => r.category === c))])),
      judged: mine.length,
      failed,
      failureRate: mine.length === 0 ? 0 : failed / mine.length,
    };
  });
  rows.sort(
    (a, b) => (b.overall.mean ?? -Infinity) - (a.overall.mean ?? -Infinity) || a.model.localeCompare(b.model),
  );
  return {
    judge,
    models: rows,
    categories: cats,
    parse: parseStats(records),
    selfPreference: selfPreference(judge, models),
  };
}

export interface PairSummary {
  judge: string;
  tieRule: TieRule;
  baseline?: string;
  winRates: WinRate[];
  categories: Record<string, WinRate[]>;
  /** Pairs whose verdict could not be made (left out of win rates, as FastChat drops "error" rows). */
  failedPairs: number;
  pairs: number;
  diagnostics: PairwiseDiagnostics;
}

export function summarizePairwise(
  judgments: readonly PairJudgment[],
  judge: string,
  tieRule: TieRule,
  baseline?: string,
): PairSummary {
  const cats = [...new Set(judgments.map((j) => j.category ?? ""))];
  return {
    judge,
    tieRule,
    ...(baseline !== undefined ? { baseline } : {}),
    winRates: winRates(judgments, baseline),
    categories: Object.fromEntries(
      cats.map((c) => [
        c,
        winRates(
          judgments.filter((j) => (j.category ?? "") === c),
          baseline,
        ),
      ]),
    ),
    failedPairs: judgments.filter((j) => j.verdict === null).length,
    pairs: judgments.length,
    diagnostics: pairwiseDiagnostics(judgments, judge),
  };
}

/** A pair judgment in FastChat's model_judgment format (g1/g2 winners, "error" for a failed order). */
export function fastchatPairRecord(j: PairJudgment, judgeSpec: string): Record<string, unknown> {
  const [g1, g2] = [j.orders[0], j.orders[1]];
  const w = (o: typeof g1 | undefined) => (o === undefined ? undefined : o.ok ? o.winner : "error");
  const last = (o: typeof g1 | undefined) => o?.attempts.at(-1)?.text ?? "";
  return {
    question_id: Number(j.id.split(":")[0]),
    model_1: j.model1,
    model_2: j.model2,
    g1_winner: w(g1),
    g2_winner: w(g2),
    judge: [judgeSpec, j.judgePrompt ?? ""],
    g1_user_prompt: g1?.prompt,
    g1_judgment: last(g1),
    g2_user_prompt: g2?.prompt,
    g2_judgment: last(g2),
    turn: j.turn,
    category: j.category,
    tie_rule: j.tieRule,
    verdict: j.verdict,
    consistent: j.consistent,
    battles: j.battles,
    ...(j.probabilities ? { probabilities: j.probabilities } : {}),
    attempts: j.orders.map((o) =>
      o.attempts.map((a) => ({ text: a.text, ...(a.error ? { error: a.error } : {}) })),
    ),
    ...(j.error ? { error: j.error } : {}),
  };
}
