/**
 * Pairwise battles (Chatbot Arena format) and their aggregation into unique
 * (model_a, model_b, outcome) rows, the input of the Bradley–Terry fits.
 */
import { UserError, type Where } from "../../util/errors.js";

export type Winner = "model_a" | "model_b" | "tie" | "tie (bothbad)";

export interface Battle {
  model_a: string;
  model_b: string;
  winner: Winner;
}

export const WINNERS: readonly Winner[] = ["model_a", "model_b", "tie", "tie (bothbad)"];

/** Score of model_a: 1 win, 0 loss, 0.5 for both tie strings. */
export function scoreA(winner: Winner): number {
  return winner === "model_a" ? 1 : winner === "model_b" ? 0 : 0.5;
}

/** Validates one battle object; errors name the field (and file/line when given in `where`). */
export function parseBattle(value: unknown, where: Where = {}): Battle {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new UserError("battle is not an object", { ...where, expected: "{model_a, model_b, winner}" });
  }
  const o = value as Record<string, unknown>;
  for (const f of ["model_a", "model_b"] as const) {
    const v = o[f];
    if (typeof v !== "string" || v.length === 0) {
      throw new UserError(v === undefined ? "missing field" : `invalid value ${JSON.stringify(v)}`, {
        ...where,
        field: f,
        expected: "a non-empty model name",
      });
    }
  }
  const w = o.winner;
  if (typeof w !== "string" || !(WINNERS as readonly string[]).includes(w)) {
    throw new UserError(w === undefined ? "missing field" : `invalid value ${JSON.stringify(w)}`, {
      ...where,
      field: "winner",
      expected: WINNERS.map((x) => `"${x}"`).join(" | "),
    });
  }
  if (o.model_a === o.model_b) {
    // A self-battle carries no information and would distort Elo counts.
    throw new UserError(`model_a and model_b are the same model '${o.model_a}'`, {
      ...where,
      field: "model_b",
    });
  }
  return { model_a: o.model_a as string, model_b: o.model_b as string, winner: w as Winner };
}

/** Validates a list of battles; `where.line` is not used, errors carry the array index in `field`. */
export function parseBattles(values: readonly unknown[], where: Where = {}): Battle[] {
  return values.map((v, i) => {
    try {
      return parseBattle(v, where);
    } catch (e) {
      if (e instanceof UserError) {
        throw new UserError(e.message, {
          ...e.where,
          field: `battles[${i}]${e.where.field ? `.${e.where.field}` : ""}`,
        });
      }
      throw e;
    }
  });
}

/** Code-unit order, the same as Python's sorted() for ASCII names. */
export function compareNames(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Unique weighted rows: model_a index, model_b index, y (score of model_a) and weight.
 * This is what Bradley–Terry sees; the order of battles is lost on purpose.
 */
export interface Matchups {
  models: string[];
  a: Int32Array;
  b: Int32Array;
  y: Float64Array;
  w: Float64Array;
}

/**
 * Accumulates battles into unique (model_a, model_b, outcome) counts, streaming-friendly
 * (the 1M-battle file is never held as objects).
 */
export class BattleAggregator {
  private index = new Map<string, number>();
  private names: string[] = [];
  // key = (ia * 2^21 + ib) * 3 + outcome, value = count; 2^21 models is far beyond any leaderboard.
  private counts = new Map<number, number>();
  count = 0;

  private id(name: string): number {
    let i = this.index.get(name);
    if (i === undefined) {
      i = this.names.length;
      if (i >= 2 ** 21) throw new UserError("too many models (more than 2^21)");
      this.index.set(name, i);
      this.names.push(name);
    }
    return i;
  }

  add(b: Battle, weight = 1): void {
    const ia = this.id(b.model_a);
    const ib = this.id(b.model_b);
    const o = b.winner === "model_a" ? 0 : b.winner === "model_b" ? 2 : 1;
    const key = (ia * 2 ** 21 + ib) * 3 + o;
    this.counts.set(key, (this.counts.get(key) ?? 0) + weight);
    this.count++;
  }

  /** Unique rows over the sorted model list, sorted by (a, b, y) for reproducible sums. */
  matchups(): Matchups {
    const models = [...this.names].sort(compareNames);
    const remap = new Int32Array(this.names.length);
    models.forEach((m, i) => {
      remap[this.index.get(m)!] = i;
    });
    const rows: [number, number, number, number][] = [];
    for (const [key, w] of this.counts) {
      const o = key % 3;
      const pair = (key - o) / 3;
      const ib = pair % 2 ** 21;
      const ia = (pair - ib) / 2 ** 21;
      rows.push([remap[ia], remap[ib], o === 0 ? 1 : o === 1 ? 0.5 : 0, w]);
    }
    rows.sort((p, q) => p[0] - q[0] || p[1] - q[1] || q[2] - p[2]);
    const n = rows.length;
    const out: Matchups = {
      models,
      a: new Int32Array(n),
      b: new Int32Array(n),
      y: new Float64Array(n),
      w: new Float64Array(n),
    };
    rows.forEach(([a, b, y, w], k) => {
      out.a[k] = a;
      out.b[k] = b;
      out.y[k] = y;
      out.w[k] = w;
    });
    return out;
  }
}

/** Aggregates battles into unique rows with count weights. */
export function aggregateBattles(battles: Iterable<Battle>): Matchups {
  const agg = new BattleAggregator();
  for (const b of battles) agg.add(b);
  return agg.matchups();
}

/**
 * Builds matchups from explicit rows `[i, j, y, w]` (indices into `models`), as in one bootstrap
 * replicate. Validates indices, y ∈ [0, 1] and w ≥ 0.
 */
export function matchupsFromRows(models: string[], rows: readonly (readonly number[])[]): Matchups {
  const n = rows.length;
  const out: Matchups = {
    models: [...models],
    a: new Int32Array(n),
    b: new Int32Array(n),
    y: new Float64Array(n),
    w: new Float64Array(n),
  };
  rows.forEach((r, k) => {
    const [i, j, y, w] = r;
    const ok =
      r.length === 4 &&
      Number.isInteger(i) &&
      Number.isInteger(j) &&
      i >= 0 &&
      j >= 0 &&
      i < models.length &&
      j < models.length &&
      i !== j &&
      y >= 0 &&
      y <= 1 &&
      w >= 0 &&
      Number.isFinite(w);
    if (!ok) {
      throw new UserError(`invalid matchup row ${JSON.stringify(r)}`, {
        field: `matchups[${k}]`,
        expected: "[i, j, y, w] with distinct model indices, 0 <= y <= 1, finite w >= 0",
      });
    }
    out.a[k] = i;
    out.b[k] = j;
    out.y[k] = y;
    out.w[k] = w;
  });
  return out;
}
