/** `assay tasks`: the built-in task library with each task's size, metrics and data source. */
import path from "node:path";
import type { Command } from "commander";
import { dataDir } from "../../data/sources.js";
import { alignColumns, fmtInt, printable } from "../../report/format.js";
import type { LoadedTaskConfig } from "../../tasks/config.js";
import { builtinGroups, builtinTasks, type ResolvedGroup, resolveSelection } from "../../tasks/resolve.js";
import { Task } from "../../tasks/task.js";
import { UserError } from "../../util/errors.js";
import { printJson, useDataDir } from "../context.js";

export interface TaskListing {
  task: string;
  /** Docs in the evaluation split; null when the data is not available locally. */
  docs: number | null;
  outputType: string;
  numFewshot: number;
  /** `metric,filter` keys as a run reports them. */
  metrics: string[];
  dataset: string;
  /** Where the data comes from now: a local file, the cache, or the hub (not downloaded yet). */
  source: string;
  file: string;
}

export interface GroupListing {
  group: string;
  tasks: number;
  docs: number | null;
  metrics: string[];
}

function metricKeys(task: Task): string[] {
  const metrics = (task.config.metric_list ?? []).map((m) => m.metric);
  if (metrics.length === 0)
    return [task.config.metric_list === undefined ? "(default)" : "(generation only)"];
  const filters =
    task.outputType === "generate_until" ? (task.config.filter_list ?? []).map((f) => f.name) : [];
  return filters.length > 0 ? metrics.flatMap((m) => filters.map((f) => `${m},${f}`)) : metrics;
}

async function describeTask(loaded: LoadedTaskConfig): Promise<TaskListing> {
  const task = new Task(loaded);
  const c = task.config;
  const hub = task.isHubDataset();
  const split = task.evalSplit();
  const dataset = hub
    ? `${c.dataset_path}${c.dataset_name ? `/${c.dataset_name}` : ""} [${split}]`
    : String(c.dataset_path ?? "data_files");
  let docs: number | null = null;
  let source: string;
  try {
    await task.prepare({ download: false });
    const r = split ? task.resolvedSplit(split) : undefined;
    if (hub && !r) source = "Hugging Face Hub (not downloaded)";
    else {
      docs = await task.countDocs();
      source = !hub ? task.evalFile() : r!.origin === "cache" ? `cache: ${r!.file}` : r!.file;
    }
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    source = `unavailable: ${e.message}`;
  }
  return {
    task: c.task,
    docs,
    outputType: task.outputType,
    numFewshot: task.numFewshot,
    metrics: metricKeys(task),
    dataset,
    source,
    file: loaded.file,
  };
}

export function register(program: Command): void {
  program
    .command("tasks")
    .description("list the built-in tasks with their size, metrics and data source")
    .argument("[names...]", "tasks, tags or groups to list (default: all built-in tasks)")
    .option("--data-dir <dir>", "local copies of hub datasets (default $ASSAY_DATA_DIR)")
    .option("--json", "print the listing as JSON")
    .action(async (names: string[], opts: { dataDir?: string; json?: boolean }) => {
      if (opts.dataDir !== undefined) useDataDir(opts.dataDir);
      let loaded: LoadedTaskConfig[];
      let groups: ResolvedGroup[];
      if (names.length === 0) {
        loaded = builtinTasks();
        groups = builtinGroups();
      } else {
        const sel = names.map((n) => resolveSelection(n));
        loaded = sel.flatMap((s) => s.tasks);
        groups = sel.flatMap((s) => s.groups);
      }
      const tasks: TaskListing[] = [];
      for (const l of loaded) tasks.push(await describeTask(l));
      const byName = new Map(tasks.map((t) => [t.task, t]));
      const groupRows: GroupListing[] = groups.map((g) => {
        const sizes = g.leaves.map((t) => byName.get(t)?.docs ?? null);
        return {
          group: g.config.group,
          tasks: g.leaves.length,
          docs: sizes.some((s) => s === null) ? null : sizes.reduce((a: number, b) => a + (b ?? 0), 0),
          metrics: (g.config.aggregate_metric_list ?? []).map(
            (m) => `${m.metric}${m.weight_by_size ? " (size-weighted)" : ""}`,
          ),
        };
      });
      if (opts.json) {
        printJson({ dataDir: dataDir() ?? null, tasks, groups: groupRows });
        return;
      }
      const cwd = process.cwd();
      const shown = (s: string) => (path.isAbsolute(s) ? path.relative(cwd, s) || s : s);
      const lines = alignColumns(
        ["Task", "Docs", "Shots", "Metrics", "Dataset", "Data"],
        tasks.map((t) => [
          printable(t.task),
          t.docs === null ? "?" : fmtInt(t.docs),
          String(t.numFewshot),
          t.metrics.join(" "),
          printable(t.dataset),
          printable(shown(t.source)),
        ]),
        [false, true, true, false, false, false],
      );
      if (groupRows.length > 0) {
        lines.push("");
        lines.push(
          ...alignColumns(
            ["Group", "Tasks", "Docs", "Aggregate"],
            groupRows.map((g) => [
              g.group,
              String(g.tasks),
              g.docs === null ? "?" : fmtInt(g.docs),
              g.metrics.join(" "),
            ]),
            [false, true, true, false],
          ),
        );
      }
      lines.push("");
      lines.push(
        dataDir()
          ? `Data directory: ${dataDir()}`
          : "No data directory: hub datasets are downloaded into the cache on first run (--data-dir or ASSAY_DATA_DIR to use local copies).",
      );
      process.stdout.write(`${lines.join("\n")}\n`);
    });
}
