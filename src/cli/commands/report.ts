import path from "node:path";
import type { Command } from "commander";
import { htmlReport } from "../../report/html.js";
import { markdownReport } from "../../report/markdown.js";
import { UserError } from "../../util/errors.js";
import { findRun, storeFrom, withStoreOption, writeOutputFile } from "../context.js";
import { compareAll } from "./compare.js";

export function register(program: Command): void {
  withStoreOption(
    program
      .command("report")
      .description(
        "write a Markdown or self-contained HTML report of runs (with comparisons against a baseline)",
      )
      .argument("<runs...>", "run ids or prefixes")
      .option("--format <format>", "md | html", "html")
      .option(
        "--baseline <runs>",
        "comma-separated baseline run ids to compare the runs against (paired by task)",
      )
      .option("--out <file>", "output file (default: stdout for md, report.html for html)")
      .option("--title <title>", "report title"),
  ).action(
    async (
      ids: string[],
      opts: { store?: string; format: string; baseline?: string; out?: string; title?: string },
    ) => {
      if (opts.format !== "md" && opts.format !== "html")
        throw new UserError(`unknown format '${opts.format}'`, { field: "--format", expected: "md | html" });
      const store = storeFrom(opts);
      try {
        const runs = await Promise.all(ids.map((id) => findRun(store, id)));
        const baselineIds = new Set((opts.baseline ?? "").split(",").filter(Boolean));
        const comparisons = opts.baseline
          ? (
              await compareAll(
                store,
                opts.baseline,
                runs
                  .map((r) => r.id)
                  .filter((id) => !baselineIds.has(id))
                  .join(","),
              )
            ).flatMap((c) => c.rows)
          : undefined;
        const text =
          opts.format === "md"
            ? markdownReport(runs, comparisons)
            : htmlReport(runs, comparisons, { title: opts.title });
        const out = opts.out ?? (opts.format === "html" ? "report.html" : undefined);
        if (!out) return void process.stdout.write(text);
        writeOutputFile(out, text, "--out");
        process.stdout.write(`report written to ${path.resolve(out)}\n`);
      } finally {
        await store.close();
      }
    },
  );
}
