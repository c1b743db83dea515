/**
 * `assay rank` on battle files (golden Bradley–Terry / Elo cases written as JSONL) and `assay agree`
 * on the real PandaLM annotations (converted to long format here; the data stays in shared/).
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { agreementReport } from "../../src/cli/commands/agree.js";
import { rankBattles } from "../../src/cli/commands/rank.js";
import { aggregateBattles, type Battle } from "../../src/stats/ranking/battles.js";
import { fitBradleyTerry } from "../../src/stats/ranking/bradley_terry.js";
import { computeElo } from "../../src/stats/ranking/elo.js";

const repo = path.resolve(import.meta.dirname, "../..");
const shared = path.resolve(repo, "../shared");
const golden = (file: string, id: string) => {
  for (const line of readFileSync(path.join(shared, "golden", file), "utf8").split("\n"))
    if (line.trim()) {
      const c = JSON.parse(line);
      if (c.id === id) return c;
    }
  throw new Error(`no golden case ${id}`);
};

function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", path.join(repo, "src/cli/main.ts"), ...args],
      { cwd: repo, env: { ...process.env, ...env }, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

let dir: string;
const battlesFile = (name: string, battles: Battle[], gz = false): string => {
  const file = path.join(dir, name);
  const text = `${battles.map((b) => JSON.stringify(b)).join("\n")}\n`;
  writeFileSync(file, gz ? gzipSync(text) : text);
  return file;
};

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "assay-rank-"));
});

describe("assay rank", () => {
  it("Bradley–Terry ratings match fitBradleyTerry and the golden MLE, with bootstrap CIs", async () => {
    const c = golden("ranking/bradley_terry.jsonl", "bradley_terry/syn/n200_8models");
    const battles: Battle[] = c.input.battles;
    const file = battlesFile("n200.jsonl.gz", battles, true);
    const csv = path.join(dir, "out", "n200.csv");
    const outJson = path.join(dir, "out", "n200.json");
    const anchor = `${c.params.anchor_model}=${c.params.anchor_rating}`;
    const r = await cli([
      "rank",
      file,
      "--anchor",
      anchor,
      "--bootstrap",
      "50",
      "--json",
      "--csv",
      csv,
      "--out-json",
      outJson,
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lb = JSON.parse(r.stdout);
    const fit = fitBradleyTerry(aggregateBattles(battles), {
      anchor: { model: c.params.anchor_model, rating: c.params.anchor_rating },
    });
    expect(lb.mleExists).toBe(true);
    expect(lb.battles).toBe(200);
    expect(lb.bootstrap).toEqual({ rounds: 50, failedRounds: 0, seed: 0 });
    for (const row of lb.rows) {
      expect(row.rating).toBe(fit.ratingsAnchored![row.model]);
      expect(Math.abs(row.rating - c.expected.ratings_anchored[row.model])).toBeLessThan(1e-3);
      if (row.model === c.params.anchor_model) {
        // Anchored in every replicate (as FastChat): the anchor's own interval has no width.
        expect([row.ciLow, row.ciHigh]).toEqual([row.rating, row.rating]);
      } else {
        expect(row.ciLow).toBeLessThan(row.rating);
        expect(row.ciHigh).toBeGreaterThan(row.rating);
      }
      expect(row.battles).toBe(
        battles.filter((b) => b.model_a === row.model || b.model_b === row.model).length,
      );
    }
    // Sorted by rating, ranks from overlapping intervals (1 + models surely better).
    const ratings = lb.rows.map((x: { rating: number }) => x.rating);
    expect(ratings).toEqual([...ratings].sort((a, b) => b - a));
    expect(lb.rows[0].rank).toBe(1);
    for (const row of lb.rows)
      expect(row.rank).toBe(1 + lb.rows.filter((o: { ciLow: number }) => o.ciLow > row.ciHigh).length);
    const csvLines = readFileSync(csv, "utf8").trim().split("\n");
    expect(csvLines[0]).toBe("rank,model,rating,ci_low,ci_high,battles,wins,losses,ties,component");
    expect(csvLines).toHaveLength(9);
    expect(JSON.parse(readFileSync(outJson, "utf8"))).toEqual(lb);
    // The same run prints a readable table.
    const text = await cli(["rank", file, "--anchor", anchor, "--bootstrap", "0"]);
    expect(text.stdout).toMatch(
      /Bradley–Terry \(MLE\) ratings of 8 models from 200 battles; anchored at m01=1114/,
    );
    expect(text.stdout).toMatch(/rank\s+model\s+rating\s+95% CI\s+battles\s+W-L-T/);
  });

  it("says which model never loses instead of printing diverging ratings", async () => {
    const c = golden("ranking/bradley_terry.jsonl", "bradley_terry/syn/undefeated_model");
    const file = battlesFile("undefeated.jsonl", c.input.battles);
    const lb = await rankBattles(file, { bootstrap: 10 });
    expect(lb.mleExists).toBe(false);
    expect(lb.message).toMatch(/m00 never loses/);
    expect(lb.rows.every((r) => r.rating === null && r.ciLow === null)).toBe(true);
    expect(lb.rows[0].model).toBe("m00");
    const r = await cli(["rank", file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/NO FINITE RATINGS: no finite maximum-likelihood ratings .*m00 never loses/);
    expect(r.stdout).not.toMatch(/\d{4}\.\d/); // no huge numbers
  });

  it("flags a disconnected comparison graph and ranks within each group", async () => {
    const c = golden("ranking/bradley_terry.jsonl", "bradley_terry/syn/disconnected_2groups");
    const lb = await rankBattles(battlesFile("disc.jsonl", c.input.battles), { bootstrap: 0 });
    expect(lb.mleExists).toBe(true);
    expect(lb.components).toEqual(c.expected.components);
    expect(lb.notes[0]).toMatch(/disconnected: 2 groups never met/);
    for (const row of lb.rows) expect(row.rating! - c.expected.ratings[row.model]).toBeCloseTo(0, 3);
    for (let g = 0; g < 2; g++)
      expect(lb.rows.filter((r) => r.component === g && r.rank === 1)).toHaveLength(1);
  });

  it("Elo in file order equals computeElo and the golden online Elo", async () => {
    const c = golden("ranking/elo_online.jsonl", "elo_online/pandalm/human_majority");
    const file = battlesFile("pandalm_battles.jsonl", c.input.battles);
    const lb = await rankBattles(file, { system: "elo", bootstrap: 0 });
    const elo = computeElo(c.input.battles);
    for (const row of lb.rows) {
      expect(row.rating).toBe(elo[row.model]);
      expect(Math.abs(row.rating! - c.expected.ratings[row.model])).toBeLessThan(1e-8);
    }
    const boot = await rankBattles(file, { system: "elo", bootstrap: 30, seed: 1 });
    for (const row of boot.rows) expect(row.ciLow!).toBeLessThanOrEqual(row.rating!);
    expect(boot.notes.join()).toMatch(/medians over the bootstrap rounds/);
  });

  it("bad input: file:line errors, unknown anchor, unknown system", async () => {
    const file = path.join(dir, "bad.jsonl");
    writeFileSync(
      file,
      '{"model_a":"a","model_b":"b","winner":"model_a"}\n{"model_a":"a","model_b":"b","winner":"draw"}\n',
    );
    const r = await cli(["rank", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^assay: error: .*bad\.jsonl:2: winner: invalid value "draw" \(expected "model_a" \| "model_b" \| "tie" \| "tie \(bothbad\)"\)\n$/,
    );
    await expect(
      rankBattles(battlesFile("ok.jsonl", [{ model_a: "a", model_b: "b", winner: "tie" }]), {
        anchor: "c=1000",
      }),
    ).rejects.toThrow(/anchor model 'c' is not in the battles/);
    await expect(rankBattles(file, { system: "trueskill" })).rejects.toThrow(/unknown system 'trueskill'/);
    const empty = path.join(dir, "empty.jsonl");
    writeFileSync(empty, "\n");
    await expect(rankBattles(empty, {})).rejects.toThrow(/no battles in file/);
  });
});

// ---------------------------------------------------------------------------------------------

const pandalmFile = path.join(shared, "data/human/pandalm/testset-v1.json");
const describeIfData = existsSync(pandalmFile) ? describe : describe.skip;

describeIfData("assay agree on PandaLM (999 items × 3 annotators)", () => {
  let long: string;
  beforeAll(() => {
    const items = JSON.parse(readFileSync(pandalmFile, "utf8")) as Array<Record<string, number>>;
    const lines: string[] = [];
    for (const it of items)
      for (const rater of ["annotator1", "annotator2", "annotator3"])
        lines.push(JSON.stringify({ item: it.idx, rater, label: it[rater] }));
    long = path.join(dir, "pandalm_long.jsonl");
    writeFileSync(long, `${lines.join("\n")}\n`);
  });
  const expected = (id: string) => golden("agreement/judge_vs_human.jsonl", id).expected;

  it("pair kappas 0.852 / 0.879 / 0.862, Fleiss, Krippendorff and percent agreement", async () => {
    const r = await cli(["agree", long, "--tie-labels", "0", "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.items).toBe(999);
    expect(rep.raters).toEqual(["annotator1", "annotator2", "annotator3"]);
    const kappas = rep.cohen.map((c: { kappa: number }) => c.kappa);
    expect(kappas.map((k: number) => k.toFixed(3))).toEqual(["0.852", "0.879", "0.862"]);
    const ids = ["annotator1_vs_annotator2", "annotator1_vs_annotator3", "annotator2_vs_annotator3"];
    ids.forEach((id, i) => {
      expect(Math.abs(kappas[i] - expected(`cohen_kappa/pandalm/${id}`))).toBeLessThan(1e-12);
    });
    expect(Math.abs(rep.fleiss.fleiss - expected("fleiss_kappa/pandalm/3annotators/fleiss"))).toBeLessThan(
      1e-12,
    );
    expect(
      Math.abs(rep.fleiss.randolph - expected("fleiss_kappa/pandalm/3annotators/randolph")),
    ).toBeLessThan(1e-12);
    const alpha = expected("krippendorff_alpha/pandalm/3annotators/nominal");
    expect(Math.abs(rep.krippendorff.alpha - alpha.alpha)).toBeLessThan(1e-12);
    expect(rep.krippendorff.nPairable).toBe(alpha.n_pairable);
    expect(rep.percentAgreement.withTies).toEqual(expected("percent_agreement/pandalm/human_human/withties"));
    const noTies = expected("percent_agreement/pandalm/human_human/noties");
    expect(rep.percentAgreement.withoutTies.agree).toBe(noTies.agree);
    expect(rep.percentAgreement.withoutTies.total).toBe(noTies.total);

    const text = await cli(["agree", long, "--tie-labels", "0"]);
    expect(text.stdout).toMatch(/annotator1\s+annotator2\s+999\s+0\.8520/);
    expect(text.stdout).toMatch(/without ties\s+0\.9473 \(2482\/2620\)/);
    expect(text.stdout).toMatch(
      /Fleiss' kappa \(3 raters per item\): 0\.8642 \(fleiss\), 0\.8799 \(randolph/,
    );
  });

  it("ordinal alpha with the label order 1 < 0 < 2", async () => {
    const rep = await agreementReport(long, { level: "ordinal", labels: "1,0,2" });
    const alpha = expected("krippendorff_alpha/pandalm/3annotators/ordinal");
    expect(Math.abs(rep.krippendorff.alpha! - alpha.alpha)).toBeLessThan(1e-12);
    expect(rep.labels).toEqual([1, 0, 2]);
  });
});

describe("assay agree on small inputs", () => {
  it("missing labels, unequal rater counts, string labels", async () => {
    const file = path.join(dir, "small.jsonl");
    const rows = [
      { item: "q1", rater: "ann", label: "good" },
      { item: "q1", rater: "bob", label: "good" },
      { item: "q1", rater: "cy", label: "bad" },
      { item: "q2", rater: "ann", label: "bad" },
      { item: "q2", rater: "bob", label: "bad" },
      { item: "q2", rater: "cy", label: null },
      { item: "q3", rater: "ann", label: "ok" },
      { item: "q3", rater: "bob", label: "good" },
    ];
    writeFileSync(file, `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`);
    const rep = await agreementReport(file, {});
    expect(rep.items).toBe(3);
    expect(rep.ratings).toBe(7);
    expect(rep.cohen.map((c) => [c.a, c.b, c.n])).toEqual([
      ["ann", "bob", 3],
      ["ann", "cy", 1],
      ["bob", "cy", 1],
    ]);
    expect("skipped" in rep.fleiss && rep.fleiss.skipped).toMatch(/different numbers of ratings \(2–3\)/);
    expect(rep.percentAgreement.withTies).toEqual({ agree: 2, total: 5, rate: 0.4 });
    await expect(agreementReport(file, { level: "ordinal" })).rejects.toThrow(/needs their order/);
    const ord = await agreementReport(file, { level: "ordinal", labels: "bad,ok,good" });
    expect(ord.labels).toEqual(["bad", "ok", "good"]);
    await expect(agreementReport(file, { labels: "bad,good" })).rejects.toThrow(
      /label "ok" is not in --labels/,
    );
    await expect(agreementReport(file, { level: "interval" })).rejects.toThrow(/invalid value "good"/);
    const r = await cli(["agree", file, "--labels", "bad,good"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/small\.jsonl:7: label: label "ok" is not in --labels/);
  });

  it("duplicate ratings and missing fields name the line", async () => {
    const file = path.join(dir, "dup.jsonl");
    writeFileSync(
      file,
      '{"item":1,"rater":"a","label":1}\n{"item":1,"rater":"b","label":1}\n{"item":1,"rater":"a","label":2}\n',
    );
    await expect(agreementReport(file)).rejects.toThrow(/rater 'a' rated item '1' twice \(first on line 1\)/);
    writeFileSync(file, '{"item":1,"rater":"a","label":1}\n{"item":1,"label":1}\n');
    const r = await cli(["agree", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`assay: error: ${file}:2: rater: missing field (expected a string or number id)\n`);
  });
});
