/**
 * How stable is a leaderboard? Bootstrap each model's rank and report rank intervals.
 *
 * Ranks are competition ranks: 1 + the number of models with a strictly better score, so tied models
 * share the better rank.
 */
import { mean } from "./descriptive.js";
import { Rng, type Seed } from "./rng.js";

export interface RankOptions {
  /** Bootstrap rounds (default 1,000). */
  rounds?: number;
  /** Two-sided level of the rank interval (default 0.95). */
  confidence?: number;
  seed?: Seed;
  /** Default true. */
  higherIsBetter?: boolean;
}

export interface RankInterval {
  model: string;
  /** Score on the original data. */
  score: number;
  /** Rank on the original data. */
  rank: number;
  /** Rank interval from the bootstrap distribution (nearest-rank quantiles, so integers). */
  lower: number;
  upper: number;
  meanRank: number;
  /** Fraction of rounds in which the model ranked first (ties included). */
  probBest: number;
  /** rankShare[r − 1] = fraction of rounds with rank r. */
  rankShare: number[];
}

type Named<T> = Record<string, T> | T[];

function entries<T>(input: Named<T>): { names: string[]; items: T[] } {
  if (Array.isArray(input)) return { names: input.map((_, i) => String(i)), items: input };
  return { names: Object.keys(input), items: Object.values(input) };
}

/** Competition ranks of scores into out. */
function ranksOf(scores: Float64Array, higherIsBetter: boolean, out: Int32Array): void {
  const m = scores.length;
  for (let i = 0; i < m; i++) {
    let r = 1;
    for (let j = 0; j < m; j++) {
      if (higherIsBetter ? scores[j] > scores[i] : scores[j] < scores[i]) r++;
    }
    out[i] = r;
  }
}

function summarize(
  names: string[],
  observed: Float64Array,
  rankDraws: Int32Array[],
  options: RankOptions,
): RankInterval[] {
  const m = names.length;
  const rounds = rankDraws.length;
  const higher = options.higherIsBetter ?? true;
  const confidence = options.confidence ?? 0.95;
  const alpha = (1 - confidence) / 2;
  const obsRanks = new Int32Array(m);
  ranksOf(observed, higher, obsRanks);
  const out: RankInterval[] = [];
  for (let i = 0; i < m; i++) {
    const ranks = new Int32Array(rounds);
    const share = new Array<number>(m).fill(0);
    for (let r = 0; r < rounds; r++) {
      ranks[r] = rankDraws[r][i];
      share[ranks[r] - 1]++;
    }
    ranks.sort();
    out.push({
      model: names[i],
      score: observed[i],
      rank: obsRanks[i],
      lower: ranks[Math.floor(alpha * (rounds - 1))],
      upper: ranks[Math.ceil((1 - alpha) * (rounds - 1))],
      meanRank: mean(ranks),
      probBest: share[0] / rounds,
      rankShare: share.map((c) => c / rounds),
    });
  }
  return out;
}

function checkOptions(options: RankOptions): number {
  const rounds = options.rounds ?? 1000;
  if (!(rounds >= 1) || !Number.isInteger(rounds)) throw new RangeError(`rounds must be a positive integer`);
  const c = options.confidence ?? 0.95;
  if (!(c > 0 && c < 1)) throw new RangeError(`confidence must be in (0, 1)`);
  return rounds;
}

/**
 * Rank intervals from per-sample scores: scores[model][task] is that model's per-sample scores on the
 * task, with the same samples in the same order for every model. Each round resamples the items of every
 * task (one draw shared by all models, so the comparison stays paired) and scores a model by the mean
 * over tasks of its per-task means (macro average; a single task is just the mean).
 */
export function bootstrapRanks(
  scores: Named<ArrayLike<number>[]>,
  options: RankOptions = {},
): RankInterval[] {
  const rounds = checkOptions(options);
  const { names, items } = entries(scores);
  const m = items.length;
  if (m === 0) return [];
  const tasks = items[0].length;
  if (tasks === 0) throw new RangeError("every model needs at least one task");
  const sizes: number[] = [];
  for (let t = 0; t < tasks; t++) {
    const n = items[0][t].length;
    if (n === 0) throw new RangeError(`task ${t} has no samples`);
    sizes.push(n);
  }
  // data[t][i·n + j]: model i, sample j of task t, contiguous per model.
  const data: Float64Array[] = [];
  for (let t = 0; t < tasks; t++) {
    const n = sizes[t];
    const block = new Float64Array(m * n);
    for (let i = 0; i < m; i++) {
      const row = items[i][t];
      if (items[i].length !== tasks || !row || row.length !== n)
        throw new RangeError(`model ${names[i]}: task ${t} must have ${n} samples like the first model`);
      for (let j = 0; j < n; j++) block[i * n + j] = row[j];
    }
    data.push(block);
  }
  const observed = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let s = 0;
    for (let t = 0; t < tasks; t++) s += mean(data[t].subarray(i * sizes[t], (i + 1) * sizes[t]));
    observed[i] = s / tasks;
  }
  const rng = new Rng(options.seed ?? 0);
  const higher = options.higherIsBetter ?? true;
  const rankDraws: Int32Array[] = [];
  const roundScores = new Float64Array(m);
  const counts = sizes.map((n) => new Float64Array(n));
  const idx = sizes.map((n) => new Uint32Array(n));
  for (let r = 0; r < rounds; r++) {
    roundScores.fill(0);
    for (let t = 0; t < tasks; t++) {
      const n = sizes[t];
      // Resample counts per item, then each model's mean is a weighted sum.
      const c = counts[t];
      c.fill(0);
      rng.fillIntegers(idx[t], n);
      for (let j = 0; j < n; j++) c[idx[t][j]]++;
      const block = data[t];
      for (let i = 0; i < m; i++) {
        let s = 0;
        const off = i * n;
        for (let j = 0; j < n; j++) s += c[j] * block[off + j];
        roundScores[i] += s / n;
      }
    }
    for (let i = 0; i < m; i++) roundScores[i] /= tasks;
    const ranks = new Int32Array(m);
    ranksOf(roundScores, higher, ranks);
    rankDraws.push(ranks);
  }
  return summarize(names, observed, rankDraws, options);
}

/**
 * Rank intervals from per-task scores: matrix[model][task] is the model's score on each task. Each round
 * resamples tasks with replacement (shared by all models) and scores a model by its mean over the drawn
 * tasks, so the interval reflects which tasks happen to be in the benchmark.
 */
export function bootstrapRanksOverTasks(
  matrix: Named<ArrayLike<number>>,
  options: RankOptions = {},
): RankInterval[] {
  const rounds = checkOptions(options);
  const { names, items } = entries(matrix);
  const m = items.length;
  if (m === 0) return [];
  const tasks = items[0].length;
  if (tasks === 0) throw new RangeError("every model needs at least one task score");
  for (let i = 0; i < m; i++) {
    if (items[i].length !== tasks) throw new RangeError(`model ${names[i]} must have ${tasks} task scores`);
  }
  const observed = Float64Array.from(items, (row) => mean(row));
  const rng = new Rng(options.seed ?? 0);
  const higher = options.higherIsBetter ?? true;
  const rankDraws: Int32Array[] = [];
  const idx = new Uint32Array(tasks);
  const roundScores = new Float64Array(m);
  for (let r = 0; r < rounds; r++) {
    rng.fillIntegers(idx, tasks);
    for (let i = 0; i < m; i++) {
      const row = items[i];
      let s = 0;
      for (let j = 0; j < tasks; j++) s += row[idx[j]];
      roundScores[i] = s / tasks;
    }
    const ranks = new Int32Array(m);
    ranksOf(roundScores, higher, ranks);
    rankDraws.push(ranks);
  }
  return summarize(names, observed, rankDraws, options);
}
