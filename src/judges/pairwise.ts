/**
 * Pairwise comparison in both orders, with configurable tie rules:
 * - `mtbench`: orders that disagree make a tie (FastChat); a failed order fails the pair;
 * - `arena-hard`: each order is its own battle, strong verdicts (`>>`) weigh `strongWeight` (3);
 * - `probability`: verdict probabilities from the judge's log-probabilities, averaged over both orders.
 */
import type { Battle } from "../stats/ranking/battles.js";
import { UserError } from "../util/errors.js";
import { type Attempt, type JudgeClient, renderForScoring } from "./client.js";
import { type Position, verdictParser } from "./parse.js";
import { getPrompt, type JudgePrompt } from "./prompts.js";
import { messagesFor } from "./single.js";

export type TieRule = "mtbench" | "arena-hard" | "probability";
export const TIE_RULES: readonly TieRule[] = ["mtbench", "arena-hard", "probability"];

/** A verdict in model terms. */
export type Winner = "model_1" | "model_2" | "tie";

export interface PairItem {
  id: string;
  model1: string;
  model2: string;
  /** Template variables both orders share (question, references, ...). */
  shared: Record<string, string>;
  /**
   * Answers by template suffix: `{"": text}` fills `{answer_a}`/`{answer_b}`;
   * `{"_1": t1, "_2": t2}` fills `{answer_a_1}`, `{answer_a_2}`, ... (multi-turn).
   */
  answer1: Record<string, string>;
  answer2: Record<string, string>;
  /** Answer lengths for the length diagnostics (default: characters of all answer texts). */
  lengths?: [number, number];
  category?: string;
  turn?: number;
  /** Human votes on this pair, when attached. */
  human?: Array<Winner | null>;
}

export interface OrderJudgment {
  /** 1: model_1 shown as A; 2: model_2 shown as A. */
  order: 1 | 2;
  ok: boolean;
  /** The position the judge chose (A, B or tie). */
  position?: Position;
  strong?: boolean;
  label?: string;
  winner?: Winner;
  /** probability rule: P(A better), P(B better), P(tie) in this order. */
  probabilities?: { A: number; B: number; tie: number };
  prompt: string;
  attempts: Attempt[];
  parseFailures: number;
  error?: string;
}

export interface PairJudgment {
  id: string;
  model1: string;
  model2: string;
  category?: string;
  turn?: number;
  tieRule: TieRule;
  /** Name of the judge prompt. */
  judgePrompt?: string;
  orders: OrderJudgment[];
  /** Every order parsed. */
  ok: boolean;
  /** The combined verdict under the tie rule; null when it could not be made. */
  verdict: Winner | null;
  /** Both orders gave the same verdict (null unless both parsed). */
  consistent: boolean | null;
  /** Battles this pair contributes (arena-hard: one per parsed order, weighted). */
  battles: Array<{ winner: Winner; weight: number }>;
  /** probability rule: averaged over the orders, in model terms. */
  probabilities?: { model_1: number; model_2: number; tie: number };
  lengths: [number, number];
  human?: Array<Winner | null>;
  error?: string;
}

export interface PairwiseJudgeOptions {
  tieRule?: TieRule;
  /** Judge both orders (default 2) or only model_1 first (1). */
  orders?: 1 | 2;
  /** Arena-Hard's weight of a strong verdict (default 3). */
  strongWeight?: number;
}

const PROB_OPTIONS: Record<string, Array<[string, Position]>> = {
  "[[A]]": [
    ["A]]", "A"],
    ["B]]", "B"],
    ["C]]", "tie"],
  ],
  "[[A>B]]": [
    ["A>>B]]", "A"],
    ["A>B]]", "A"],
    ["A=B]]", "tie"],
    ["B>A]]", "B"],
    ["B>>A]]", "B"],
  ],
};

function toWinner(position: Position, order: 1 | 2): Winner {
  if (position === "tie") return "tie";
  return (position === "A") === (order === 1) ? "model_1" : "model_2";
}

/** Template variables of one order. */
export function orderVars(item: PairItem, order: 1 | 2): Record<string, string> {
  const [a, b] = order === 1 ? [item.answer1, item.answer2] : [item.answer2, item.answer1];
  const vars: Record<string, string> = { ...item.shared };
  for (const [suffix, text] of Object.entries(a)) vars[`answer_a${suffix}`] = text;
  for (const [suffix, text] of Object.entries(b)) vars[`answer_b${suffix}`] = text;
  return vars;
}

export function defaultLengths(item: PairItem): [number, number] {
  const len = (r: Record<string, string>) => Object.values(r).reduce((n, t) => n + [...t].length, 0);
  return [len(item.answer1), len(item.answer2)];
}

export class PairwiseJudge {
  readonly prompt: JudgePrompt;
  readonly tieRule: TieRule;
  readonly orders: 1 | 2;
  readonly strongWeight: number;

  constructor(
    readonly client: JudgeClient,
    prompt: JudgePrompt | string,
    opts: PairwiseJudgeOptions = {},
  ) {
    this.prompt = typeof prompt === "string" ? getPrompt(prompt) : prompt;
    if (this.prompt.type !== "pairwise")
      throw new UserError(`judge prompt '${this.prompt.name}' is not a pairwise prompt`, {
        field: "prompt",
        expected: 'type "pairwise"',
      });
    this.tieRule = opts.tieRule ?? "mtbench";
    if (!TIE_RULES.includes(this.tieRule))
      throw new UserError(`unknown tie rule '${this.tieRule}'`, {
        field: "--tie-rule",
        expected: TIE_RULES.join(", "),
      });
    this.orders = opts.orders ?? 2;
    if (this.orders !== 1 && this.orders !== 2)
      throw new UserError(`invalid orders ${opts.orders}`, { field: "orders", expected: "1 or 2" });
    this.strongWeight = opts.strongWeight ?? 3;
    if (!(Number.isInteger(this.strongWeight) && this.strongWeight >= 1))
      throw new UserError(`invalid strong weight ${opts.strongWeight}`, {
        field: "strongWeight",
        expected: "an integer ≥ 1",
      });
    if (this.tieRule === "probability" && !client.hasLogprobs)
      throw new UserError(
        `tie rule 'probability' needs log-probabilities, which judge ${client.spec} does not return`,
        {
          field: "--tie-rule",
          expected: "mtbench or arena-hard for this judge, or a judge with loglikelihood support",
        },
      );
  }

  async judge(item: PairItem): Promise<PairJudgment> {
    const orders: Array<1 | 2> = this.orders === 2 ? [1, 2] : [1];
    const results = await Promise.all(orders.map((o) => this.judgeOrder(item, o)));
    return { ...combine(item, results, this.tieRule, this.strongWeight), judgePrompt: this.prompt.name };
  }

  private async judgeOrder(item: PairItem, order: 1 | 2): Promise<OrderJudgment> {
    const messages = messagesFor(this.prompt, orderVars(item, order));
    const prompt = messages[messages.length - 1].content;
    if (this.tieRule === "probability") {
      const options = PROB_OPTIONS[this.prompt.output_format];
      const p = await this.client.optionProbabilities(
        renderForScoring(messages, "Final verdict: [["),
        options.map(([o]) => o),
      );
      const probabilities = { A: 0, B: 0, tie: 0 };
      options.forEach(([, pos], i) => {
        probabilities[pos] += p[i];
      });
      return { order, ok: true, probabilities, prompt, attempts: [], parseFailures: 0 };
    }
    const r = await this.client.ask(messages, verdictParser(this.prompt.output_format));
    const parseFailures = r.attempts.filter((a) => a.error !== undefined).length;
    if (!r.ok) return { order, ok: false, prompt, attempts: r.attempts, parseFailures, error: r.error };
    const v = r.value;
    return {
      order,
      ok: true,
      position: v.position,
      strong: v.strong,
      label: v.label,
      winner: toWinner(v.position, order),
      prompt,
      attempts: r.attempts,
      parseFailures,
    };
  }
}

const SCORE: Record<Winner, number> = { model_1: 1, model_2: -1, tie: 0 };

/** Applies the tie rule to the orders' results. */
export function combine(
  item: PairItem,
  orders: OrderJudgment[],
  tieRule: TieRule,
  strongWeight = 3,
): PairJudgment {
  const base = {
    id: item.id,
    model1: item.model1,
    model2: item.model2,
    ...(item.category !== undefined ? { category: item.category } : {}),
    ...(item.turn !== undefined ? { turn: item.turn } : {}),
    tieRule,
    orders,
    lengths: item.lengths ?? defaultLengths(item),
    ...(item.human ? { human: item.human } : {}),
  };
  const ok = orders.every((o) => o.ok);
  const failed = orders.filter((o) => !o.ok);
  const error = failed.length > 0 ? failed.map((o) => `order ${o.order}: ${o.error}`).join("; ") : undefined;
  const both = orders.length === 2 && ok;

  if (tieRule === "probability") {
    // P(model_1 better) averages P(A) of order 1 and P(B) of order 2.
    const p = { model_1: 0, model_2: 0, tie: 0 };
    for (const o of orders) {
      const q = o.probabilities!;
      p.model_1 += (o.order === 1 ? q.A : q.B) / orders.length;
      p.model_2 += (o.order === 1 ? q.B : q.A) / orders.length;
      p.tie += q.tie / orders.length;
    }
    const verdict: Winner =
      p.model_1 >= p.model_2 && p.model_1 >= p.tie ? "model_1" : p.model_2 >= p.tie ? "model_2" : "tie";
    // Orders agree when each order's most likely position maps to the same model verdict.
    const argmax = (o: OrderJudgment): Winner => {
      const q = o.probabilities!;
      const pos: Position = q.A >= q.B && q.A >= q.tie ? "A" : q.B >= q.tie ? "B" : "tie";
      return toWinner(pos, o.order);
    };
    for (const o of orders) {
      const w = argmax(o);
      o.winner = w;
      o.position = w === "tie" ? "tie" : (w === "model_1") === (o.order === 1) ? "A" : "B";
    }
    return {
      ...base,
      ok: true,
      verdict,
      consistent: orders.length === 2 ? orders[0].winner === orders[1].winner : null,
      battles: [{ winner: verdict, weight: 1 }],
      probabilities: p,
    };
  }

  const consistent = both ? orders[0].winner === orders[1].winner : null;
  if (tieRule === "arena-hard") {
    const battles = orders
      .filter((o) => o.ok)
      .map((o) => ({ winner: o.winner!, weight: o.strong ? strongWeight : 1 }));
    const total = battles.reduce((s, b) => s + SCORE[b.winner] * b.weight, 0);
    const verdict: Winner | null =
      battles.length === 0 ? null : total > 0 ? "model_1" : total < 0 ? "model_2" : "tie";
    return { ...base, ok, verdict, consistent, battles, ...(error ? { error } : {}) };
  }

  // MT-Bench: a failed order fails the pair; disagreeing orders make a tie.
  if (!ok) return { ...base, ok: false, verdict: null, consistent, battles: [], error };
  const verdict: Winner = orders.length === 1 || consistent ? orders[0].winner! : "tie";
  return { ...base, ok: true, verdict, consistent, battles: [{ winner: verdict, weight: 1 }] };
}

export interface WinRate {
  model: string;
  win: number;
  loss: number;
  tie: number;
  /** win / (win + loss + tie) */
  winRate: number;
  lossRate: number;
  /** (win + tie/2) / (win + loss + tie), FastChat's win_rate_adjusted. */
  winRateAdjusted: number;
}

/**
 * Win/loss/tie counts per model as FastChat's show_result counts them (failed pairs left out; see the
 * diagnostics for how many); arena-hard counts battles by weight. `exclude` drops a model (a baseline).
 */
export function winRates(judgments: readonly PairJudgment[], exclude?: string): WinRate[] {
  const acc = new Map<string, { win: number; loss: number; tie: number }>();
  const get = (m: string) => {
    let v = acc.get(m);
    if (!v) acc.set(m, (v = { win: 0, loss: 0, tie: 0 }));
    return v;
  };
  for (const j of judgments) {
    for (const b of j.battles) {
      const [m1, m2] = [get(j.model1), get(j.model2)];
      if (b.winner === "tie") {
        m1.tie += b.weight;
        m2.tie += b.weight;
      } else if (b.winner === "model_1") {
        m1.win += b.weight;
        m2.loss += b.weight;
      } else {
        m2.win += b.weight;
        m1.loss += b.weight;
      }
    }
  }
  const out: WinRate[] = [];
  for (const [model, c] of acc) {
    if (model === exclude) continue;
    const n = c.win + c.loss + c.tie;
    out.push({
      model,
      ...c,
      winRate: c.win / n,
      lossRate: c.loss / n,
      winRateAdjusted: (c.win + 0.5 * c.tie) / n,
    });
  }
  return out.sort((a, b) => b.winRateAdjusted - a.winRateAdjusted || a.model.localeCompare(b.model));
}

/** Battles in Chatbot Arena format (a weight-w battle repeated w times, as Arena-Hard does). */
export function toBattles(judgments: readonly PairJudgment[]): Battle[] {
  const out: Battle[] = [];
  for (const j of judgments)
    for (const b of j.battles) {
      const winner = b.winner === "model_1" ? "model_a" : b.winner === "model_2" ? "model_b" : "tie";
      for (let k = 0; k < b.weight; k++) out.push({ model_a: j.model1, model_b: j.model2, winner });
    }
  return out;
}
