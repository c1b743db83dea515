import { createWriteStream, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { runTask } from "../../engine/runner.js";
import { loadGateConfig } from "../../gates/gate_config.js";
import { createProvider } from "../../models/registry.js";
import type { ModelProvider } from "../../models/types.js";
import { lmEvalResults, sampleToLmEvalJsonl } from "../../report/export.js";
import { formatRunTable } from "../../report/table.js";
import type { RunRecord, Store } from "../../store/types.js";
import type { LoadedTaskConfig } from "../../tasks/config.js";
import { aggregateGroups, formatGroupTable, type GroupResult } from "../../tasks/groups.js";
import { type ResolvedGroup, resolveSelection } from "../../tasks/resolve.js";
import { Task } from "../../tasks/task.js";
import { UserError } from "../../util/errors.js";
import {
  cacheDirFor,
  findRun,
  intOption,
  printJson,
  type SchedulerFlags,
  schedulerOptionsFrom,
  storedTask,
  storeFrom,
  useDataDir,
  withSchedulerOptions,
  withStoreOption,
} from "../context.js";
import { EXIT_ERROR } from "../exit.js";
import { createProgress, progressMode } from "../progress.js";
import { applyGate, resolveRunList } from "./gate.js";

interface RunOptions extends SchedulerFlags {
  model: string[];
  limit?: number;
  numFewshot?: number;
  outputDir?: string;
  json?: boolean;
  resume?: string;
  fresh?: boolean;
  seed: number;
  dataDir?: string;
  store?: string;
  gate?: string;
  baseline?: string[];
}

async function writeOutputs(
  dir: string,
  runs: RunRecord[],
  groups: GroupResult[],
  store: Store,
): Promise<void> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "results.json"), `${JSON.stringify(lmEvalResults(runs, groups), null, 2)}\n`);
  for (const run of runs) {
    const out = createWriteStream(path.join(dir, `samples_${run.task}_${run.id}.jsonl`));
    for await (const s of store.iterateSamples(run.id))
      out.write(`${JSON.stringify(sampleToLmEvalJsonl(s, run))}\n`);
    await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  }
}

export function register(program: Command): void {
  const run = program
    .command("run")
    .description("evaluate tasks against models (resumes an identical earlier run)")
    .argument("[tasks...]", "task YAML files, directories of them, or built-in task names")
    .option(
      "-m, --model <spec>",
      "model spec, repeatable: ngram:<files>, openai:<model>[@url], anthropic:<model>, llamacpp:<gguf>, replay:<jsonl>",
      (v, acc: string[]) => [...acc, v],
      [],
    )
    .option("--limit <n>", "evaluate only the first N docs of each task", intOption("--limit", 1))
    .option("--num-fewshot <n>", "override num_fewshot", intOption("--num-fewshot", 0));
  withStoreOption(
    withSchedulerOptions(run)
      .option("--seed <n>", "seed for sampling and bootstrap", intOption("--seed", 0), 1234)
      .option(
        "--data-dir <dir>",
        "local copies of hub datasets (default $ASSAY_DATA_DIR); without one they are downloaded and cached",
      )
      .option("--output-dir <dir>", "also write lm-eval style results.json and samples JSONL here")
      .option("--resume <run>", "continue an interrupted or crashed run")
      .option("--fresh", "start a new run even if an identical one exists")
      .option("--json", "print results as JSON (no progress output)")
      .option("--gate <config>", "check these gate rules on the new runs; exit 1 when one fails")
      .option(
        "--baseline <runs>",
        "baseline run ids for the gate's compare_to rules",
        (v, acc: string[]) => [...acc, v],
        [],
      ),
  ).action(async (taskArgs: string[], opts: RunOptions) => {
    // Validate the gate file before spending time on the runs.
    const gate = opts.gate ? loadGateConfig(opts.gate) : undefined;
    if (opts.dataDir !== undefined) useDataDir(opts.dataDir);
    const store = storeFrom(opts);
    const controller = new AbortController();
    const onSigint = () => {
      if (controller.signal.aborted) process.exit(130);
      controller.abort();
      process.stderr.write(
        "\nassay: interrupting; finishing in-flight requests (Ctrl-C again to quit now)\n",
      );
    };
    process.on("SIGINT", onSigint);
    const providers = new Map<string, ModelProvider>();
    const getProvider = async (spec: string) => {
      let p = providers.get(spec);
      if (!p) providers.set(spec, (p = await createProvider(spec, { cacheDir: cacheDirFor(store) })));
      return p;
    };
    try {
      const baselines = gate ? await resolveRunList(store, opts.baseline) : [];
      const jobs: Array<{
        loaded: LoadedTaskConfig;
        model: string;
        runId?: string;
        limit?: number;
        numFewshot?: number;
        seed: number;
      }> = [];
      const groups: ResolvedGroup[] = [];
      if (opts.resume) {
        const run = await findRun(store, opts.resume);
        jobs.push({
          loaded: storedTask(run),
          model: run.model,
          runId: run.id,
          limit: run.config.limit,
          numFewshot: run.config.numFewshot,
          seed: run.config.seed,
        });
      } else {
        if (taskArgs.length === 0)
          throw new UserError("no task given", {
            field: "tasks",
            expected: "a task YAML file, directory or name",
          });
        if (opts.model.length === 0)
          throw new UserError("no model given", {
            field: "--model",
            expected: "e.g. --model ngram:corpus.txt",
          });
        const selections = taskArgs.map((t) => resolveSelection(t));
        const loaded = selections.flatMap((s) => s.tasks);
        groups.push(...selections.flatMap((s) => s.groups));
        for (const model of opts.model)
          for (const l of loaded)
            jobs.push({ loaded: l, model, limit: opts.limit, numFewshot: opts.numFewshot, seed: opts.seed });
      }
      const reporter = createProgress(progressMode(!!opts.json));
      const runs: RunRecord[] = [];
      try {
        for (const job of jobs) {
          if (controller.signal.aborted) break;
          const provider = await getProvider(job.model);
          const task = new Task(job.loaded, { numFewshot: job.numFewshot });
          runs.push(
            await runTask({
              task,
              provider,
              store,
              limit: job.limit,
              seed: job.seed,
              runId: job.runId,
              fresh: opts.fresh,
              signal: controller.signal,
              scheduler: schedulerOptionsFrom(opts),
              onProgress: (p) => reporter.update(p),
              costOf: (u) => provider.costFor?.(u) ?? 0,
            }),
          );
          reporter.stop();
        }
      } finally {
        reporter.stop();
      }
      // lm-eval groups (mmlu): size-weighted means with pooled stderr over their tasks' runs.
      const groupResults = aggregateGroups(groups, runs);
      if (opts.outputDir) await writeOutputs(opts.outputDir, runs, groupResults, store);
      if (opts.json) printJson(groupResults.length > 0 ? { runs, groups: groupResults } : { runs });
      else
        process.stdout.write(
          `${formatRunTable(runs)}\n${groupResults.length > 0 ? `${formatGroupTable(groupResults)}\n` : ""}`,
        );
      const interrupted = runs.filter((r) => r.status !== "completed");
      if (controller.signal.aborted || interrupted.length > 0) {
        for (const r of interrupted)
          process.stderr.write(`assay: run ${r.id} interrupted; continue with: assay run --resume ${r.id}\n`);
        process.exitCode = EXIT_ERROR;
      } else if (gate) {
        // With --json, stdout carries the runs; the gate table goes to stderr.
        const out = opts.json ? process.stderr : process.stdout;
        if (!opts.json) out.write("\n");
        process.exitCode = (await applyGate(store, gate, runs, baselines, { out, seed: opts.seed })).exitCode;
      }
    } finally {
      process.off("SIGINT", onSigint);
      for (const p of providers.values()) await p.close?.();
      await store.close();
    }
  });
}
