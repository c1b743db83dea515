/** Resolves `assay run <task.yaml|dir|name>` to task config files, and lm-eval groups to their tasks. */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { didYouMean, UserError } from "../util/errors.js";
import { type LoadedTaskConfig, loadTaskConfig } from "./config.js";

/** The task library shipped with assay (`tasks/` at the package root). */
export const BUILTIN_TASK_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../tasks");

/** One `aggregate_metric_list` entry of an lm-eval group. */
export interface GroupMetric {
  metric: string;
  aggregation?: string;
  weight_by_size?: boolean;
  filter_list?: string[];
}

/** An lm-eval group config: `group: name` with a `task:` list of task names, tags or groups. */
export interface GroupConfig {
  group: string;
  group_alias?: string;
  task: string[];
  aggregate_metric_list?: GroupMetric[];
  metadata?: Record<string, unknown>;
}

export interface ResolvedGroup {
  config: GroupConfig;
  file: string;
  /** The leaf task names under the group, through nested groups and tags (lm-eval aggregates over these). */
  leaves: string[];
}

interface TaskIndex {
  tasks: LoadedTaskConfig[];
  groups: Map<string, { config: GroupConfig; file: string }>;
}

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...yamlFiles(p));
    else if (/\.ya?ml$/.test(name)) out.push(p);
  }
  return out;
}

/** The top-level keys of a YAML file without validating it (`!function` and other tags tolerated). */
function peek(file: string): Record<string, unknown> | undefined {
  try {
    const v = parseYaml(readFileSync(file, "utf8"), {
      customTags: [{ tag: "!function", resolve: (s: string) => ({ __function__: s }) }],
      logLevel: "silent",
    });
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const isGroupConfig = (d: Record<string, unknown> | undefined): boolean =>
  !!d && typeof d.group === "string" && Array.isArray(d.task);

function validateGroup(d: Record<string, unknown>, file: string): GroupConfig {
  const c = d as unknown as GroupConfig;
  if (c.task.some((t) => typeof t !== "string"))
    throw new UserError("group task list entries must be task, tag or group names", {
      file,
      field: "task",
      expected: "a list of names (inline task configs are not supported)",
    });
  if (c.aggregate_metric_list !== undefined) {
    const list = Array.isArray(c.aggregate_metric_list) ? c.aggregate_metric_list : [c.aggregate_metric_list];
    for (const m of list) {
      if (typeof m?.metric !== "string")
        throw new UserError("each aggregate_metric_list entry needs a 'metric'", {
          file,
          field: "aggregate_metric_list",
          expected: "{metric: acc, weight_by_size: true}",
        });
      if (m.aggregation !== undefined && m.aggregation !== "mean")
        throw new UserError(`unsupported group aggregation '${m.aggregation}'`, {
          file,
          field: "aggregate_metric_list",
          expected: "mean (as lm-eval)",
        });
    }
    c.aggregate_metric_list = list;
  }
  return c;
}

/**
 * Every task and group under a directory. As in lm-eval, a file is a group when it has `group` and a
 * `task` list, a task when `task` is a name; other files (shared templates) are skipped.
 */
function indexDir(dir: string): TaskIndex {
  const index: TaskIndex = { tasks: [], groups: new Map() };
  for (const f of yamlFiles(dir)) {
    const d = peek(f);
    if (isGroupConfig(d)) index.groups.set(d!.group as string, { config: validateGroup(d!, f), file: f });
    else if (d && typeof d.task === "string") index.tasks.push(loadTaskConfig(f));
    else if (
      !path.basename(f).startsWith("_") &&
      (!d || d.task === undefined) &&
      d?.include === undefined &&
      d?.group === undefined
    )
      // Not a template by lm-eval's naming and no task: report it rather than skip it silently.
      loadTaskConfig(f);
  }
  return index;
}

/** All task files under a directory that define a task (templates without `task:` are skipped). */
export function tasksInDir(dir: string): LoadedTaskConfig[] {
  return indexDir(dir).tasks;
}

let builtinIndex: TaskIndex | undefined;
function builtin(): TaskIndex {
  builtinIndex ??= existsSync(BUILTIN_TASK_DIR)
    ? indexDir(BUILTIN_TASK_DIR)
    : { tasks: [], groups: new Map() };
  return builtinIndex;
}

export function builtinTasks(): LoadedTaskConfig[] {
  return builtin().tasks;
}

/** The built-in groups with their leaf tasks. */
export function builtinGroups(): ResolvedGroup[] {
  const idx = builtin();
  return [...idx.groups.keys()].map((g) => expandGroup(g, [idx]).group!);
}

const tagsOf = (t: LoadedTaskConfig): string[] => {
  const tag = t.config.tag;
  return tag === undefined ? [] : Array.isArray(tag) ? tag : [tag];
};

interface Expanded {
  tasks: LoadedTaskConfig[];
  groups: ResolvedGroup[];
  group?: ResolvedGroup;
}

/** A name's tasks in the first index that knows it: a group (recursively), a task, or a tag. */
function expandName(name: string, indexes: TaskIndex[], seen: Set<string>): Expanded | undefined {
  for (const idx of indexes) {
    if (idx.groups.has(name)) return expandGroup(name, indexes, seen);
    const task = idx.tasks.find((t) => t.config.task === name);
    if (task) return { tasks: [task], groups: [] };
    const tagged = idx.tasks.filter((t) => tagsOf(t).includes(name));
    if (tagged.length > 0) return { tasks: tagged, groups: [] };
  }
  return undefined;
}

function expandGroup(name: string, indexes: TaskIndex[], seen = new Set<string>()): Expanded {
  const idx = indexes.find((i) => i.groups.has(name))!;
  const { config, file } = idx.groups.get(name)!;
  if (seen.has(name)) throw new UserError(`group '${name}' includes itself`, { file, field: "task" });
  seen.add(name);
  const tasks: LoadedTaskConfig[] = [];
  const groups: ResolvedGroup[] = [];
  for (const member of config.task) {
    const e = expandName(member, indexes, new Set(seen));
    if (!e)
      throw new UserError(`group '${name}' names an unknown task, tag or group '${member}'`, {
        file,
        field: "task",
        hint: didYouMean(
          member,
          indexes.flatMap((i) => i.tasks.map((t) => t.config.task)),
        ),
      });
    tasks.push(...e.tasks);
    groups.push(...e.groups);
  }
  const group: ResolvedGroup = { config, file, leaves: [...new Set(tasks.map((t) => t.config.task))] };
  return { tasks, groups: [...groups, group], group };
}

/** Tasks (each once, in order) and the groups to aggregate for one `assay run` argument. */
export function resolveSelection(arg: string): { tasks: LoadedTaskConfig[]; groups: ResolvedGroup[] } {
  const dedupe = (e: Expanded) => {
    const seen = new Set<string>();
    const tasks = e.tasks.filter((t) => !seen.has(t.file) && seen.add(t.file));
    const groupsSeen = new Set<string>();
    const groups = e.groups.filter((g) => !groupsSeen.has(g.config.group) && groupsSeen.add(g.config.group));
    return { tasks, groups };
  };
  if (existsSync(arg)) {
    if (statSync(arg).isDirectory()) {
      const idx = indexDir(arg);
      if (idx.tasks.length === 0) throw new UserError("no task YAML files in directory", { file: arg });
      const groups = [...idx.groups.keys()].flatMap((g) => expandGroup(g, [idx, builtin()]).groups);
      return dedupe({ tasks: idx.tasks, groups });
    }
    const d = peek(arg);
    if (isGroupConfig(d)) {
      const idx = indexDir(path.dirname(arg));
      idx.groups.set(d!.group as string, { config: validateGroup(d!, arg), file: arg });
      return dedupe(expandGroup(d!.group as string, [idx, builtin()]));
    }
    return { tasks: [loadTaskConfig(arg)], groups: [] };
  }
  if (/\.ya?ml$/.test(arg)) throw new UserError("task file not found", { file: arg });
  const found = expandName(arg, [builtin()], new Set());
  if (found) return dedupe(found);
  const idx = builtin();
  throw new UserError(`unknown task '${arg}'`, {
    field: "task",
    expected: "a task YAML file, a directory of them, or a built-in task, tag or group name",
    hint: didYouMean(arg, [...idx.tasks.map((t) => t.config.task), ...idx.groups.keys()]),
  });
}

export function resolveTasks(arg: string): LoadedTaskConfig[] {
  return resolveSelection(arg).tasks;
}
