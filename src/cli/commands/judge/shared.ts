/** What the `assay judge` commands share: options, model handles, prompts, human labels and output tables. */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { Scheduler } from "../../../engine/scheduler.js";
import type { PairwiseDiagnostics } from "../../../judges/bias.js";
import { JudgeClient } from "../../../judges/client.js";
import type { PairSummary, SingleSummary } from "../../../judges/mtbench_summary.js";
import { TIE_RULES, type TieRule, type Winner } from "../../../judges/pairwise.js";
import { getPrompt, type JudgePrompt, loadJudgePrompts, templateFields } from "../../../judges/prompts.js";
import { createProvider } from "../../../models/registry.js";
import { type ModelProvider, ProviderError } from "../../../models/types.js";
import { alignColumns, fmtNum } from "../../../report/format.js";
import type { Store } from "../../../store/types.js";
import { UserError } from "../../../util/errors.js";
import {
  cacheDirFor,
  intOption,
  type SchedulerFlags,
  schedulerOptionsFrom,
  storeFrom,
  withSchedulerOptions,
  withStoreOption,
} from "../../context.js";
import { EXIT_ERROR } from "../../exit.js";

export interface CommonOptions extends SchedulerFlags {
  judge: string[];
  parseRetries: number;
  judgeMaxTokens: number;
  seed: number;
  outputDir?: string;
  json?: boolean;
  store?: string;
}

export const collect = (v: string, acc: string[]) => [...acc, v];

export function common(cmd: Command): Command {
  const judged = cmd
    .option("-j, --judge <spec>", "judge model spec (repeat for a panel where supported)", collect, [])
    .option(
      "--parse-retries <n>",
      "new samples after an unparseable judgment",
      intOption("--parse-retries", 0),
      2,
    )
    .option("--judge-max-tokens <n>", "max tokens of a judgment", intOption("--judge-max-tokens", 1), 2048);
  return withStoreOption(
    withSchedulerOptions(judged)
      .option("--seed <n>", "seed for sampled requests", intOption("--seed", 0), 1234)
      .option("--output-dir <dir>", "write judgments.jsonl and summary.json here")
      .option("--json", "print the summary as JSON"),
  );
}

/** Providers and schedulers of one command, closed together. */
export class Models {
  private providers = new Map<string, ModelProvider>();
  private schedulers = new Map<string, Scheduler>();
  constructor(
    private readonly store: Store,
    private readonly opts: CommonOptions,
  ) {}

  async scheduler(spec: string): Promise<Scheduler> {
    let s = this.schedulers.get(spec);
    if (s) return s;
    const p = await createProvider(spec, { cacheDir: cacheDirFor(this.store) });
    this.providers.set(spec, p);
    s = new Scheduler(p, this.store, schedulerOptionsFrom(this.opts));
    this.schedulers.set(spec, s);
    return s;
  }

  async judge(spec: string): Promise<JudgeClient> {
    const s = await this.scheduler(spec);
    return new JudgeClient(this.providers.get(spec)!, s, {
      parseRetries: this.opts.parseRetries,
      maxTokens: this.opts.judgeMaxTokens,
      seed: this.opts.seed,
    });
  }

  async close(): Promise<void> {
    for (const s of this.schedulers.values()) await s.flush();
    for (const p of this.providers.values()) await p.close?.();
  }
}

/** Runs `body` with the store and models; provider failures become one clear error line. */
export async function withModels<T>(opts: CommonOptions, body: (models: Models) => Promise<T>): Promise<T> {
  const store = storeFrom(opts);
  const models = new Models(store, opts);
  try {
    return await body(models);
  } catch (e) {
    if (e instanceof ProviderError)
      throw new UserError(`model request failed: ${e.message}`, {
        hint: "answers and judgments made so far are cached; rerun the same command to continue",
      });
    throw e;
  } finally {
    await models.close();
    await store.close();
  }
}

export function requireJudges(opts: CommonOptions, max = Number.POSITIVE_INFINITY): string[] {
  if (opts.judge.length === 0)
    throw new UserError("no judge given", {
      field: "--judge",
      expected: "a model spec, e.g. --judge openai:gpt-4o",
    });
  if (opts.judge.length > max)
    throw new UserError(`${opts.judge.length} judges given`, {
      field: "--judge",
      expected: max === 1 ? "one judge for this command" : `at most ${max}`,
    });
  return opts.judge;
}

export function tieRuleOption(v: string): TieRule {
  if (!(TIE_RULES as readonly string[]).includes(v))
    throw new UserError(`invalid value '${v}'`, { field: "--tie-rule", expected: TIE_RULES.join(", ") });
  return v as TieRule;
}

export function writeOutputs(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
}

export const jsonl = (rows: readonly unknown[]) => rows.map((r) => `${JSON.stringify(r)}\n`).join("");
export const num = (x: number | null | undefined, d = 3) =>
  x === null || x === undefined || !Number.isFinite(x) ? "-" : fmtNum(x, d);
export const pct = (x: number | null | undefined) =>
  x === null || x === undefined ? "-" : `${(100 * x).toFixed(1)}%`;

export function parseLine(
  label: string,
  p: { judgments: number; failed: number; failureRate: number; outputs: number; unparseableOutputs: number },
): string {
  return `${label}: ${p.failed} of ${p.judgments} judgments failed to parse (${pct(p.failureRate)}); ${p.unparseableOutputs} of ${p.outputs} outputs unparseable (retries included)`;
}

export function diagnosticsText(d: PairwiseDiagnostics): string[] {
  const lines = [parseLine("parse", d.parse)];
  const p = d.position;
  lines.push(
    `position: consistency ${pct(p.consistency)} (${p.consistent}/${p.pairs} pairs), biased to first ${p.biasedFirst}, to second ${p.biasedSecond}; first-position rate ${pct(p.firstPositionRate)} of ${p.decisive} decisive verdicts; ties ${pct(p.tieRate)}`,
  );
  const l = d.length;
  lines.push(
    `length: spearman(verdict, length difference) ${num(l.spearman)} (p ${num(l.pvalue, 4)}, n ${l.n}); longer answer chosen ${pct(l.longerWinRate)} of ${l.decisiveWithLengthDifference}`,
  );
  const s = d.selfPreference;
  lines.push(
    s.flag
      ? `self-preference: WARNING judge ${s.judge} (family ${s.judgeFamily ?? "same name"}) grades its own family: ${s.sameFamily.join(", ")}`
      : `self-preference: none (judge family ${s.judgeFamily ?? "unknown"})`,
  );
  if (d.human) {
    const h = d.human;
    lines.push(
      `humans (${h.pairs} pairs, ${h.unparseable} without a judge verdict): vs majority ${pct(h.vsMajority.withTies.rate)} with ties (${h.vsMajority.withTies.agree}/${h.vsMajority.withTies.total}), ${pct(h.vsMajority.withoutTies.rate)} without (${h.vsMajority.withoutTies.agree}/${h.vsMajority.withoutTies.total}); vs each human ${pct(h.vsEachHuman.withTies.rate)} / ${pct(h.vsEachHuman.withoutTies.rate)}; Cohen's kappa vs majority ${num(h.kappaVsMajority)}; vs majority counting failed judgments as wrong ${pct(h.vsMajorityFailedAsWrong.withTies.rate)} (${h.vsMajorityFailedAsWrong.withTies.agree}/${h.vsMajorityFailedAsWrong.withTies.total})`,
    );
  }
  return lines;
}

export function singleTable(s: SingleSummary): string {
  const header = ["model", "turn 1", "turn 2", "overall", "n", "failed", ...s.categories];
  const rows = s.models.map((m) => [
    m.model,
    num(m.turn1.mean),
    num(m.turn2.mean),
    num(m.overall.mean),
    String(m.overall.n),
    `${m.failed} (${pct(m.failureRate)})`,
    ...s.categories.map((c) => num(m.categories[c]?.mean)),
  ]);
  const lines = alignColumns(
    header,
    rows,
    header.map((_, i) => i > 0),
  );
  lines.push("", parseLine("parse", s.parse));
  if (s.selfPreference.flag)
    lines.push(
      `self-preference: WARNING judge ${s.judge} grades its own family: ${s.selfPreference.sameFamily.join(", ")}`,
    );
  return lines.join("\n");
}

export function winRows(rates: PairSummary["winRates"]): string[] {
  const header = ["model", "win", "loss", "tie", "win rate", "adjusted"];
  const rows = rates.map((w) => [
    w.model,
    String(w.win),
    String(w.loss),
    String(w.tie),
    num(w.winRate),
    num(w.winRateAdjusted),
  ]);
  return alignColumns(
    header,
    rows,
    header.map((_, i) => i > 0),
  );
}

export function pairTable(s: PairSummary): string {
  const lines = winRows(s.winRates);
  const cats = Object.keys(s.categories).filter((c) => c !== "");
  if (cats.length > 0) {
    lines.push("");
    const h2 = ["adjusted win rate", ...cats];
    const rows = s.winRates.map((w) => [
      w.model,
      ...cats.map((c) => num(s.categories[c].find((x) => x.model === w.model)?.winRateAdjusted)),
    ]);
    lines.push(
      ...alignColumns(
        h2,
        rows,
        h2.map((_, i) => i > 0),
      ),
    );
  }
  lines.push(
    "",
    `tie rule ${s.tieRule}; ${s.failedPairs} of ${s.pairs} pairs without a verdict (left out of win rates)`,
  );
  lines.push(...diagnosticsText(s.diagnostics));
  return lines.join("\n");
}

/** Failures are recorded and reported; a run where nothing parsed produced no result, so it fails. */
export function finish(failed: number, total: number): void {
  if (total > 0 && failed === total) {
    process.stderr.write(
      `assay: error: every judgment (${total}) failed to parse; no scores were produced\n`,
    );
    process.exitCode = EXIT_ERROR;
  } else if (failed > 0)
    process.stderr.write(
      `assay: warning: ${failed} of ${total} judgments failed to parse (recorded, not scored)\n`,
    );
}

// ---------------------------------------------------------------------------------------------
// pairs / single over a JSONL file

export const WINNER_OF: Record<string, Winner> = {
  model_1: "model_1",
  model_2: "model_2",
  tie: "tie",
  "1": "model_1",
  "2": "model_2",
  "0": "tie",
};

export function humanVotes(
  v: unknown,
  where: { file: string; line: number },
): Array<Winner | null> | undefined {
  if (v === undefined) return undefined;
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => {
    if (x === null) return null;
    const w = typeof x === "string" || typeof x === "number" ? WINNER_OF[String(x)] : undefined;
    if (w === undefined)
      throw new UserError(`invalid human label ${JSON.stringify(x)}`, {
        ...where,
        field: "human",
        expected: 'labels "model_1", "model_2", "tie" (or 1, 2, 0), null for missing',
      });
    return w;
  });
}

export function stringFields(
  value: Record<string, unknown>,
  where: { file: string; line: number },
  required: string[],
): Record<string, string> {
  for (const f of required) {
    if (typeof value[f] !== "string")
      throw new UserError(
        value[f] === undefined ? "missing field" : `invalid value ${JSON.stringify(value[f])?.slice(0, 40)}`,
        { ...where, field: f, expected: "a string" },
      );
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === "string") out[k] = v;
  return out;
}

export async function loadPrompt(name: string, promptFile: string | undefined): Promise<JudgePrompt> {
  const prompts = promptFile ? await loadJudgePrompts(promptFile) : undefined;
  return getPrompt(name, prompts);
}

/** Template fields of a prompt that an item lacks, as an error naming the item's line. */
export function checkFields(
  prompt: JudgePrompt,
  vars: Record<string, string>,
  where: { file: string; line: number },
  provided: string[],
): void {
  for (const f of new Set(templateFields(prompt.prompt_template))) {
    if (provided.includes(f) || vars[f] !== undefined) continue;
    throw new UserError("missing field", {
      ...where,
      field: f,
      expected: `a value for {${f}}, which judge prompt '${prompt.name}' uses${/ref/.test(f) ? " (it is reference-guided)" : ""}`,
    });
  }
}
