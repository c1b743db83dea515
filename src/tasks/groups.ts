/**
 * Group results as lm-evaluation-harness computes them (consolidate_group_results): for each
 * `aggregate_metric_list` entry, the mean of the leaf tasks' values (weighted by their sample counts
 * with `weight_by_size`), and the pooled sample stderr of the leaves.
 */
import { alignColumns, fmtInt, fmtNum, printable } from "../report/format.js";
import { pooledStderr } from "../stats/intervals.js";
import type { RunRecord } from "../store/types.js";
import type { ResolvedGroup } from "./resolve.js";

export interface GroupMetricResult {
  value: number;
  stderr: number;
  /** Samples over all leaf tasks. */
  n: number;
}

export interface GroupResult {
  group: string;
  alias?: string;
  model: string;
  /** Leaf tasks aggregated. */
  tasks: number;
  /** The direct members, as lm-eval's `group_subtasks`: child groups, and tasks (tags expanded). */
  subtasks: string[];
  /** Keyed `metric,filter` like run aggregates. */
  metrics: Record<string, GroupMetricResult>;
}

/**
 * The groups' results per model, from completed runs of their leaf tasks. A group is reported for a
 * model only when every leaf task has a completed run for it.
 */
export function aggregateGroups(groups: ResolvedGroup[], runs: RunRecord[]): GroupResult[] {
  const out: GroupResult[] = [];
  const models = [...new Set(runs.map((r) => r.model))];
  for (const g of groups) {
    const list = g.config.aggregate_metric_list;
    if (!list || list.length === 0) continue;
    for (const model of models) {
      const byTask = new Map(
        runs.filter((r) => r.model === model && r.status === "completed").map((r) => [r.task, r]),
      );
      const leaves = g.leaves.map((t) => byTask.get(t));
      if (leaves.some((r) => r === undefined)) continue;
      const metrics: Record<string, GroupMetricResult> = {};
      for (const m of list) {
        for (const filter of m.filter_list ?? ["none"]) {
          const key = `${m.metric},${filter}`;
          const aggs = leaves.map((r) => r!.aggregates[key]).filter((a) => a !== undefined);
          if (aggs.length === 0) continue;
          const sizes = aggs.map((a) => a.n);
          const weights = m.weight_by_size ? sizes : sizes.map(() => 1);
          const value =
            aggs.reduce((s, a, i) => s + a.value * weights[i], 0) / weights.reduce((a, b) => a + b, 0);
          const stderrs = aggs.map((a) => a.stderr);
          const n = sizes.reduce((a, b) => a + b, 0);
          let stderr = Number.NaN;
          if (stderrs.every(Number.isFinite) && n > sizes.length) stderr = pooledStderr(stderrs, sizes);
          metrics[key] = { value, stderr, n };
        }
      }
      out.push({
        group: g.config.group,
        ...(g.config.group_alias ? { alias: g.config.group_alias } : {}),
        model,
        tasks: g.leaves.length,
        subtasks: directMembers(g, groups),
        metrics,
      });
    }
  }
  return out;
}

/** A group's child groups (in its order), then the leaf tasks not under any of them. */
function directMembers(g: ResolvedGroup, all: ResolvedGroup[]): string[] {
  const byName = new Map(all.map((x) => [x.config.group, x]));
  const childGroups = g.config.task.filter((name) => byName.has(name) && name !== g.config.group);
  const covered = new Set(childGroups.flatMap((name) => byName.get(name)!.leaves));
  return [...childGroups, ...g.leaves.filter((t) => !covered.has(t))];
}

/** The group rows printed after the runs table. */
export function formatGroupTable(results: GroupResult[]): string {
  const header = ["Group", "Model", "Metric", "Value", "± Stderr", "Tasks", "n"];
  const rows: string[][] = [];
  for (const r of results)
    for (const [key, m] of Object.entries(r.metrics))
      rows.push([
        printable(r.group),
        printable(r.model),
        printable(key),
        fmtNum(m.value),
        `± ${fmtNum(m.stderr)}`,
        fmtInt(r.tasks),
        fmtInt(m.n),
      ]);
  if (rows.length === 0) return "";
  return `${alignColumns(header, rows, [false, false, false, true, true, true, true]).join("\n")}\n`;
}
