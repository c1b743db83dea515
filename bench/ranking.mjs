// Times online Elo, the Bradley–Terry fit and 100 bootstrap rounds on the 1M-battle golden file.
// Build first: npx tsc -p tsconfig.build.json. Prints one `BENCH {...}` line at the end.
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { readJsonl } from "../dist/data/jsonl.js";
import { BattleAggregator, parseBattle } from "../dist/stats/ranking/battles.js";
import { bootstrapBradleyTerry } from "../dist/stats/ranking/bootstrap.js";
import { fitBradleyTerry } from "../dist/stats/ranking/bradley_terry.js";
import { computeElo } from "../dist/stats/ranking/elo.js";

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
const ms = (t0) => performance.now() - t0;
const perSec = (n, t) => Math.round((n / t) * 1000);

let t0 = performance.now();
const battles = [];
for await (const { value, line } of readJsonl(file)) battles.push(parseBattle(value, { file, line }));
const loadMs = ms(t0);
const n = battles.length;
console.log(`loaded ${n} battles in ${loadMs.toFixed(0)} ms (gunzip + JSON + validation)`);

// Warm up the JIT on a slice, then time the full passes.
computeElo(battles.slice(0, 50_000));
t0 = performance.now();
const elo = computeElo(battles);
const eloMs = ms(t0);
console.log(`online Elo: ${eloMs.toFixed(1)} ms, ${Object.keys(elo).length} models`);

{
  // Same warm-up for aggregation and the fit.
  const warm = new BattleAggregator();
  for (const b of battles.slice(0, 50_000)) warm.add(b);
  fitBradleyTerry(warm.matchups());
}
t0 = performance.now();
const agg = new BattleAggregator();
for (const b of battles) agg.add(b);
const m = agg.matchups();
const aggMs = ms(t0);
t0 = performance.now();
const fit = fitBradleyTerry(m, { anchor: { model: "model-00", rating: 1114 } });
const fitMs = ms(t0);
console.log(
  `BT: aggregate ${aggMs.toFixed(1)} ms (${m.a.length} unique rows), fit ${fitMs.toFixed(1)} ms, ` +
    `${fit.iterations} Newton iterations, max gradient ${fit.maxGradient.toExponential(2)}`,
);

t0 = performance.now();
const boot = bootstrapBradleyTerry(m, { rounds, seed: 0, anchor: { model: "model-00", rating: 1114 } });
const bootMs = ms(t0);
console.log(`bootstrap: ${rounds} rounds in ${bootMs.toFixed(0)} ms (${boot.failedRounds} without MLE)`);

console.log(
  `BENCH ${JSON.stringify({
    bench: "ranking",
    battles: n,
    models: m.models.length,
    unique_rows: m.a.length,
    load_ms: Math.round(loadMs),
    elo_ms: +eloMs.toFixed(1),
    elo_battles_per_s: perSec(n, eloMs),
    bt_aggregate_ms: +aggMs.toFixed(1),
    bt_fit_ms: +fitMs.toFixed(1),
    bt_battles_per_s: perSec(n, aggMs + fitMs),
    bootstrap_rounds: rounds,
    bootstrap_ms: Math.round(bootMs),
    bootstrap_rounds_per_s: +((rounds / bootMs) * 1000).toFixed(2),
    bootstrap_battles_per_s: perSec(n * rounds, bootMs),
  })}`,
);
