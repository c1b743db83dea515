import { createWriteStream, writeFileSync } from "node:fs";
import type { Command } from "commander";
import { lmEvalResults, writeSamples } from "../../report/export.js";
import { UserError } from "../../util/errors.js";
import { findRun, storeFrom, withStoreOption } from "../context.js";

const FORMATS = ["json", "jsonl", "csv"];

export function register(program: Command): void {
  withStoreOption(
    program
      .command("export")
      .description("export a run: json (lm-eval results layout), jsonl (lm-eval samples) or csv")
      .argument("<run>", "run id or prefix")
      .option("--format <format>", "json | jsonl | csv", "json")
      .option("--out <file>", "write to a file instead of stdout"),
  ).action(async (id: string, opts: { store?: string; format: string; out?: string }) => {
    if (!FORMATS.includes(opts.format))
      throw new UserError(`unknown format '${opts.format}'`, {
        field: "--format",
        expected: FORMATS.join(" | "),
      });
    const store = storeFrom(opts);
    try {
      const run = await findRun(store, id);
      if (opts.format === "json") {
        const text = `${JSON.stringify(lmEvalResults([run]), null, 2)}\n`;
        if (opts.out) writeFileSync(opts.out, text);
        else process.stdout.write(text);
        return;
      }
      const out = opts.out ? createWriteStream(opts.out) : process.stdout;
      await writeSamples(store, run, opts.format === "csv" ? "csv" : "lm-eval-jsonl", out);
      if (opts.out) await new Promise<void>((resolve) => (out as NodeJS.WritableStream).end(resolve));
    } finally {
      await store.close();
    }
  });
}
