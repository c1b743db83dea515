import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { readJsonl } from "../../data/jsonl.js";
import { csvField } from "../../report/export.js";
import { alignColumns, fmtInt, printable } from "../../report/format.js";
import { type Battle, BattleAggregator, parseBattle } from "../../stats/ranking/battles.js";
import { bootstrapBradleyTerry, percentile, ranksFromIntervals } from "../../stats/ranking/bootstrap.js";
import { fitBradleyTerry } from "../../stats/ranking/bradley_terry.js";
import { computeElo, OnlineElo } from "../../stats/ranking/elo.js";
import { Rng } from "../../stats/rng.js";
import { didYouMean, UserError } from "../../util/errors.js";
import { intOption, printJson } from "../context.js";

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

/** Reads a battles file and computes the leaderboard. */
export async function rankBattles(
  file: string,
  opts: { system?: string; bootstrap?: number; seed?: number; anchor?: string },
): Promise<Leaderboard> {
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
  const agg = new BattleAggregator();
  // Elo depends on the battle order, so keep the battles (names are shared strings, so this is compact).
  const battles: Battle[] = [];
  const record = new Map<string, { battles: number; wins: number; losses: number; ties: number }>();
  const tally = (m: string) => {
    let r = record.get(m);
    if (!r) record.set(m, (r = { battles: 0, wins: 0, losses: 0, ties: 0 }));
    return r;
  };
  for await (const { line, value } of readJsonl(file)) {
    const b = parseBattle(value, { file, line });
    agg.add(b);
    const ra = tally(b.model_a);
    const rb = tally(b.model_b);
    ra.battles++;
    rb.battles++;
    if (b.winner === "model_a") {
      ra.wins++;
      rb.losses++;
    } else if (b.winner === "model_b") {
      rb.wins++;
      ra.losses++;
    } else {
      ra.ties++;
      rb.ties++;
    }
    if (system === "elo") battles.push(b);
  }
  if (agg.count === 0)
    throw new UserError("no battles in file", { file, expected: "JSONL lines {model_a, model_b, winner}" });
  const m = agg.matchups();
  if (anchor && !m.models.includes(anchor.model))
    throw new UserError(`anchor model '${anchor.model}' is not in the battles`, {
      field: "--anchor",
      hint: didYouMean(anchor.model, m.models),
    });
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

  let rating: Record<string, number> | null = null;
  let lower: Record<string, number> | null = null;
  let upper: Record<string, number> | null = null;
  let boot: Leaderboard["bootstrap"] = null;
  if (system === "bt") {
    if (fit.mleExists) {
      rating = fit.ratingsAnchored ?? fit.ratings!;
      if (rounds > 0) {
        const b = bootstrapBradleyTerry(m, { rounds, seed, anchor: useAnchor });
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
    rating = toRecord(computeElo(battles));
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

function writeOut(file: string, text: string, field: string): void {
  try {
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    writeFileSync(file, text);
  } catch (e) {
    throw new UserError(
      `cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      { field },
    );
  }
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
      if (opts.csv) writeOut(opts.csv, leaderboardCsv(lb), "--csv");
      if (opts.outJson) writeOut(opts.outJson, `${JSON.stringify(lb, null, 2)}\n`, "--out-json");
      if (opts.json) printJson(lb);
      else process.stdout.write(leaderboardText(lb));
    });
}
