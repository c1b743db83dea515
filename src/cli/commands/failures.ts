import type { Command } from "commander";
import { findFailures } from "../../gates/failures.js";
import { alignColumns, fmtNum, printable } from "../../report/format.js";
import { UserError } from "../../util/errors.js";
import { findRun, intOption, printJson, storeFrom, withStoreOption } from "../context.js";

/** Groups listed in the text output; --json has them all. */
const MAX_GROUPS = 20;

function bottomOption(value: string): number {
  const n = Number(value);
  if (!(n > 0) || (n >= 1 && !Number.isInteger(n)))
    throw new UserError(`invalid value '${value}'`, {
      field: "--bottom",
      expected: "a fraction in (0, 1) such as 0.1, or a whole number of samples",
    });
  return n;
}

export function register(program: Command): void {
  withStoreOption(
    program
      .command("failures")
      .description(
        "the lowest-scoring samples of a run, with prompt and output excerpts, grouped by a doc field",
      )
      .argument("<run>", "run id or prefix")
      .option(
        "--metric <key>",
        "metric key (default: the task's first metric), e.g. acc or exact_match,strict-match",
      )
      .option("--bottom <x>", "fraction of samples (0.1 = worst 10%) or a count", bottomOption, 0.1)
      .option("--group-by <field>", "doc field (dotted path) to group failures by")
      .option("--excerpt <chars>", "characters kept of prompts and outputs", intOption("--excerpt", 20), 240)
      .option("--json", "print JSON"),
  ).action(
    async (
      id: string,
      opts: {
        store?: string;
        metric?: string;
        bottom: number;
        groupBy?: string;
        excerpt: number;
        json?: boolean;
      },
    ) => {
      const store = storeFrom(opts);
      try {
        const run = await findRun(store, id);
        const r = await findFailures(store, run, {
          metric: opts.metric,
          bottom: opts.bottom,
          groupBy: opts.groupBy,
          excerpt: opts.excerpt,
        });
        if (opts.json) return printJson(r);
        const out: string[] = [];
        const dir = r.higherIsBetter ? "lowest" : "highest";
        out.push(
          `${r.task} · ${printable(r.model)} · ${r.metric} (${r.higherIsBetter ? "higher" : "lower"} is better)`,
          `${r.shown.length} of ${r.scored} samples with the ${dir} scores; ${r.atOrBelowCutoff} score ${fmtNum(r.cutoff)} or worse${r.atOrBelowCutoff > r.shown.length ? " (ties shown in doc order)" : ""}`,
        );
        if (r.groups) {
          out.push(
            "",
            `by ${r.groupBy}:`,
            ...alignColumns(
              ["group", "samples", "failures", "rate", "mean score"],
              r.groups
                .slice(0, MAX_GROUPS)
                .map((g) => [
                  printable(g.group),
                  String(g.total),
                  String(g.failures),
                  `${(g.failureRate * 100).toFixed(1)}%`,
                  fmtNum(g.meanScore),
                ]),
              [false, true, true, true, true],
            ).map((l) => `  ${l}`),
          );
          if (r.groups.length > MAX_GROUPS)
            out.push(`  … ${r.groups.length - MAX_GROUPS} more groups (all of them with --json)`);
        }
        for (const s of r.shown) {
          out.push(
            "",
            `doc ${s.docId}  score ${fmtNum(s.score)}${s.group !== undefined ? `  ${r.groupBy}=${printable(s.group)}` : ""}`,
            `  prompt: ${s.prompt}`,
            `  output: ${s.output}`,
            `  target: ${s.target}`,
          );
        }
        process.stdout.write(`${out.join("\n")}\n`);
      } finally {
        await store.close();
      }
    },
  );
}
