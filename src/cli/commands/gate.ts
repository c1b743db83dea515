import { appendFileSync } from "node:fs";
import type { Command } from "commander";
import { evaluateGate, type GateResult } from "../../gates/evaluate.js";
import { type GateConfig, loadGateConfig } from "../../gates/gate_config.js";
import {
  formatGateTable,
  gateJson,
  githubAnnotations,
  junitXml,
  markdownSummary,
} from "../../gates/outputs.js";
import type { RunRecord, Store } from "../../store/types.js";
import { UserError } from "../../util/errors.js";
import { findRun, intOption, storeFrom, withStoreOption, writeOutputFile } from "../context.js";
import { EXIT_GATE_FAILED, EXIT_OK } from "../exit.js";

export interface GateOutputOptions {
  junit?: string;
  markdown?: string;
  /** Print GitHub Actions annotations (also when GITHUB_ACTIONS=true). */
  github?: boolean;
  json?: boolean;
  /** Where the table goes (stderr when stdout carries JSON of something else). */
  out?: NodeJS.WritableStream;
  seed?: number;
}

/** Comma-separated and repeated run ids → run records. */
export async function resolveRunList(
  store: Store,
  lists: string[] | string | undefined,
): Promise<RunRecord[]> {
  const ids = (Array.isArray(lists) ? lists : lists ? [lists] : [])
    .flatMap((l) => l.split(","))
    .map((s) => s.trim())
    .filter(Boolean);
  const runs: RunRecord[] = [];
  for (const id of ids) runs.push(await findRun(store, id));
  return runs;
}

/** Evaluates a gate, prints and writes its outputs; returns the exit code (0 pass, 1 failed). */
export async function applyGate(
  store: Store,
  config: GateConfig,
  candidates: RunRecord[],
  baselines: RunRecord[],
  opts: GateOutputOptions = {},
): Promise<{ result: GateResult; exitCode: number }> {
  const result = await evaluateGate(store, config, candidates, baselines, { seed: opts.seed });
  const out = opts.out ?? process.stdout;
  if (opts.json) out.write(`${JSON.stringify(gateJson(result), null, 2)}\n`);
  else out.write(`${formatGateTable(result)}\n`);
  if (opts.junit) writeOutputFile(opts.junit, junitXml(result), "--junit");
  if (opts.markdown) writeOutputFile(opts.markdown, markdownSummary(result), "--markdown");
  if (opts.github || process.env.GITHUB_ACTIONS === "true") {
    // Workflow commands must reach stdout to become annotations.
    for (const line of githubAnnotations(result)) process.stdout.write(`${line}\n`);
    const summary = process.env.GITHUB_STEP_SUMMARY;
    if (summary) {
      try {
        appendFileSync(summary, markdownSummary(result));
      } catch {
        // The job summary is a nicety; never fail the gate over it.
      }
    }
  }
  return { result, exitCode: result.passed ? EXIT_OK : EXIT_GATE_FAILED };
}

const collect = (v: string, acc: string[]) => [...acc, v];

export function register(program: Command): void {
  withStoreOption(
    program
      .command("gate")
      .description("check release rules (YAML) against runs; exit 1 when a rule fails")
      .argument("<config>", "gate YAML file")
      .requiredOption("--candidate <runs>", "candidate run ids, comma-separated or repeated", collect, [])
      .option(
        "--baseline <runs>",
        "baseline run ids for compare_to rules, comma-separated or repeated",
        collect,
        [],
      )
      .option("--junit <file>", "write JUnit XML (one testcase per rule and run)")
      .option("--markdown <file>", "write a Markdown summary (for a PR comment)")
      .option("--github", "print GitHub Actions annotations (default when GITHUB_ACTIONS=true)")
      .option("--seed <n>", "seed of the paired bootstrap (corpus metrics)", intOption("--seed", 0), 1234)
      .option("--json", "print the result as JSON"),
  ).action(
    async (
      file: string,
      opts: {
        store?: string;
        candidate: string[];
        baseline: string[];
        junit?: string;
        markdown?: string;
        github?: boolean;
        seed: number;
        json?: boolean;
      },
    ) => {
      const config = loadGateConfig(file);
      const store = storeFrom(opts);
      try {
        const candidates = await resolveRunList(store, opts.candidate);
        if (candidates.length === 0)
          throw new UserError("no candidate runs", { field: "--candidate", expected: "one or more run ids" });
        const baselines = await resolveRunList(store, opts.baseline);
        const { exitCode } = await applyGate(store, config, candidates, baselines, opts);
        process.exitCode = exitCode;
      } finally {
        await store.close();
      }
    },
  );
}
