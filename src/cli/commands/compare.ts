import type { Command } from "commander";
import { compareRuns, type RunComparison } from "../../gates/compare.js";
import { formatComparisonTable } from "../../report/table.js";
import type { RunRecord, Store } from "../../store/types.js";
import { UserError } from "../../util/errors.js";
import { findRun, intOption, printJson, storeFrom, withStoreOption } from "../context.js";
import { EXIT_GATE_FAILED } from "../exit.js";

/** Resolves comma-separated run ids on both sides and pairs them by task. */
export async function pairRuns(
  store: Store,
  baseline: string,
  candidate: string,
): Promise<Array<[RunRecord, RunRecord]>> {
  const resolve = async (list: string) =>
    Promise.all(
      list
        .split(",")
        .filter(Boolean)
        .map((id) => findRun(store, id)),
    );
  const base = await resolve(baseline);
  const cand = await resolve(candidate);
  const pairs: Array<[RunRecord, RunRecord]> = [];
  for (const c of cand) {
    const b = base.find((r) => r.task === c.task);
    if (b) pairs.push([b, c]);
  }
  if (pairs.length === 0)
    throw new UserError("no baseline run has the same task as a candidate run", {
      field: "runs",
      expected: "runs of the same tasks on both sides",
    });
  return pairs;
}

export async function compareAll(
  store: Store,
  baseline: string,
  candidate: string,
  seed = 1234,
): Promise<RunComparison[]> {
  const out: RunComparison[] = [];
  for (const [b, c] of await pairRuns(store, baseline, candidate))
    out.push(await compareRuns(store, b, c, { seed }));
  return out;
}

export function register(program: Command): void {
  withStoreOption(
    program
      .command("compare")
      .description("paired per-sample comparison: deltas with CIs, p-values, verdicts and flips")
      .argument("<baseline>", "baseline run id (or comma-separated ids, paired by task)")
      .argument("<candidate>", "candidate run id (or comma-separated ids)")
      .option("--flips <n>", "show up to N flipped samples per metric", intOption("--flips", 0), 5)
      .option("--fail-on-regression", "exit 1 when any metric is significantly worse")
      .option("--json", "print JSON"),
  ).action(
    async (
      baseline: string,
      candidate: string,
      opts: { store?: string; flips: number; json?: boolean; failOnRegression?: boolean },
    ) => {
      const store = storeFrom(opts);
      try {
        const comparisons = await compareAll(store, baseline, candidate);
        const rows = comparisons.flatMap((c) => c.rows);
        if (opts.json) {
          printJson(
            comparisons.map((c) => ({
              baseline: c.baseline.id,
              candidate: c.candidate.id,
              paired: c.paired,
              rows: c.rows,
              flips: c.flips,
            })),
          );
        } else {
          process.stdout.write(`${formatComparisonTable(rows)}\n`);
          for (const c of comparisons) {
            for (const f of c.flips) {
              if (f.improved.length + f.regressed.length === 0 || opts.flips === 0) continue;
              process.stdout.write(
                `\n${c.baseline.task} ${f.metric}: ${f.improved.length} improved, ${f.regressed.length} regressed (of ${c.paired} paired samples)\n`,
              );
              for (const docId of f.regressed.slice(0, opts.flips)) {
                const s = await store.getSample(c.candidate.id, docId);
                const prompt = (s?.prompt ?? "").replace(/\s+/g, " ").slice(-60);
                process.stdout.write(`  regressed doc ${docId}: …${prompt}\n`);
              }
            }
          }
        }
        if (opts.failOnRegression && rows.some((r) => r.verdict === "worse"))
          process.exitCode = EXIT_GATE_FAILED;
      } finally {
        await store.close();
      }
    },
  );
}
