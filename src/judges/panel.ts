/**
 * Judge panels: several judges on the same items, aggregated by mean or majority, with their
 * disagreement reported (per item and as inter-judge agreement statistics).
 */
import { cohenKappa, fleissKappa, krippendorffAlpha, majorityLabel } from "../stats/agreement.js";
import { spearman } from "../stats/correlation.js";
import { UserError } from "../util/errors.js";
import type { PairItem, PairJudgment, PairwiseJudge, Winner } from "./pairwise.js";
import { majority, type SingleAnswerJudge, type SingleJudgment } from "./single.js";

export interface PanelScoreItem {
  /** Aggregate of the judges' valid scores; null when none graded the item. */
  score: number | null;
  scores: Array<number | null>;
  /** max − min of the valid scores (0 when they agree). */
  spread: number | null;
  majorityTie?: boolean;
}

export interface PanelScores {
  judges: string[];
  aggregate: "mean" | "majority";
  items: PanelScoreItem[];
  disagreement: {
    /** Items graded by at least two judges whose scores differ. */
    itemsDisagreeing: number;
    itemsCompared: number;
    meanSpread: number | null;
    /** Krippendorff's α (interval) over items × judges, missing scores allowed. */
    krippendorffAlpha: number | null;
    pairwiseSpearman: Array<{ a: string; b: string; n: number; rho: number | null }>;
  };
}

export interface PanelVerdictItem {
  /** Strict majority of the valid votes; `tie` when there is none. */
  verdict: Winner | null;
  votes: Array<Winner | null>;
  unanimous: boolean;
  noMajority?: boolean;
}

export interface PanelVerdicts {
  judges: string[];
  items: PanelVerdictItem[];
  disagreement: {
    itemsDisagreeing: number;
    itemsCompared: number;
    /** Fleiss' κ over items every judge decided (null when undefined). */
    fleissKappa: number | null;
    pairwiseKappa: Array<{ a: string; b: string; n: number; kappa: number | null }>;
  };
}

const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);

function checkShape<T>(judges: readonly string[], table: ReadonlyArray<ReadonlyArray<T>>): number {
  if (judges.length < 2)
    throw new UserError("a panel needs at least two judges", {
      field: "--judge",
      expected: "two or more judges",
    });
  if (table.length !== judges.length)
    throw new UserError(`${table.length} result lists for ${judges.length} judges`, { field: "panel" });
  const n = table[0].length;
  table.forEach((row, k) => {
    if (row.length !== n)
      throw new UserError(`judge ${judges[k]} has ${row.length} results, expected ${n}`, { field: "panel" });
  });
  return n;
}

/** Aggregates scores given judge × item (null = that judge's judgment failed). */
export function panelScores(
  judges: readonly string[],
  scores: ReadonlyArray<ReadonlyArray<number | null>>,
  aggregate: "mean" | "majority" = "mean",
): PanelScores {
  const n = checkShape(judges, scores);
  const items: PanelScoreItem[] = [];
  let disagreeing = 0;
  let compared = 0;
  let spreadSum = 0;
  for (let i = 0; i < n; i++) {
    const col = scores.map((row) => row[i]);
    const valid = col.filter((s): s is number => s !== null);
    if (valid.length === 0) {
      items.push({ score: null, scores: col, spread: null });
      continue;
    }
    const spread = Math.max(...valid) - Math.min(...valid);
    if (valid.length >= 2) {
      compared++;
      spreadSum += spread;
      if (spread > 0) disagreeing++;
    }
    if (aggregate === "majority") {
      const m = majority(valid);
      items.push({ score: m.value, scores: col, spread, ...(m.tie ? { majorityTie: true } : {}) });
    } else items.push({ score: valid.reduce((a, b) => a + b, 0) / valid.length, scores: col, spread });
  }
  let alpha: number | null = null;
  try {
    const units = Array.from({ length: n }, (_, i) => scores.map((row) => row[i]));
    alpha = finite(krippendorffAlpha(units, { level: "interval" }).alpha);
  } catch {
    alpha = null; // e.g. no pairable items
  }
  const pairwiseSpearman: PanelScores["disagreement"]["pairwiseSpearman"] = [];
  for (let a = 0; a < judges.length; a++)
    for (let b = a + 1; b < judges.length; b++) {
      const x: number[] = [];
      const y: number[] = [];
      for (let i = 0; i < n; i++) {
        const sa = scores[a][i];
        const sb = scores[b][i];
        if (sa !== null && sb !== null) {
          x.push(sa);
          y.push(sb);
        }
      }
      const rho = x.length >= 3 ? finite(spearman(x, y).statistic) : null;
      pairwiseSpearman.push({ a: judges[a], b: judges[b], n: x.length, rho });
    }
  return {
    judges: [...judges],
    aggregate,
    items,
    disagreement: {
      itemsDisagreeing: disagreeing,
      itemsCompared: compared,
      meanSpread: compared === 0 ? null : spreadSum / compared,
      krippendorffAlpha: alpha,
      pairwiseSpearman,
    },
  };
}

/** Majority verdicts given judge × item verdicts (null = failed). */
export function panelVerdicts(
  judges: readonly string[],
  verdicts: ReadonlyArray<ReadonlyArray<Winner | null>>,
): PanelVerdicts {
  const n = checkShape(judges, verdicts);
  const items: PanelVerdictItem[] = [];
  let disagreeing = 0;
  let compared = 0;
  const complete: Winner[][] = [];
  for (let i = 0; i < n; i++) {
    const votes = verdicts.map((row) => row[i]);
    const valid = votes.filter((v): v is Winner => v !== null);
    const unanimous = valid.length > 0 && valid.every((v) => v === valid[0]);
    if (valid.length >= 2) {
      compared++;
      if (!unanimous) disagreeing++;
    }
    if (valid.length === judges.length) complete.push(valid);
    if (valid.length === 0) {
      items.push({ verdict: null, votes, unanimous: false });
      continue;
    }
    const maj = majorityLabel(valid, ["tie"]) as Winner | null;
    items.push(
      maj === null
        ? { verdict: "tie", votes, unanimous, noMajority: true }
        : { verdict: maj, votes, unanimous },
    );
  }
  let fk: number | null = null;
  if (complete.length > 0) fk = finite(fleissKappa(complete, { categories: ["model_1", "model_2", "tie"] }));
  const pairwiseKappa: PanelVerdicts["disagreement"]["pairwiseKappa"] = [];
  for (let a = 0; a < judges.length; a++)
    for (let b = a + 1; b < judges.length; b++) {
      const y1: Winner[] = [];
      const y2: Winner[] = [];
      for (let i = 0; i < n; i++) {
        const va = verdicts[a][i];
        const vb = verdicts[b][i];
        if (va !== null && vb !== null) {
          y1.push(va);
          y2.push(vb);
        }
      }
      pairwiseKappa.push({
        a: judges[a],
        b: judges[b],
        n: y1.length,
        kappa: y1.length > 0 ? finite(cohenKappa(y1, y2)) : null,
      });
    }
  return {
    judges: [...judges],
    items,
    disagreement: { itemsDisagreeing: disagreeing, itemsCompared: compared, fleissKappa: fk, pairwiseKappa },
  };
}

/** Runs several single-answer judges on the same items and aggregates them. */
export class SinglePanel {
  constructor(
    readonly judges: readonly SingleAnswerJudge[],
    readonly aggregate: "mean" | "majority" = "mean",
  ) {
    if (judges.length < 2)
      throw new UserError("a panel needs at least two judges", {
        field: "--judge",
        expected: "two or more judges",
      });
  }

  async grade(
    items: ReadonlyArray<Record<string, string>>,
  ): Promise<{ judgments: SingleJudgment[][]; panel: PanelScores }> {
    const judgments = await Promise.all(
      this.judges.map((j) => Promise.all(items.map((vars) => j.grade(vars)))),
    );
    const names = this.judges.map((j) => j.client.spec);
    return {
      judgments,
      panel: panelScores(
        names,
        judgments.map((row) => row.map((r) => r.score)),
        this.aggregate,
      ),
    };
  }
}

/** Runs several pairwise judges on the same pairs; the panel verdict is the majority. */
export class PairwisePanel {
  constructor(readonly judges: readonly PairwiseJudge[]) {
    if (judges.length < 2)
      throw new UserError("a panel needs at least two judges", {
        field: "--judge",
        expected: "two or more judges",
      });
  }

  async judge(items: readonly PairItem[]): Promise<{ judgments: PairJudgment[][]; panel: PanelVerdicts }> {
    const judgments = await Promise.all(this.judges.map((j) => Promise.all(items.map((it) => j.judge(it)))));
    const names = this.judges.map((j) => j.client.spec);
    return {
      judgments,
      panel: panelVerdicts(
        names,
        judgments.map((row) => row.map((r) => r.verdict)),
      ),
    };
  }
}
