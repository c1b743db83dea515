/** Resolves `assay run <task.yaml|dir|name>` to task config files. */
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { didYouMean, UserError } from "../util/errors.js";
import { type LoadedTaskConfig, loadTaskConfig } from "./config.js";

/** The task library shipped with assay (`tasks/` at the package root). */
export const BUILTIN_TASK_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../tasks");

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...yamlFiles(p));
    // lm-eval convention: files starting with `_` are shared templates, not tasks.
    else if (/\.ya?ml$/.test(name) && !name.startsWith("_")) out.push(p);
  }
  return out;
}

/** All task files under a directory that define a task (templates without `task:` are skipped). */
export function tasksInDir(dir: string): LoadedTaskConfig[] {
  return yamlFiles(dir).map((f) => loadTaskConfig(f));
}

export function builtinTasks(): LoadedTaskConfig[] {
  return existsSync(BUILTIN_TASK_DIR) ? tasksInDir(BUILTIN_TASK_DIR) : [];
}

export function resolveTasks(arg: string): LoadedTaskConfig[] {
  if (existsSync(arg)) {
    if (statSync(arg).isDirectory()) {
      const found = tasksInDir(arg);
      if (found.length === 0) throw new UserError("no task YAML files in directory", { file: arg });
      return found;
    }
    return [loadTaskConfig(arg)];
  }
  if (/\.ya?ml$/.test(arg)) throw new UserError("task file not found", { file: arg });
  const builtin = builtinTasks();
  const matches = builtin.filter((t) => t.config.task === arg || (t.config.tag ?? []).includes(arg));
  if (matches.length > 0) return matches;
  throw new UserError(`unknown task '${arg}'`, {
    field: "task",
    expected: "a task YAML file, a directory of them, or a built-in task name",
    hint: didYouMean(
      arg,
      builtin.map((t) => t.config.task),
    ),
  });
}
