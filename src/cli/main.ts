#!/usr/bin/env node
/** The `assay` command line. Each command lives in ./commands/<name>.ts and registers itself here. */
import { Command, CommanderError } from "commander";
import { UserError } from "../util/errors.js";
import { commands } from "./commands/index.js";
import { EXIT_ERROR } from "./exit.js";

export function buildProgram(): Command {
  const program = new Command("assay")
    .description("Evaluate large language models: benchmarks, metrics, judges, comparisons and gates")
    .version("0.1.0")
    .showSuggestionAfterError(true)
    .exitOverride();
  for (const register of commands) register(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (e) {
    if (e instanceof CommanderError) {
      // Commander already printed its message (unknown option, missing argument, --help).
      return e.exitCode === 0 ? 0 : EXIT_ERROR;
    }
    if (e instanceof UserError) {
      process.stderr.write(`assay: error: ${e.format()}\n`);
      return EXIT_ERROR;
    }
    process.stderr.write(`assay: internal error: ${(e as Error).stack ?? e}\n`);
    return EXIT_ERROR;
  }
}

main(process.argv).then((code) => {
  process.exitCode = code;
});
