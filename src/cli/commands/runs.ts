import type { Command } from "commander";
import { formatRunTable } from "../../report/table.js";
import { findRun, printJson, storeFrom, withStoreOption } from "../context.js";

export function register(program: Command): void {
  withStoreOption(
    program.command("runs").description("list stored runs").option("--json", "print JSON"),
  ).action(async (opts: { store?: string; json?: boolean }) => {
    const store = storeFrom(opts);
    try {
      const runs = await store.listRuns();
      if (opts.json) return printJson(runs.map(({ config: _c, ...r }) => r));
      if (runs.length === 0) return void process.stdout.write(`no runs in ${store.location}\n`);
      const rows = runs.map((r) => {
        const main = Object.entries(r.aggregates)[0];
        return [
          r.id,
          r.task,
          r.model,
          r.status,
          `${r.total}`,
          main ? `${main[0]}=${main[1].value.toFixed(4)}` : "",
          r.createdAt.slice(0, 19).replace("T", " "),
        ];
      });
      const header = ["run", "task", "model", "status", "samples", "first metric", "created"];
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
      for (const row of [header, ...rows])
        process.stdout.write(`${row.map((c, i) => c.padEnd(widths[i])).join("  ")}\n`);
    } finally {
      await store.close();
    }
  });

  withStoreOption(
    program
      .command("show")
      .description("show a run's metrics ± stderr and 95% CIs")
      .argument("<run>", "run id or prefix")
      .option("--json", "print JSON"),
  ).action(async (id: string, opts: { store?: string; json?: boolean }) => {
    const store = storeFrom(opts);
    try {
      const run = await findRun(store, id);
      if (opts.json) printJson(run);
      else process.stdout.write(`${formatRunTable([run])}\n`);
    } finally {
      await store.close();
    }
  });
}
