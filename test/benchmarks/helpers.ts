/** Shared paths and helpers for the benchmark-library tests. */
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setDataDir } from "../../src/data/sources.js";
import { loadTaskConfig } from "../../src/tasks/config.js";
import { resolveTasks } from "../../src/tasks/resolve.js";
import { Task } from "../../src/tasks/task.js";
import { repoRoot } from "../helpers/cli.js";

/** The local copies of the benchmarks (../shared/data/benchmarks), or undefined when absent. */
export const BENCH_DIR = path.resolve(repoRoot, "../shared/data/benchmarks");
export const HAVE_BENCH = existsSync(BENCH_DIR);
/** Message for the tests skipped without ../shared. */
export const NO_BENCH = `skipped: ${BENCH_DIR} (the benchmarks' local copies) is missing`;
if (!HAVE_BENCH) console.warn(NO_BENCH);

export function tmpDir(prefix = "assay-bench-"): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export function writeFiles(dir: string, files: Record<string, string | Buffer>): string {
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

/** A built-in task by name, reading its data from the local copies. */
export function builtinTask(name: string, overrides: { numFewshot?: number } = {}): Task {
  setDataDir(BENCH_DIR);
  const [loaded] = resolveTasks(name).filter((t) => t.config.task === name);
  if (!loaded) throw new Error(`no built-in task ${name}`);
  return new Task(loaded, overrides);
}

export function taskFromYaml(dir: string, yaml: string, file = "t.yaml"): Task {
  writeFileSync(path.join(dir, file), yaml);
  return new Task(loadTaskConfig(path.join(dir, file)));
}

/** The prompts of the first `n` eval docs, built in order as a run builds them. */
export async function firstPrompts(task: Task, n = 3): Promise<string[]> {
  const fewshot = await task.fewshotState();
  const out: string[] = [];
  for await (const { doc } of task.streamDocs()) {
    out.push(task.prompt(doc, fewshot));
    if (out.length === n) break;
  }
  return out;
}
