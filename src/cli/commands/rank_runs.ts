import type { Command } from "commander";
import { normalizeKey } from "../../gates/history.js";
import { alignColumns, fmtNum, printable } from "../../report/format.js";
import { bootstrapRanks, bootstrapRanksOverTasks, type RankInterval } from "../../stats/rank_stability.js";
import type { RunRecord, Store } from "../../store/types.js";
import { didYouMean, UserError } from "../../util/errors.js";
import { findRun, intOption, printJson, storeFrom, withStoreOption } from "../context.js";

export interface RunRanking {
  resample: "tasks" | "samples";
  rounds: number;
  seed: number;
  /** Task → metric key used. */
  metrics: Record<string, string>;
  /** Tasks left out: not every model has a run of them, or (without --metric) no higher-is-better metric. */
  droppedTasks: Array<{ task: string; reason: string }>;
  models: RankInterval[];
}

/** The metric of a run used for ranking: `--metric`, else the first higher-is-better one (undefined: none). */
function rankingKey(run: RunRecord, metric?: string): string | undefined {
  const keys = Object.keys(run.aggregates ?? {});
  if (metric !== undefined) {
    const key = metric.includes(",") ? metric : `${metric},none`;
    return keys.includes(key) ? key : undefined;
  }
  const declared = [...(run.config?.metricKeys ?? []).filter((k) => keys.includes(k)), ...keys];
  return declared.find((k) => run.aggregates[k].higherIsBetter);
}

async function perSample(store: Store, run: RunRecord, key: string): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for await (const s of store.iterateScores(run.id)) {
    const v = s.scores[key];
    if (Array.isArray(v))
      throw new UserError(`'${key}' of ${run.task} is a corpus metric without per-sample scores`, {
        field: "--metric",
        expected: "a per-sample metric (acc, exact_match, ...) or --resample tasks",
      });
    if (typeof v === "number") out.set(s.docId, v);
  }
  return out;
}

export async function rankRuns(
  store: Store,
  runs: RunRecord[],
  opts: { metric?: string; resample?: string; rounds?: number; seed?: number } = {},
): Promise<RunRanking> {
  const resample = opts.resample ?? "tasks";
  if (resample !== "tasks" && resample !== "samples")
    throw new UserError(`invalid value '${resample}'`, { field: "--resample", expected: "tasks or samples" });
  const rounds = opts.rounds ?? 1000;
  const seed = opts.seed ?? 0;
  const byModel = new Map<string, Map<string, RunRecord>>();
  for (const r of runs) {
    if (r.status !== "completed")
      throw new UserError(`run ${r.id} is ${r.status}`, { field: "run", expected: "completed runs" });
    const tasks = byModel.get(r.model) ?? new Map<string, RunRecord>();
    const prev = tasks.get(r.task);
    if (prev)
      throw new UserError(`two runs of model ${r.model} on task ${r.task}: ${prev.id} and ${r.id}`, {
        field: "run",
        expected: "one run per model and task",
      });
    tasks.set(r.task, r);
    byModel.set(r.model, tasks);
  }
  const models = [...byModel.keys()];
  if (models.length < 2)
    throw new UserError("need runs of at least two models", {
      field: "runs",
      expected: "runs of two or more models",
    });
  const allTasks = [...new Set(runs.map((r) => r.task))];
  const droppedTasks: RunRanking["droppedTasks"] = [];
  const metrics: Record<string, string> = {};
  for (const t of allTasks) {
    if (!models.every((m) => byModel.get(m)!.has(t))) {
      droppedTasks.push({ task: t, reason: "not every model has a run of it" });
      continue;
    }
    const keys = models.map((m) => rankingKey(byModel.get(m)!.get(t)!, opts.metric));
    if (keys.some((k) => k === undefined)) {
      const have = Object.keys(byModel.get(models[0])!.get(t)!.aggregates ?? {});
      droppedTasks.push({
        task: t,
        reason: opts.metric
          ? `no metric '${normalizeKey(opts.metric)}' in every run (${didYouMean(normalizeKey(opts.metric), have) || `has ${have.join(", ")}`})`
          : "no higher-is-better metric (name one with --metric)",
      });
      continue;
    }
    if (new Set(keys).size > 1)
      throw new UserError(`models disagree on the metric of ${t} (${[...new Set(keys)].join(", ")})`, {
        field: "--metric",
        expected: "a metric key every run has",
      });
    const key = keys[0]!;
    const hib = models.map((m) => byModel.get(m)!.get(t)!.aggregates[key].higherIsBetter);
    if (hib.some((h) => !h))
      throw new UserError(`'${key}' of ${t} is lower-is-better; scores are averaged over tasks`, {
        field: "--metric",
        expected: "a higher-is-better metric",
      });
    metrics[t] = key;
  }
  const tasks = Object.keys(metrics);
  if (tasks.length === 0)
    throw new UserError("no task can be ranked", {
      field: "runs",
      expected: "tasks with a run of every model",
      hint: droppedTasks.map((d) => `${d.task}: ${d.reason}`).join("; "),
    });
  let result: RankInterval[];
  if (resample === "tasks") {
    if (tasks.length < 2)
      throw new UserError(`resampling tasks needs at least 2 common tasks (have ${tasks.length})`, {
        field: "--resample",
        expected: "more tasks, or --resample samples",
      });
    const matrix = Object.fromEntries(
      models.map((m) => [m, tasks.map((t) => byModel.get(m)!.get(t)!.aggregates[metrics[t]].value)]),
    );
    result = bootstrapRanksOverTasks(matrix, { rounds, seed });
  } else {
    // Samples shared by every model, per task, so each bootstrap draw stays paired.
    const scores: Record<string, number[][]> = Object.fromEntries(models.map((m) => [m, []]));
    for (const t of tasks) {
      // One store iteration at a time: SQLite cursors must not interleave.
      const maps: Array<Map<number, number>> = [];
      for (const m of models) maps.push(await perSample(store, byModel.get(m)!.get(t)!, metrics[t]));
      const shared = [...maps[0].keys()].filter((d) => maps.every((mp) => mp.has(d))).sort((a, b) => a - b);
      if (shared.length === 0)
        throw new UserError(`the runs of ${t} share no samples`, {
          field: "runs",
          expected: "runs on the same docs",
        });
      models.forEach((m, i) => {
        scores[m].push(shared.map((d) => maps[i].get(d)!));
      });
    }
    result = bootstrapRanks(scores, { rounds, seed });
  }
  result.sort((a, b) => a.rank - b.rank || b.score - a.score);
  return { resample, rounds, seed, metrics, droppedTasks, models: result };
}

export function register(program: Command): void {
  withStoreOption(
    program
      .command("rank-runs")
      .description("how stable is the ranking of models? bootstrap rank intervals over tasks (or samples)")
      .argument("<runs...>", "run ids (several models × the same tasks)")
      .option("--metric <key>", "metric per task (default: each task's first higher-is-better metric)")
      .option(
        "--resample <what>",
        "tasks (which tasks are in the benchmark) or samples (items within tasks)",
        "tasks",
      )
      .option("--rounds <n>", "bootstrap rounds", intOption("--rounds", 1), 1000)
      .option("--seed <n>", "bootstrap seed", intOption("--seed", 0), 0)
      .option("--json", "print JSON"),
  ).action(
    async (
      ids: string[],
      opts: {
        store?: string;
        metric?: string;
        resample: string;
        rounds: number;
        seed: number;
        json?: boolean;
      },
    ) => {
      const store = storeFrom(opts);
      try {
        const runs: RunRecord[] = [];
        for (const id of ids.flatMap((s) => s.split(",")).filter(Boolean))
          runs.push(await findRun(store, id));
        const r = await rankRuns(store, runs, opts);
        if (opts.json) return printJson(r);
        const tasks = Object.keys(r.metrics);
        const out = [
          `${r.models.length} models on ${tasks.length} task${tasks.length === 1 ? "" : "s"} (${tasks.map((t) => `${t}:${r.metrics[t]}`).join(", ")}); mean over tasks; 95% rank intervals from ${r.rounds} bootstrap rounds resampling ${r.resample}`,
        ];
        for (const d of r.droppedTasks) out.push(`note: left out ${d.task}: ${d.reason}`);
        if (r.resample === "tasks" && tasks.length < 5)
          out.push(`note: with ${tasks.length} tasks the task bootstrap is coarse; try --resample samples`);
        out.push(
          "",
          ...alignColumns(
            ["rank", "model", "score", "rank 95% CI", "mean rank", "P(best)"],
            r.models.map((m) => [
              String(m.rank),
              printable(m.model),
              fmtNum(m.score),
              m.lower === m.upper ? String(m.lower) : `${m.lower}–${m.upper}`,
              m.meanRank.toFixed(2),
              m.probBest.toFixed(3),
            ]),
            [true, false, true, true, true, true],
          ),
        );
        process.stdout.write(`${out.join("\n")}\n`);
      } finally {
        await store.close();
      }
    },
  );
}
