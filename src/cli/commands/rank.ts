import { createReadStream, statSync } from "node:fs";
import { createGunzip } from "node:zlib";
import type { Command } from "commander";
import { csvField } from "../../report/export.js";
import { alignColumns, fmtInt, printable } from "../../report/format.js";
import {
  type Battle,
  BattleAggregator,
  BattleJsonlReader,
  type BattleReaderOptions,
} from "../../stats/ranking/battles.js";
import { bootstrapBradleyTerry, percentile, ranksFromIntervals } from "../../stats/ranking/bootstrap.js";
import { fitBradleyTerry } from "../../stats/ranking/bradley_terry.js";
import { computeElo, OnlineElo } from "../../stats/ranking/elo.js";
import { Rng } from "../../stats/rng.js";
import { didYouMean, UserError } from "../../util/errors.js";
import { intOption, printJson, writeOutputFile } from "../context.js";

export interface LeaderboardRow {
  rank: number;
  model: string;
  /** null when no finite rating exists (Bradley–Terry without a finite MLE). */
  rating: number | null;
  ciLow: number | null;
  ciHigh: number | null;
  battles: number;
  wins: number;
  losses: number;
  ties: number;
  /** Index of the model's connected component (ratings compare only within one). */
  component: number;
}

export interface Leaderboard {
  system: "bt" | "elo";
  file: string;
  battles: number;
  models: number;
  rows: LeaderboardRow[];
  components: string[][];
  mleExists: boolean;
  /** Why no finite ratings exist (which models never lose / never win, which groups). */
  message: string;
  anchor: { model: string; rating: number } | null;
  bootstrap: { rounds: number; failedRounds: number; seed: number } | null;
  notes: string[];
}

interface RankOptions {
  system: string;
  bootstrap: number;
  seed: number;
  anchor?: string;
  json?: boolean;
  csv?: string;
  outJson?: string;
}

function parseAnchor(text: string | undefined): { model: string; rating: number } | undefined {
  if (text === undefined) return undefined;
  const eq = text.lastIndexOf("=");
  const rating = Number(text.slice(eq + 1));
  if (eq <= 0 || text.slice(eq + 1).trim() === "" || !Number.isFinite(rating))
    throw new UserError(`invalid value '${text}'`, {
      field: "--anchor",
      expected: "model=rating, e.g. gpt-4=1200",
    });
  return { model: text.slice(0, eq), rating };
}

/**
 * Streams a battles JSONL file (.gz by extension) through the fast battle reader into an
 * aggregator of unique (model_a, model_b, outcome) counts. Errors name file and line, as readJsonl.
 */
export async function readBattlesFile(
  file: string,
  opts: Pick<BattleReaderOptions, "onBattle"> = {},
): Promise<BattleAggregator> {
  const raw = createReadStream(file, { highWaterMark: 1 << 20 });
  await new Promise<void>((resolve, reject) => {
    raw.once("open", () => resolve());
    raw.once("error", (e) => reject(new UserError(`cannot read file: ${e.message}`, { file })));
  });
  const reader = new BattleJsonlReader(new BattleAggregator(), { file, onBattle: opts.onBattle });
  let input: NodeJS.ReadableStream = raw;
  if (file.endsWith(".gz")) {
    const gunzip = createGunzip({ chunkSize: 1 << 20 });
    raw.once("error", (e) => gunzip.destroy(e));
    input = raw.pipe(gunzip);
  }
  try {
    for await (const chunk of input) reader.push(chunk as Buffer);
  } catch (e) {
    if (e instanceof UserError) throw e;
    // A zero-byte .gz is an empty file, not a broken one.
    if (reader.line === 0 && statSync(file).size === 0) return reader.aggregator;
    throw new UserError(`cannot read file: ${(e as Error).message}`, { file, line: reader.line + 1 });
  } finally {
    raw.destroy(); // closes the file when a bad line stops the reading early
  }
  reader.end();
  return reader.aggregator;
}

/**
 * Stages of rankBattles: parse (reading, gunzip, JSON and validation, with the counting of unique
 * rows fused in), aggregate (the unique-row table and per-model records), fit (Bradley–Terry, and
 * online Elo with --system elo), bootstrap, leaderboard (ranks and rows).
 */
export type RankStage = "parse" | "aggregate" | "fit" | "bootstrap" | "leaderboard";

/** Wall and CPU milliseconds (process.cpuUsage: all threads, so gunzip counts) per stage. */
export type RankTimings = Partial<Record<RankStage, { wallMs: number; cpuMs: number }>>;

/** Reads a battles file and computes the leaderboard. */
export async function rankBattles(
  file: string,
  opts: { system?: string; bootstrap?: number; seed?: number; anchor?: string; timings?: RankTimings },
): Promise<Leaderboard> {
  const timings = opts.timings;
  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  let mark = timings ? performance.now() : 0;
  let cpuMark = timings ? cpuMs() : 0;
  const lap = (stage: RankStage) => {
    if (!timings) return;
    const now = performance.now();
    const cpu = cpuMs();
    const t = (timings[stage] ??= { wallMs: 0, cpuMs: 0 });
    t.wallMs += now - mark;
    t.cpuMs += cpu - cpuMark;
    mark = now;
    cpuMark = cpu;
  };
  const system = opts.system ?? "bt";
  if (system !== "bt" && system !== "elo")
    throw new UserError(`unknown system '${system}'`, {
      field: "--system",
      expected: "bt or elo",
      hint: didYouMean(system, ["bt", "elo"]),
    });
  const rounds = opts.bootstrap ?? 100;
  const seed = opts.seed ?? 0;
  const anchor = parseAnchor(opts.anchor);
  // Elo depends on the battle order: keep (model_a, model_b, outcome) ids in file order.
  let ids = new Int32Array(system === "elo" ? 3 << 16 : 0);
  let kept = 0;
  const agg = await readBattlesFile(
    file,
    system === "elo"
      ? {
          onBattle: (ia, ib, o) => {
            if (kept + 3 > ids.length) {
              const grown = new Int32Array(ids.length * 2);
              grown.set(ids);
              ids = grown;
            }
            ids[kept++] = ia;
            ids[kept++] = ib;
            ids[kept++] = o;
          },
        }
      : {},
  );
  if (agg.count === 0)
    throw new UserError("no battles in file", { file, expected: "JSONL lines {model_a, model_b, winner}" });
  lap("parse");
  const m = agg.matchups();
  // Battles, wins, losses and ties per model from the unique rows.
  const record = new Map(m.models.map((x) => [x, { battles: 0, wins: 0, losses: 0, ties: 0 }]));
  for (let k = 0; k < m.a.length; k++) {
    const ra = record.get(m.models[m.a[k]])!;
    const rb = record.get(m.models[m.b[k]])!;
    const w = m.w[k];
    ra.battles += w;
    rb.battles += w;
    if (m.y[k] === 1) {
      ra.wins += w;
      rb.losses += w;
    } else if (m.y[k] === 0) {
      rb.wins += w;
      ra.losses += w;
    } else {
      ra.ties += w;
      rb.ties += w;
    }
  }
  if (anchor && !m.models.includes(anchor.model))
    throw new UserError(`anchor model '${anchor.model}' is not in the battles`, {
      field: "--anchor",
      hint: didYouMean(anchor.model, m.models),
    });
  lap("aggregate");
  const fit = fitBradleyTerry(m, { anchor });
  const components = fit.components;
  const compOf = new Map<string, number>();
  components.forEach((c, i) => {
    for (const x of c) compOf.set(x, i);
  });
  const notes: string[] = [];
  if (components.length > 1) {
    notes.push(
      `the comparison graph is disconnected: ${components.length} groups never met (${components.map((c) => `{${c.join(", ")}}`).join(", ")}); ratings and ranks compare only within a group`,
    );
    if (anchor) notes.push("--anchor is ignored: it needs a connected comparison graph");
  }
  const useAnchor = anchor && components.length === 1 ? anchor : undefined;
  lap("fit");

  let rating: Record<string, number> | null = null;
  let lower: Record<string, number> | null = null;
  let upper: Record<string, number> | null = null;
  let boot: Leaderboard["bootstrap"] = null;
  if (system === "bt") {
    if (fit.mleExists) {
      rating = fit.ratingsAnchored ?? fit.ratings!;
      if (rounds > 0) {
        // Starting at the fitted β, the bootstrap's own full-data fit only confirms convergence.
        const start = m.models.map((x) => fit.beta![x]);
        const b = bootstrapBradleyTerry(m, { rounds, seed, anchor: useAnchor, start });
        rating = b.ratings;
        lower = b.lower;
        upper = b.upper;
        boot = { rounds, failedRounds: b.failedRounds, seed };
        if (useAnchor)
          notes.push(
            `every bootstrap round is anchored, so the CIs are relative to ${useAnchor.model} (whose own CI has no width)`,
          );
        if (b.failedRounds > 0)
          notes.push(
            `${b.failedRounds} of ${rounds} bootstrap rounds had no finite MLE and were left out of the CIs`,
          );
      }
    }
  } else {
    const toRecord = (r: Record<string, number>) => {
      if (!useAnchor) return r;
      const shift = useAnchor.rating - r[useAnchor.model];
      return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v + shift]));
    };
    // Battle objects share the name strings, so the list stays compact.
    const names = agg.modelNames();
    const WINNER = ["model_a", "tie", "model_b"] as const;
    const battles: Battle[] = new Array(kept / 3);
    for (let i = 0, k = 0; k < kept; i++, k += 3)
      battles[i] = { model_a: names[ids[k]], model_b: names[ids[k + 1]], winner: WINNER[ids[k + 2]] };
    rating = toRecord(computeElo(battles));
    lap("fit");
    if (rounds > 0) {
      // FastChat's bootstrap: resample battles with replacement (a random order), rerun online Elo;
      // the rating shown is the median over rounds, as on the Arena leaderboard (one order is arbitrary).
      const rng = new Rng(seed);
      const idx = new Uint32Array(battles.length);
      const samples = new Map(m.models.map((x) => [x, [] as number[]]));
      for (let r = 0; r < rounds; r++) {
        rng.fillIntegers(idx, idx.length);
        const e = new OnlineElo();
        for (let i = 0; i < idx.length; i++) e.update(battles[idx[i]]);
        for (const [x, v] of Object.entries(toRecord(e.ratings()))) samples.get(x)!.push(v);
      }
      lower = {};
      upper = {};
      const median: Record<string, number> = {};
      for (const [x, vals] of samples) {
        const col = Float64Array.from(vals).sort();
        lower[x] = percentile(col, 2.5);
        upper[x] = percentile(col, 97.5);
        median[x] = percentile(col, 50);
      }
      rating = median;
      boot = { rounds, failedRounds: 0, seed };
      notes.push("online Elo depends on the battle order: ratings are medians over the bootstrap rounds");
    }
  }

  lap("bootstrap");

  // Ranks within each connected component: the Arena rule with CIs, else by rating.
  const rankOf = new Map<string, number>();
  const order = rating ?? fit.orderingRatings!;
  for (const comp of components) {
    if (lower && upper) {
      const pick = (r: Record<string, number>) => Object.fromEntries(comp.map((x) => [x, r[x]]));
      for (const [x, k] of Object.entries(ranksFromIntervals(pick(lower), pick(upper)))) rankOf.set(x, k);
    } else for (const x of comp) rankOf.set(x, 1 + comp.filter((y) => order[y] > order[x]).length);
  }
  const rows: LeaderboardRow[] = m.models.map((model) => ({
    rank: rankOf.get(model)!,
    model,
    rating: rating ? rating[model] : null,
    ciLow: lower ? lower[model] : null,
    ciHigh: upper ? upper[model] : null,
    ...record.get(model)!,
    component: compOf.get(model)!,
  }));
  rows.sort(
    (a, b) => a.component - b.component || order[b.model] - order[a.model] || a.model.localeCompare(b.model),
  );
  const mleExists = system === "elo" || fit.mleExists;
  lap("leaderboard");
  return {
    system,
    file,
    battles: agg.count,
    models: m.models.length,
    rows,
    components,
    mleExists,
    message: mleExists
      ? ""
      : `${fit.existence.message}. Ratings would diverge to ±infinity, so none are printed; the order below is only indicative. Add battles in which these models lose (or win), or use --system elo.`,
    anchor: useAnchor ?? null,
    bootstrap: boot,
    notes,
  };
}

const r1 = (x: number | null) => (x === null ? "–" : x.toFixed(1));

export function leaderboardCsv(lb: Leaderboard): string {
  const head = "rank,model,rating,ci_low,ci_high,battles,wins,losses,ties,component";
  const num = (x: number | null) => (x === null ? "" : String(x));
  const lines = lb.rows.map((r) =>
    [
      r.rank,
      csvField(r.model),
      num(r.rating),
      num(r.ciLow),
      num(r.ciHigh),
      r.battles,
      r.wins,
      r.losses,
      r.ties,
      r.component,
    ].join(","),
  );
  return `${[head, ...lines].join("\n")}\n`;
}

export function leaderboardText(lb: Leaderboard): string {
  const out: string[] = [];
  const sys = lb.system === "bt" ? "Bradley–Terry (MLE)" : "online Elo (K=4, battle order)";
  const ci = lb.bootstrap
    ? `, 95% CI from ${lb.bootstrap.rounds} bootstrap rounds (seed ${lb.bootstrap.seed})`
    : "";
  out.push(
    `${sys} ratings of ${lb.models} models from ${fmtInt(lb.battles)} battles${ci}${lb.anchor ? `; anchored at ${lb.anchor.model}=${lb.anchor.rating}` : ""}`,
  );
  if (!lb.mleExists) out.push("", `NO FINITE RATINGS: ${lb.message}`);
  for (const n of lb.notes) out.push(`note: ${n}`);
  out.push("");
  const multi = lb.components.length > 1;
  const header = [...(multi ? ["group"] : []), "rank", "model", "rating", "95% CI", "battles", "W-L-T"];
  const rows = lb.rows.map((r) => [
    ...(multi ? [String(r.component + 1)] : []),
    String(r.rank),
    printable(r.model),
    r1(r.rating),
    r.ciLow === null ? "" : `[${r1(r.ciLow)}, ${r1(r.ciHigh)}]`,
    fmtInt(r.battles),
    `${r.wins}-${r.losses}-${r.ties}`,
  ]);
  const right = [...(multi ? [true] : []), true, false, true, false, true, true];
  out.push(...alignColumns(header, rows, right));
  return `${out.join("\n")}\n`;
}

export function register(program: Command): void {
  program
    .command("rank")
    .description(
      "leaderboard from pairwise battles (Chatbot Arena JSONL): Bradley–Terry or Elo with bootstrap CIs",
    )
    .argument(
      "<battles>",
      "JSONL (or .jsonl.gz) with model_a, model_b, winner (model_a | model_b | tie | tie (bothbad))",
    )
    .option("--system <name>", "bt (Bradley–Terry maximum likelihood) or elo (online, order-dependent)", "bt")
    .option("--bootstrap <n>", "bootstrap rounds for 95% CIs (0: none)", intOption("--bootstrap", 0), 100)
    .option("--seed <n>", "bootstrap seed", intOption("--seed", 0), 0)
    .option("--anchor <model=rating>", "shift ratings so this model gets this rating")
    .option("--json", "print JSON")
    .option("--csv <file>", "write the leaderboard as CSV")
    .option("--out-json <file>", "write the leaderboard as JSON")
    .action(async (file: string, opts: RankOptions) => {
      const lb = await rankBattles(file, opts);
      if (opts.csv) writeOutputFile(opts.csv, leaderboardCsv(lb), "--csv");
      if (opts.outJson) writeOutputFile(opts.outJson, `${JSON.stringify(lb, null, 2)}\n`, "--out-json");
      if (opts.json) printJson(lb);
      else process.stdout.write(leaderboardText(lb));
    });
}
