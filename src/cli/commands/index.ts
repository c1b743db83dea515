import type { Command } from "commander";
import { register as agree } from "./agree.js";
import { register as compare } from "./compare.js";
import { register as exportRun } from "./export.js";
import { register as failures } from "./failures.js";
import { register as gate } from "./gate.js";
import { register as judge } from "./judge.js";
import { register as plan } from "./plan.js";
import { register as rank } from "./rank.js";
import { register as rankRuns } from "./rank_runs.js";
import { register as report } from "./report.js";
import { register as run } from "./run.js";
import { register as runs } from "./runs.js";
import { register as score } from "./score.js";
import { register as serveModel } from "./serve_model.js";
import { register as tasks } from "./tasks.js";
import { register as trajectory } from "./trajectory.js";

/** Each command module exports `register(program)`; add new commands to this list. */
export const commands: Array<(program: Command) => void> = [
  run,
  runs,
  compare,
  exportRun,
  report,
  serveModel,
  tasks,
  gate,
  trajectory,
  failures,
  plan,
  rank,
  rankRuns,
  agree,
  judge,
  score,
];
