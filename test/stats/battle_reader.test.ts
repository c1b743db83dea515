/**
 * The fast battle path of `assay rank` and bench/ranking: the byte-level JSONL reader must give
 * exactly what readJsonl + parseBattle give (rows, counts, order, errors with file:line and field)
 * whatever the layout and chunking; the bootstrap's per-pair Newton must equal the general solver
 * replicate by replicate; bad inputs give clear errors or well-defined results.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { rankBattles, readBattlesFile } from "../../src/cli/commands/rank.js";
import { readJsonl } from "../../src/data/jsonl.js";
import {
  type Battle,
  BattleAggregator,
  BattleJsonlReader,
  type Matchups,
  matchupsFromRows,
  type Outcome,
  parseBattle,
} from "../../src/stats/ranking/battles.js";
import { binomialDraw, bootstrapBradleyTerry, drawMultinomial } from "../../src/stats/ranking/bootstrap.js";
import {
  checkMleExistence,
  fitBradleyTerry,
  solveBradleyTerry,
} from "../../src/stats/ranking/bradley_terry.js";
import { Rng } from "../../src/stats/rng.js";
import { UserError } from "../../src/util/errors.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "assay-battles-"));
});
let fileNo = 0;
const writeFile = (content: string | Uint8Array, ext = ".jsonl"): string => {
  const file = path.join(dir, `f${fileNo++}${ext}`);
  writeFileSync(file, content);
  return file;
};

const WINNERS = ["model_a", "tie", "model_b"] as const;

type Outcome_ = { error: string } | { m: Matchups; count: number; battles: Battle[] };

/** readJsonl + parseBattle + BattleAggregator: the reference behaviour. */
async function reference(file: string): Promise<Outcome_> {
  try {
    const agg = new BattleAggregator();
    const battles: Battle[] = [];
    for await (const { value, line } of readJsonl(file)) {
      const b = parseBattle(value, { file, line });
      agg.add(b);
      battles.push({ ...b, winner: b.winner === "tie (bothbad)" ? "tie" : b.winner });
    }
    return { m: agg.matchups(), count: agg.count, battles };
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    return { error: e.format() };
  }
}

/** The fast reader fed `bytes` in chunks of `size` (0: one chunk). */
function fast(bytes: Uint8Array, file: string, size: number): Outcome_ {
  const battles: Battle[] = [];
  const agg = new BattleAggregator();
  const reader = new BattleJsonlReader(agg, {
    file,
    onBattle: (ia: number, ib: number, o: Outcome) => {
      const names = agg.modelNames();
      battles.push({ model_a: names[ia], model_b: names[ib], winner: WINNERS[o] });
    },
  });
  try {
    const step = size || bytes.length || 1;
    for (let i = 0; i < bytes.length; i += step) reader.push(bytes.subarray(i, i + step));
    reader.end();
    return { m: agg.matchups(), count: agg.count, battles };
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    return { error: e.format() };
  }
}

async function expectSameAsReference(content: string | Uint8Array): Promise<Outcome_> {
  const file = writeFile(content);
  const ref = await reference(file);
  const bytes = readFileSync(file);
  for (const size of [0, 1, 2, 3, 5, 8, 13, 64])
    expect(fast(bytes, file, size), `chunks of ${size}`).toEqual(ref);
  const viaFile = await readBattlesFile(file).then(
    (agg) => ({ m: agg.matchups(), count: agg.count }),
    (e) => ({ error: (e as UserError).format() }),
  );
  if ("error" in ref) expect(viaFile).toEqual(ref);
  else expect(viaFile).toEqual({ m: ref.m, count: ref.count });
  return ref;
}

const valid = [
  '{"model_a":"gpt-4","model_b":"claude","winner":"model_a"}',
  '{"model_b":"claude","model_a":"gpt-4","winner":"model_b"}',
  '{ "model_a" : "llama" , "model_b" : "gpt-4" , "winner" : "tie" }',
  '{"model_a":"llama","model_b":"claude","winner":"tie (bothbad)","turn":1,"judge":{"x":[1,2.5,null]}}',
  '{"question_id":"q1","model_a":"llama","model_b":"claude","winner":"tie","lang":"en"}',
  '{"model_a":"caf\\u00e9","model_b":"llama","winner":"model_a"}',
  '{"model_a":"café","model_b":"llama","winner":"model_b"}',
  '{"model_a":"x","model_a":"gpt-4","model_b":"llama","winner":"model_a"}',
  '\t{"model_a":"gpt-4","model_b":"llama","winner":"model_a"}\t ',
  '{"model_a":"a\\"b","model_b":"llama","winner":"tie"}',
  '{"model_a":"模型","model_b":"llama","winner":"model_b"}',
];

describe("fast battle reader", () => {
  it("reads every layout like readJsonl + parseBattle, in any chunking", async () => {
    const lines = [...valid, "", "   ", valid[0]];
    const r = await expectSameAsReference(`${lines.join("\n")}\n`);
    expect("m" in r && r.count).toBe(12);
    // CRLF, a lone CR (two lines for readline), blank lines, no final newline.
    await expectSameAsReference(`${valid[0]}\r\n${valid[2]}\r${valid[1]}\n\r\n\n${valid[6]}`);
    await expectSameAsReference(`${valid.join("\r\n")}\r\n`);
    await expectSameAsReference("");
    await expectSameAsReference("\n\n \n");
  });

  it("keeps file order for Elo and merges both tie strings", async () => {
    const r = await expectSameAsReference(`${valid.join("\n")}\n`);
    if (!("m" in r)) throw new Error("unexpected error");
    expect(r.battles.map((b) => b.winner)).toEqual([
      "model_a",
      "model_b",
      "tie",
      "tie",
      "tie",
      "model_a",
      "model_b",
      "model_a",
      "model_a",
      "tie",
      "model_b",
    ]);
    expect(r.m.models).toContain('a"b');
    expect(r.m.models.filter((x) => x === "café")).toHaveLength(1); // escaped and raw are one model
  });

  it("reports bad lines with file:line and field, exactly as readJsonl + parseBattle", async () => {
    const bad = [
      '{"model_a":"a","model_b":"b","winner":"draw"}',
      '{"model_a":"a","model_b":"b"}',
      '{"model_a":3,"model_b":"b","winner":"tie"}',
      '{"model_a":"","model_b":"b","winner":"tie"}',
      '{"model_a":"a","model_b":"a","winner":"tie"}',
      '{"model_a":"a","model_b":"\\u0061","winner":"tie"}',
      '{"model_a":"a","model_b":"b","winner":"tie"',
      '{"model_a":"a","model_b":"b","winner":"tie"} x',
      "[1, 2]",
      '"text"',
      '{"model_a":"a\u0001","model_b":"b","winner":"tie"}',
      '{"model_a":"a","model_b":"b","winner":"Model_A"}',
    ];
    const prefix = `${valid[0]}\n\r\n${valid[1]}\r${valid[2]}\n\n`;
    const messages: string[] = [];
    for (const line of bad) {
      const r = await expectSameAsReference(`${prefix}${line}\n${valid[3]}\n`);
      expect("error" in r).toBe(true);
      if ("error" in r) messages.push(r.error.slice(r.error.lastIndexOf("/") + 1));
    }
    // Lines: 1 valid, 2 blank (CRLF), 3 and 4 split by a lone CR, 5 blank, 6 the bad line.
    for (const msg of messages) expect(msg).toMatch(/^f\d+\.jsonl:6: /);
    expect(messages[0]).toMatch(/winner: invalid value "draw" \(expected "model_a" \| "model_b" \| "tie"/);
    expect(messages[1]).toMatch(/winner: missing field/);
    expect(messages[2]).toMatch(/model_a: invalid value 3/);
    expect(messages[4]).toMatch(/model_b: model_a and model_b are the same model 'a'/);
    expect(messages[5]).toMatch(/same model 'a'/);
    expect(messages[6]).toMatch(/malformed JSON/);
    expect(messages[8]).toMatch(/line is not a JSON object/);
  });

  it("reads gzip in any chunking and names the line where a truncated file stops", async () => {
    const lines = Array.from({ length: 3000 }, (_, i) => valid[i % valid.length]);
    const text = `${lines.join("\n")}\n`;
    const gz = writeFile(gzipSync(text), ".jsonl.gz");
    const plain = writeFile(text);
    const a = await readBattlesFile(gz);
    const b = await reference(plain);
    expect("m" in b && { m: a.matchups(), count: a.count }).toEqual("m" in b && { m: b.m, count: b.count });
    const z = gzipSync(text);
    const truncated = writeFile(z.subarray(0, z.length >> 1), ".jsonl.gz");
    await expect(readBattlesFile(truncated)).rejects.toThrow(/cannot read file: unexpected end of file/);
    await readBattlesFile(truncated).catch((e: UserError) => {
      expect(e.where.line).toBeGreaterThan(1);
      expect(e.where.file).toBe(truncated);
    });
  });
});

describe("assay rank: bad input", () => {
  it("an empty file (plain, gzip of nothing, zero-byte .gz, blank lines) has no battles", async () => {
    for (const [content, ext] of [
      ["", ".jsonl"],
      [gzipSync(""), ".jsonl.gz"],
      ["", ".jsonl.gz"],
      ["\n \n\r\n", ".jsonl"],
    ] as const) {
      const file = writeFile(content, ext);
      const err = await rankBattles(file, {}).catch((e) => e);
      expect(err.format()).toBe(
        `${file}: no battles in file (expected JSONL lines {model_a, model_b, winner})`,
      );
    }
    await expect(rankBattles(path.join(dir, "missing.jsonl"), {})).rejects.toThrow(
      /cannot read file: ENOENT/,
    );
  });

  it("an unknown winner names file, line and field", async () => {
    const file = writeFile(`${valid[0]}\n{"model_a":"a","model_b":"b","winner":"both"}\n`);
    const err = await rankBattles(file, {}).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.format()).toBe(
      `${file}:2: winner: invalid value "both" (expected "model_a" | "model_b" | "tie" | "tie (bothbad)")`,
    );
  });

  it("a self-battle is an error at its line, also when the names only match after unescaping", async () => {
    for (const line of [
      '{"model_a":"m1","model_b":"m1","winner":"model_a"}',
      '{"model_a":"m1","model_b":"m\\u0031","winner":"model_a"}',
    ]) {
      const file = writeFile(`${valid[0]}\n${valid[1]}\n${line}\n`);
      const err = await rankBattles(file, { system: "elo" }).catch((e) => e);
      expect(err.format()).toBe(`${file}:3: model_b: model_a and model_b are the same model 'm1'`);
    }
  });

  it("a single model: a well-defined fit, a clear bootstrap error; two models rank fine", async () => {
    const one = matchupsFromRows(["solo"], []);
    const fit = fitBradleyTerry(one);
    expect(fit.mleExists).toBe(true);
    expect(fit.ratings).toEqual({ solo: 1000 });
    expect(() => bootstrapBradleyTerry(one)).toThrow(/no battles to resample/);
    const file = writeFile(
      `${['{"model_a":"x","model_b":"y","winner":"model_a"}', '{"model_a":"y","model_b":"x","winner":"tie"}'].join("\n")}\n`,
    );
    const lb = await rankBattles(file, { bootstrap: 20 });
    expect(lb.rows.map((r) => [r.model, r.wins, r.losses, r.ties])).toEqual([
      ["x", 1, 0, 1],
      ["y", 0, 1, 1],
    ]);
    expect(lb.rows[0].rating! - lb.rows[1].rating!).toBeCloseTo(400 * Math.log10(3), 9);
  });
});

// ---------------------------------------------------------------------------------------------

/** The bootstrap as written before the per-pair solver: every replicate through the general path. */
function referenceBootstrap(m: Matchups, rounds: number, seed: number) {
  const alpha = Math.log(10);
  let draws = 0;
  for (const w of m.w) draws += w;
  draws = Math.round(draws);
  const full = solveBradleyTerry(m, { alpha });
  const rng = new Rng(seed);
  const counts = new Float64Array(m.w.length);
  const samples: number[][] = [];
  let failed = 0;
  for (let r = 0; r < rounds; r++) {
    drawMultinomial(rng, m.w, draws, counts);
    for (let k = 0; k < counts.length; k++) counts[k] /= draws;
    const rep = { ...m, w: counts };
    if (!checkMleExistence(rep).exists) {
      failed++;
      continue;
    }
    samples.push([...solveBradleyTerry(rep, { alpha, start: full.beta }).beta].map((b) => 400 * b + 1000));
  }
  return { samples, failed };
}

function simulate(strength: Record<string, number>, n: number, seed: number): Battle[] {
  const rng = new Rng(seed);
  const names = Object.keys(strength);
  const out: Battle[] = [];
  for (let i = 0; i < n; i++) {
    const x = names[rng.integer(names.length)];
    let y = names[rng.integer(names.length)];
    while (y === x) y = names[rng.integer(names.length)];
    const u = rng.uniform();
    const p = 1 / (1 + 10 ** (strength[y] - strength[x]));
    out.push({ model_a: x, model_b: y, winner: u < 0.1 ? "tie" : u < 0.1 + 0.9 * p ? "model_a" : "model_b" });
  }
  return out;
}

describe("bootstrap per-pair solver", () => {
  it("equals the general solver replicate by replicate", () => {
    const agg = new BattleAggregator();
    for (const b of simulate({ a: 0.6, b: 0.2, c: 0, d: -0.5, e: 0.1 }, 5000, 11)) agg.add(b);
    const m = agg.matchups();
    const got = bootstrapBradleyTerry(m, { rounds: 40, seed: 5, keepSamples: true });
    const ref = referenceBootstrap(m, 40, 5);
    expect(got.failedRounds).toBe(0);
    expect(got.samples!.length).toBe(40);
    got.samples!.forEach((s, r) => {
      for (let i = 0; i < s.length; i++) expect(Math.abs(s[i] - ref.samples[r][i])).toBeLessThan(1e-9);
    });
  });

  it("falls back to the existence check and the general solver when a replicate loses a pair's support", () => {
    // d has one win, one loss and one tie: many replicates lose one of them, some lose the MLE.
    const agg = new BattleAggregator();
    for (const b of simulate({ a: 0.3, b: 0, c: -0.3 }, 3000, 2)) agg.add(b);
    agg.add({ model_a: "d", model_b: "a", winner: "model_a" });
    agg.add({ model_a: "d", model_b: "b", winner: "model_b" });
    agg.add({ model_a: "c", model_b: "d", winner: "tie" });
    const m = agg.matchups();
    const got = bootstrapBradleyTerry(m, { rounds: 60, seed: 9, keepSamples: true });
    const ref = referenceBootstrap(m, 60, 9);
    expect(got.failedRounds).toBe(ref.failed);
    expect(got.failedRounds).toBeGreaterThan(5);
    expect(got.failedRounds).toBeLessThan(55);
    expect(got.samples!.length).toBe(ref.samples.length);
    got.samples!.forEach((s, r) => {
      for (let i = 0; i < s.length; i++) expect(Math.abs(s[i] - ref.samples[r][i])).toBeLessThan(1e-8);
    });
  });

  it("draws binomials with the right mean and variance on both samplers", () => {
    const rng = new Rng(4);
    expect(binomialDraw(rng, 0, 0.3)).toBe(0);
    expect(binomialDraw(rng, 10, 0)).toBe(0);
    expect(binomialDraw(rng, 10, 1)).toBe(10);
    for (const [n, p] of [
      [1000, 0.3],
      [1_000_000, 1e-4],
      [40, 0.6],
      [25, 0.2],
    ]) {
      const N = 40_000;
      let s = 0;
      let s2 = 0;
      let outside = 0;
      for (let i = 0; i < N; i++) {
        const k = binomialDraw(rng, n, p);
        if (!(Number.isInteger(k) && k >= 0 && k <= n)) outside++;
        s += k;
        s2 += k * k;
      }
      expect(outside).toBe(0);
      const mean = s / N;
      const v = n * p * (1 - p);
      expect(Math.abs(mean - n * p)).toBeLessThan(4 * Math.sqrt(v / N));
      expect(s2 / N - mean * mean).toBeGreaterThan(v * 0.95);
      expect(s2 / N - mean * mean).toBeLessThan(v * 1.05);
    }
  });

  it("multinomial draws sum to the total and skip zero weights", () => {
    const rng = new Rng(1);
    const w = [5, 0, 3, 0.5, 0];
    const out = new Float64Array(w.length);
    for (let r = 0; r < 200; r++) {
      drawMultinomial(rng, w, 17, out);
      expect(out.reduce((x, y) => x + y, 0)).toBe(17);
      expect(out[1] + out[4]).toBe(0);
    }
  });
});

const golden1m = path.resolve(import.meta.dirname, "../../../shared/golden/ranking");
describe.skipIf(!existsSync(path.join(golden1m, "battles_1m.jsonl.gz")))(
  "1M battles through the fast reader",
  () => {
    it("gives the golden Bradley–Terry optimum", async () => {
      const c = JSON.parse(
        readFileSync(path.join(golden1m, "bradley_terry_1m.jsonl"), "utf8").split("\n")[0],
      );
      const agg = await readBattlesFile(path.join(golden1m, c.input.battles_file));
      expect(agg.count).toBe(1_000_000);
      const fit = fitBradleyTerry(agg.matchups(), {
        anchor: { model: c.params.anchor_model, rating: c.params.anchor_rating },
      });
      expect(fit.models).toEqual(c.expected.models);
      for (const [k, v] of Object.entries(c.expected.ratings_anchored as Record<string, number>))
        expect(Math.abs(fit.ratingsAnchored![k] - v)).toBeLessThan(1e-8);
    });
  },
);
