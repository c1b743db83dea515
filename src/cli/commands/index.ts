import type { Command } from "commander";
import { register as compare } from "./compare.js";
import { register as exportRun } from "./export.js";
import { register as report } from "./report.js";
import { register as run } from "./run.js";
import { register as runs } from "./runs.js";
import { register as serveModel } from "./serve_model.js";

/** Each command module exports `register(program)`; add new commands to this list. */
export const commands: Array<(program: Command) => void> = [
  run,
  runs,
  compare,
  exportRun,
  report,
  serveModel,
];
