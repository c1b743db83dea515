import type { Command } from "commander";
import { isOperational } from "../../gates/gate_config.js";
import { historyOf, historyRange, normalizeKey } from "../../gates/history.js";
import { alignColumns, fmtCI, fmtNum, printable } from "../../report/format.js";
import { didYouMean, UserError } from "../../util/errors.js";
import { printJson, storeFrom, withStoreOption } from "../context.js";

const BARS = "▁▂▃▄▅▆▇█";

/** A one-line sparkline of the values (min → ▁, max → █). */
export function sparkline(values: readonly number[]): string {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return values
    .map((v) => (hi === lo ? BARS[3] : BARS[Math.round(((v - lo) / (hi - lo)) * (BARS.length - 1))]))
    .join("");
}

export function register(program: Command): void {
  withStoreOption(
    program
      .command("trajectory")
      .description("a metric of one task across completed runs in time order (e.g. checkpoints), with CIs")
      .argument("<task>", "task name")
      .requiredOption("--metric <key>", "metric key, e.g. acc or exact_match,strict-match, or latency_p95_ms")
      .option("--model <spec>", "only models matching this glob on the model spec (* = any text)")
      .option("--last <n>", "only the latest N runs")
      .option("--json", "print JSON"),
  ).action(
    async (
      task: string,
      opts: { store?: string; metric: string; model?: string; last?: string; json?: boolean },
    ) => {
      const last = opts.last === undefined ? undefined : Number(opts.last);
      if (last !== undefined && !(Number.isInteger(last) && last >= 1))
        throw new UserError(`invalid value '${opts.last}'`, { field: "--last", expected: "an integer ≥ 1" });
      const operational = isOperational(opts.metric);
      const key = operational ? opts.metric : normalizeKey(opts.metric);
      const store = storeFrom(opts);
      try {
        const runs = await store.listRuns();
        const ofTask = runs.filter((r) => r.task === task && r.status === "completed");
        if (ofTask.length === 0)
          throw new UserError(`no completed run of task '${task}' in ${store.location}`, {
            field: "task",
            hint: didYouMean(task, new Set(runs.map((r) => r.task))),
          });
        const points = historyOf(runs, { task, ref: { key, operational }, model: opts.model, last });
        if (points.length === 0) {
          const keys = new Set(ofTask.flatMap((r) => Object.keys(r.aggregates ?? {})));
          throw new UserError(
            `no completed run of ${task}${opts.model ? ` with a model matching '${opts.model}'` : ""} has metric '${key}'`,
            {
              field: "--metric",
              expected: [...keys].join(", "),
              hint: opts.model
                ? `models: ${[...new Set(ofTask.map((r) => r.model))].join(", ")}`
                : didYouMean(key, keys),
            },
          );
        }
        const values = points.map((p) => p.value.value);
        const sd = historyRange(values, { method: "sd", k: 3 });
        if (opts.json) {
          printJson({
            task,
            metric: key,
            model: opts.model ?? null,
            points: points.map((p) => ({
              run: p.run.id,
              model: p.run.model,
              createdAt: p.run.createdAt,
              value: p.value.value,
              ciLow: p.value.ciLow ?? null,
              ciHigh: p.value.ciHigh ?? null,
              n: p.value.n ?? null,
            })),
            mean: sd.mean,
            sd: sd.sd,
            min: Math.min(...values),
            max: Math.max(...values),
          });
          return;
        }
        const withCi = points.some((p) => p.value.ciLow !== undefined);
        const rows = points.map((p, i) => [
          String(i + 1),
          p.run.createdAt.slice(0, 19).replace("T", " "),
          p.run.id,
          printable(p.run.model),
          fmtNum(p.value.value),
          ...(withCi
            ? [
                p.value.ciLow !== undefined ? fmtCI(p.value.ciLow, p.value.ciHigh!) : "",
                String(p.value.n ?? ""),
              ]
            : []),
        ]);
        const header = ["#", "created", "run", "model", key, ...(withCi ? ["95% CI", "n"] : [])];
        const lines = alignColumns(header, rows, [true, false, false, false, true, false, true]);
        lines.push(
          "",
          `${task} ${key}: ${sparkline(values)}  (${points.length} run${points.length === 1 ? "" : "s"}; mean ${fmtNum(sd.mean!)}, sd ${fmtNum(sd.sd!)}, min ${fmtNum(Math.min(...values))}, max ${fmtNum(Math.max(...values))})`,
        );
        process.stdout.write(`${lines.join("\n")}\n`);
      } finally {
        await store.close();
      }
    },
  );
}
