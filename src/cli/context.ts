/** Helpers shared by commands: the store, run lookup, output. */
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { setDataDir } from "../data/sources.js";
import type { SchedulerOptions } from "../engine/scheduler.js";
import { openStore } from "../store/sqlite.js";
import type { RunRecord, Store } from "../store/types.js";
import type { LoadedTaskConfig, TaskConfig } from "../tasks/config.js";
import { UserError } from "../util/errors.js";

/** Adds `--store <file>` to a command. */
export function withStoreOption(cmd: Command): Command {
  return cmd.option("--store <file>", "SQLite store file (default .assay/assay.db, or $ASSAY_STORE)");
}

/** The scheduler's options: --concurrency, --timeout and --max-retries. */
export function withSchedulerOptions(cmd: Command): Command {
  return cmd
    .option("--concurrency <n>", "requests on the wire per model", intOption("--concurrency", 1), 16)
    .option("--timeout <seconds>", "per-request timeout", intOption("--timeout", 1), 120)
    .option(
      "--max-retries <n>",
      "retries per request on 429, 5xx, timeouts and connection errors",
      intOption("--max-retries", 0),
      6,
    );
}

/** The values of withSchedulerOptions' flags. */
export interface SchedulerFlags {
  concurrency: number;
  timeout: number;
  maxRetries: number;
}

/** Scheduler settings from withSchedulerOptions' flags (the timeout is given in seconds). */
export function schedulerOptionsFrom(flags: SchedulerFlags): Partial<SchedulerOptions> {
  return { concurrency: flags.concurrency, timeoutMs: flags.timeout * 1000, maxRetries: flags.maxRetries };
}

export function storeFrom(opts: { store?: string }): Store {
  return openStore(opts.store);
}

export const cacheDirFor = (store: Store): string =>
  path.join(path.dirname(path.resolve(store.location)), "cache");

/** Finds a run by id or unique id prefix. */
export async function findRun(store: Store, idOrPrefix: string): Promise<RunRecord> {
  const exact = await store.getRun(idOrPrefix);
  if (exact) return exact;
  const matches = await store.findRuns(idOrPrefix);
  if (matches.length === 1) return matches[0];
  if (matches.length > 1)
    throw new UserError(`run id '${idOrPrefix}' is ambiguous`, {
      field: "run",
      hint: `matches: ${matches
        .slice(0, 5)
        .map((r) => r.id)
        .join(", ")}`,
    });
  throw new UserError(`no run '${idOrPrefix}' in ${store.location}`, {
    field: "run",
    hint: "list runs with: assay runs",
  });
}

/** Rebuilds the task of a stored run from its recorded configuration (the YAML may have changed). */
export function storedTask(run: RunRecord): LoadedTaskConfig {
  const file = run.config.taskFile;
  return {
    config: run.config.taskConfig as TaskConfig,
    file,
    dir: path.dirname(file),
    lineOf: () => undefined,
  };
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Parses a positive integer option with a clear error. */
export function intOption(name: string, min = 0): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
      throw new UserError(`invalid value '${value}'`, { field: name, expected: `an integer ≥ ${min}` });
    return n;
  };
}

/** `--data-dir`: local copies of hub datasets for the built-in tasks. */
export function useDataDir(dir: string): void {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new UserError(`no such directory: ${dir}`, { field: "--data-dir", expected: "a directory" });
  setDataDir(dir);
}

/** Writes an output file (creating its folder); a failure names the file and the option. */
export function writeOutputFile(file: string, text: string, field: string): void {
  try {
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    writeFileSync(file, text);
  } catch (e) {
    throw new UserError(
      `cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      {
        field,
      },
    );
  }
}
