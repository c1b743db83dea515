// bench/ranking: the 1M-battle golden file to a Bradley–Terry leaderboard with 95% CIs over 100
// bootstrap rounds, through the same code as `assay rank` (rankBattles), cold in a fresh process
// (no warm-up). Stages: parse (gunzip + JSON + validation, counting unique rows on the fly),
// aggregate (unique-row table), fit (Newton to the optimum), bootstrap (multinomial resampling).
// Build first: npx tsc -p tsconfig.build.json. Prints one `BENCH {...}` line at the end.
// ratio_vs_fastchat = total_s / 13.2 s (FastChat: 4.5 s parse, 2.0 s preprocess + fit, 6.7 s
// bootstrap on this machine); the target is ≤ 0.2 (total ≤ 2.6 s).
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { leaderboardText, rankBattles } from "../dist/cli/commands/rank.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const file = path.resolve(
  process.env.ASSAY_GOLDEN_DIR ?? path.join(root, "../shared/golden"),
  "ranking/battles_1m.jsonl.gz",
);
if (!existsSync(file)) {
  console.log(`BENCH ${JSON.stringify({ bench: "ranking", skipped: `${file} not found` })}`);
  process.exit(0);
}

const rounds = Number(process.env.BENCH_ROUNDS ?? 100);
const FASTCHAT_S = 4.5 + 2.0 + 6.7;
const cpuS = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

const timings = {};
const cpu0 = cpuS();
const t0 = performance.now();
const lb = await rankBattles(file, { system: "bt", bootstrap: rounds, seed: 0, timings });
const totalS = (performance.now() - t0) / 1000;
const cpu = cpuS() - cpu0;

const text = leaderboardText(lb).split("\n");
console.log([...text.slice(0, 10), `  … ${lb.models - 6} more models`].join("\n"));
const s = (stage, key = "wallMs") => +((timings[stage]?.[key] ?? 0) / 1000).toFixed(3);
for (const [stage, t] of Object.entries(timings))
  console.log(
    `${stage.padEnd(12)} ${t.wallMs.toFixed(1).padStart(7)} ms wall ${t.cpuMs.toFixed(1).padStart(7)} ms CPU`,
  );
console.log(
  `total ${totalS.toFixed(3)} s wall, ${cpu.toFixed(3)} s CPU (all threads, gunzip included); ` +
    `process up ${(performance.now() / 1000).toFixed(3)} s; FastChat ≈ ${FASTCHAT_S} s`,
);
console.log(
  `BENCH ${JSON.stringify({
    bench: "ranking",
    total_s: +totalS.toFixed(3),
    parse_s: s("parse"),
    aggregate_s: s("aggregate"),
    fit_s: s("fit"),
    bootstrap_s: s("bootstrap"),
    ratio_vs_fastchat: +(totalS / FASTCHAT_S).toFixed(3),
    cpu_s: +cpu.toFixed(3),
    cpu_parse_s: s("parse", "cpuMs"),
    cpu_bootstrap_s: s("bootstrap", "cpuMs"),
    leaderboard_s: s("leaderboard"),
    battles: lb.battles,
    models: lb.models,
    bootstrap_rounds: rounds,
    failed_rounds: lb.bootstrap?.failedRounds ?? null,
  })}`,
);
