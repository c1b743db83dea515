import type { Command } from "commander";
import {
  minimumDetectableEffectPaired,
  minimumDetectableEffectTwoProportions,
  powerPaired,
  powerTwoProportions,
  sampleSizePaired,
  sampleSizeTwoProportions,
} from "../../stats/power.js";
import { UserError } from "../../util/errors.js";
import { printJson } from "../context.js";

const num =
  (name: string, ok: (x: number) => boolean, expected: string) =>
  (value: string): number => {
    const x = Number(value);
    if (value.trim() === "" || !Number.isFinite(x) || !ok(x))
      throw new UserError(`invalid value '${value}'`, { field: name, expected });
    return x;
  };

interface PlanOptions {
  baseline?: number;
  delta?: number;
  power: number;
  alpha: number;
  paired?: boolean;
  discordance?: number;
  n?: number;
  json?: boolean;
}

const pct = (x: number) => `${(x * 100).toFixed(2)} points`;
const fmtInt = (n: number) => n.toLocaleString("en-US");

export interface PlanResult {
  design: "paired" | "unpaired";
  alpha: number;
  power: number;
  baseline: number | null;
  delta: number | null;
  discordance: number | null;
  /** Items for a paired design; per system for an unpaired one. */
  requiredN: number | null;
  n: number | null;
  /** Smallest δ detectable at n with the target power (upwards; NaN when none is). */
  minimumDetectableEffect: number | null;
  /** Power at n for delta. */
  powerAtN: number | null;
}

/** The numbers `assay plan` prints; validation errors name the option. */
export function plan(o: PlanOptions): PlanResult {
  const opts = { alpha: o.alpha, power: o.power };
  if (o.delta === undefined && o.n === undefined)
    throw new UserError("nothing to plan", {
      field: "--delta",
      expected: "--delta (required sample size) and/or --n (minimum detectable effect at n)",
    });
  if (o.delta === 0) throw new UserError("delta must not be 0", { field: "--delta", expected: "e.g. 0.02" });
  const res: PlanResult = {
    design: o.paired ? "paired" : "unpaired",
    alpha: o.alpha,
    power: o.power,
    baseline: o.baseline ?? null,
    delta: o.delta ?? null,
    discordance: o.discordance ?? null,
    requiredN: null,
    n: o.n ?? null,
    minimumDetectableEffect: null,
    powerAtN: null,
  };
  if (o.paired) {
    const psi = o.discordance;
    if (psi === undefined)
      throw new UserError("a paired plan needs the discordance rate", {
        field: "--discordance",
        expected:
          "the share of items on which the two systems disagree, e.g. 0.1 (from an earlier assay compare: flips / paired samples)",
      });
    if (o.delta !== undefined) {
      if (!(Math.abs(o.delta) < psi))
        throw new UserError(`|delta| ${Math.abs(o.delta)} must be below the discordance ${psi}`, {
          field: "--delta",
          expected: "δ = p(only candidate right) − p(only baseline right), so |δ| < discordance",
        });
      res.requiredN = sampleSizePaired(psi, o.delta, opts);
      if (o.n !== undefined) res.powerAtN = powerPaired(psi, o.delta, o.n, o.alpha);
    }
    if (o.n !== undefined) res.minimumDetectableEffect = minimumDetectableEffectPaired(psi, o.n, opts);
    return res;
  }
  const p = o.baseline;
  if (p === undefined)
    throw new UserError("an unpaired plan needs the baseline accuracy", {
      field: "--baseline",
      expected: "e.g. 0.52",
    });
  if (o.delta !== undefined) {
    if (!(p + o.delta > 0 && p + o.delta < 1))
      throw new UserError(`baseline + delta = ${p + o.delta} is outside (0, 1)`, { field: "--delta" });
    res.requiredN = sampleSizeTwoProportions(p, o.delta, opts);
    if (o.n !== undefined) res.powerAtN = powerTwoProportions(p, o.delta, o.n, o.alpha);
  }
  if (o.n !== undefined) res.minimumDetectableEffect = minimumDetectableEffectTwoProportions(p, o.n, opts);
  return res;
}

export function register(program: Command): void {
  program
    .command("plan")
    .description("sample size for detecting an accuracy difference, and the minimum detectable effect at n")
    .option(
      "--baseline <p>",
      "baseline accuracy (unpaired design)",
      num("--baseline", (x) => x > 0 && x < 1, "a number in (0, 1)"),
    )
    .option(
      "--delta <d>",
      "accuracy difference to detect, e.g. 0.02",
      num("--delta", (x) => x > -1 && x < 1, "a number in (-1, 1)"),
    )
    .option(
      "--power <p>",
      "target power",
      num("--power", (x) => x > 0 && x < 1, "a number in (0, 1)"),
      0.8,
    )
    .option(
      "--alpha <a>",
      "two-sided significance level",
      num("--alpha", (x) => x > 0 && x < 1, "a number in (0, 1)"),
      0.05,
    )
    .option("--paired", "both systems answer the same items (McNemar); needs --discordance")
    .option(
      "--discordance <r>",
      "paired: share of items where the systems disagree",
      num("--discordance", (x) => x > 0 && x <= 1, "a number in (0, 1]"),
    )
    .option(
      "--n <n>",
      "current number of items: report the minimum detectable effect",
      num("--n", (x) => Number.isInteger(x) && x >= 1, "an integer ≥ 1"),
    )
    .option("--json", "print JSON")
    .action((opts: PlanOptions) => {
      const r = plan(opts);
      if (opts.json) return printJson(r);
      const lines: string[] = [];
      const test =
        r.design === "paired" ? "paired McNemar test" : "two-proportion z-test (independent samples)";
      lines.push(`${test}, α = ${r.alpha} (two-sided), power ${r.power}`);
      if (r.design === "paired") lines.push(`discordance ψ = ${r.discordance}`);
      else lines.push(`baseline accuracy ${r.baseline}`);
      if (r.requiredN !== null) {
        const unit = r.design === "paired" ? "items" : "items per system";
        lines.push(
          `to detect δ = ${r.delta! > 0 ? "+" : ""}${r.delta} (${pct(Math.abs(r.delta!))}): ${fmtInt(r.requiredN)} ${unit}`,
        );
      }
      if (r.n !== null) {
        const mde = r.minimumDetectableEffect!;
        lines.push(
          Number.isNaN(mde)
            ? `at n = ${fmtInt(r.n)}: no effect reaches power ${r.power}`
            : `at n = ${fmtInt(r.n)}: minimum detectable effect ${r.design === "paired" ? "±" : "+"}${mde.toFixed(4)} (${pct(mde)})`,
        );
        if (r.powerAtN !== null)
          lines.push(`at n = ${fmtInt(r.n)}: power to detect δ = ${r.delta} is ${r.powerAtN.toFixed(3)}`);
      }
      if (r.design === "unpaired")
        lines.push(
          "note: two models scored on the same items are paired; --paired --discordance R usually needs far fewer items",
        );
      process.stdout.write(`${lines.join("\n")}\n`);
    });
}
