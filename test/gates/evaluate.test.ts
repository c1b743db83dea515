/** Gate evaluation on real runs of the engine (n-gram models of different quality). */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LatencyHistogram } from "../../src/engine/latency.js";
import { compareRuns } from "../../src/gates/compare.js";
import { evaluateGate } from "../../src/gates/evaluate.js";
import { parseGateConfig } from "../../src/gates/gate_config.js";
import { historyOf, historyRange, mergeStats, operationalValue } from "../../src/gates/history.js";
import { gateJson, githubAnnotations, junitXml, markdownSummary } from "../../src/gates/outputs.js";
import { holm } from "../../src/stats/multiple.js";
import type { RunRecord } from "../../src/store/types.js";
import { createFixture, type Fixture } from "./fixture.js";

let fx: Fixture;
let good: RunRecord[];
let bad: RunRecord[];
/** Checkpoint-like family: ckpt-1..4 with similar quality, oldest first. */
let ckpts: RunRecord[][];
let ckptFinal: RunRecord[];
let ckptBroken: RunRecord[];

const byTask = (runs: RunRecord[], task: string) => runs.find((r) => r.task === task)!;

beforeAll(async () => {
  fx = createFixture();
  good = await fx.run(fx.corpus("good.txt", 0));
  bad = await fx.run(fx.corpus("bad.txt", 0.9));
  ckpts = [];
  for (const [i, share] of [0.2, 0.25, 0.15, 0.2].entries())
    ckpts.push(await fx.run(fx.corpus(`ckpt-${i + 1}.txt`, share), { tasks: ["arith_mc"] }));
  ckptFinal = await fx.run(fx.corpus("ckpt-5.txt", 0.2), { tasks: ["arith_mc"] });
  ckptBroken = await fx.run(fx.corpus("ckpt-6.txt", 1), { tasks: ["arith_mc"] });
}, 120_000);

afterAll(async () => {
  await fx?.store.close();
});

const gate = (yaml: string) => parseGateConfig(yaml, "gate.yaml");

describe("fixture", () => {
  it("produces completed runs of clearly different quality", () => {
    for (const r of [...good, ...bad]) expect(r.status).toBe("completed");
    expect(byTask(good, "arith_mc").aggregates["acc,none"].value).toBeGreaterThan(
      byTask(bad, "arith_mc").aggregates["acc,none"].value + 0.3,
    );
  });
});

describe("threshold rules", () => {
  it("passes and fails on min/max", async () => {
    const acc = byTask(good, "arith_mc").aggregates["acc,none"].value;
    const r = await evaluateGate(
      fx.store,
      gate(
        `gates:\n  - metric: arith_mc/acc\n    min: ${acc - 0.01}\n  - metric: arith_mc/acc\n    max: ${acc - 0.01}\n  - metric: arith_gen/exact_match,strict-match\n    min: 0\n    max: 1\n`,
      ),
      good,
    );
    expect(r.checks.map((c) => c.status)).toEqual(["pass", "fail", "pass"]);
    expect(r.checks[0].observed).toBe(acc);
    expect(r.checks[1].threshold).toMatch(/^≤ /);
    expect(r.checks[2].threshold).toBe("in [0, 1]");
    expect(r.passed).toBe(false);
    expect(r.counts).toEqual({ pass: 2, fail: 1, warn: 0, skip: 0 });
  });

  it("applies a task-less metric to every candidate run that has it, per model", async () => {
    const r = await evaluateGate(fx.store, gate("gates:\n  - metric: acc\n    min: 0.5\n"), [
      ...good,
      ...bad,
    ]);
    expect(r.checks.map((c) => [c.task, c.model, c.status])).toEqual([
      ["arith_mc", byTask(good, "arith_mc").model, "pass"],
      ["arith_mc", byTask(bad, "arith_mc").model, "fail"],
    ]);
  });

  it("reads operational metrics over all of a model's runs (merged latency histograms)", async () => {
    const r = await evaluateGate(
      fx.store,
      gate(
        "gates:\n  - metric: latency_p95_ms\n    max: 60000\n  - metric: requests\n    max: 1\n  - metric: arith_mc/error_rate\n    max: 0\n  - metric: cost_usd\n    max: 0\n",
      ),
      good,
    );
    const [lat, req, err, cost] = r.checks;
    const merged = LatencyHistogram.from(mergeStats(good).latencyHistogram);
    expect(lat.observed).toBe(merged.quantile(0.95));
    expect(lat.status).toBe("pass");
    expect(lat.task).toBeUndefined();
    expect(lat.candidateRuns).toEqual(good.map((g) => g.id));
    expect(req.observed).toBe(good.reduce((s, g) => s + g.stats.requests, 0));
    expect(req.status).toBe("fail");
    expect(err.observed).toBe(0);
    expect(err.status).toBe("pass");
    expect(cost.observed).toBe(0);
    expect(operationalValue(good, "latency_p50_ms")).toBe(merged.quantile(0.5));
  });
});

describe("compare_to rules", () => {
  it("passes an improvement and fails a regression, from the paired comparison", async () => {
    const cfg = gate(
      "gates:\n  - metric: arith_mc/acc\n    compare_to: baseline\n    max_drop: 0.02\n  - metric: arith_mc/brier_score\n    compare_to: baseline\n",
    );
    const up = await evaluateGate(fx.store, cfg, good, bad);
    const down = await evaluateGate(fx.store, cfg, bad, good);
    const cmp = await compareRuns(fx.store, byTask(good, "arith_mc"), byTask(bad, "arith_mc"));
    const row = cmp.rows.find((x) => x.metric === "acc,none")!;
    const [downAcc, downBrier] = down.checks;
    expect(downAcc.delta).toBeCloseTo(row.delta, 12);
    expect(downAcc.ciLow).toBeCloseTo(row.ciLow, 12);
    expect(downAcc.pValue).toBe(row.pValue);
    expect(downAcc.status).toBe("fail");
    expect(downAcc.threshold).toBe("Δ ≥ -0.02 (95% CI low)");
    // Brier score is lower-is-better: the decision uses the CI's upper end.
    expect(downBrier.higherIsBetter).toBe(false);
    expect(downBrier.delta!).toBeGreaterThan(0);
    expect(downBrier.threshold).toBe("Δ ≤ +0 (95% CI high)");
    expect(downBrier.status).toBe("fail");
    expect(up.checks.map((c) => c.status)).toEqual(["pass", "pass"]);
    expect(up.passed).toBe(true);
    expect(down.passed).toBe(false);
  });

  it("fails exactly when the CI bound in the worse direction is beyond -max_drop", async () => {
    const down = await evaluateGate(
      fx.store,
      gate("gates:\n  - metric: arith_mc/acc\n    compare_to: baseline\n"),
      bad,
      good,
    );
    const lo = down.checks[0].ciLow!;
    const just = (drop: number) =>
      evaluateGate(
        fx.store,
        gate(`gates:\n  - metric: arith_mc/acc\n    compare_to: baseline\n    max_drop: ${drop}\n`),
        bad,
        good,
      );
    expect((await just(-lo + 1e-9)).checks[0].status).toBe("pass");
    expect((await just(-lo - 1e-9)).checks[0].status).toBe("fail");
  });

  it("a run compared with itself passes with max_drop 0", async () => {
    const r = await evaluateGate(
      fx.store,
      gate("gates:\n  - metric: arith_gen/exact_match,strict-match\n    compare_to: baseline\n"),
      good,
      good,
    );
    expect(r.checks[0].delta).toBe(0);
    expect(r.checks[0].status).toBe("pass");
  });

  it("reports Holm-adjusted p-values when there are several compare checks", async () => {
    const r = await evaluateGate(
      fx.store,
      gate(
        "gates:\n  - metric: arith_mc/acc\n    compare_to: baseline\n  - metric: arith_gen/exact_match,strict-match\n    compare_to: baseline\n  - metric: arith_mc/acc\n    min: 0\n",
      ),
      bad,
      good,
    );
    const p = r.checks.slice(0, 2).map((c) => c.pValue!);
    expect(r.checks.slice(0, 2).map((c) => c.pHolm)).toEqual(holm(p));
    expect(r.checks[2].pHolm).toBeUndefined();
    const single = await evaluateGate(
      fx.store,
      gate("gates:\n  - metric: arith_mc/acc\n    compare_to: baseline\n"),
      bad,
      good,
    );
    expect(single.checks[0].pHolm).toBeUndefined();
  });

  it("compares operational metrics by their point values", async () => {
    const r = await evaluateGate(
      fx.store,
      gate("gates:\n  - metric: arith_mc/requests\n    compare_to: baseline\n    max_drop: 0\n"),
      good,
      bad,
    );
    expect(r.checks[0].baseline).toBe(byTask(bad, "arith_mc").stats.requests);
    expect(r.checks[0].delta).toBe(
      byTask(good, "arith_mc").stats.requests - byTask(bad, "arith_mc").stats.requests,
    );
  });
});

describe("range rules", () => {
  it("warn by default and fail with fail: true", async () => {
    const r = await evaluateGate(
      fx.store,
      gate(
        "gates:\n  - metric: arith_mc/acc\n    range: [0.99, 1]\n  - metric: arith_mc/acc\n    range: [0.99, 1]\n    fail: true\n  - metric: arith_mc/acc\n    range: [0, 1]\n",
      ),
      bad,
    );
    expect(r.checks.map((c) => c.status)).toEqual(["warn", "fail", "pass"]);
    expect(r.checks[0].message).toMatch(/outside the expected range \[0\.99, 1\]/);
    expect(r.passed).toBe(false);
    const warnOnly = await evaluateGate(
      fx.store,
      gate("gates:\n  - metric: arith_mc/acc\n    range: [0.99, 1]\n"),
      bad,
    );
    expect(warnOnly.passed).toBe(true);
    expect(warnOnly.counts.warn).toBe(1);
  });

  it("takes the expected range from the history of the model family", async () => {
    const family = `ngram:${fx.dir}/data/ckpt-*.txt?order=8`;
    const cfg = gate(
      `gates:\n  - metric: arith_mc/acc\n    range: history\n    history_model: "${family}"\n  - metric: arith_mc/acc\n    range: history\n    history_model: "${family}"\n    history_method: minmax\n    history_runs: 3\n    fail: true\n`,
    );
    const all = await fx.store.listRuns();
    const past = ckpts.map((c) => c[0].aggregates["acc,none"].value);
    const points = historyOf(all, {
      task: "arith_mc",
      ref: { key: "acc,none", operational: false },
      model: family,
      before: ckptFinal[0].createdAt,
      exclude: new Set([ckptFinal[0].id]),
    });
    expect(points.map((p) => p.run.id)).toEqual(ckpts.map((c) => c[0].id));
    expect(new Set(points.map((p) => p.run.id)).size).toBe(4);
    const sd = historyRange(past, { method: "sd", k: 3 });
    const ok = await evaluateGate(fx.store, cfg, ckptFinal, [], { allRuns: all });
    expect(ok.checks[0].lo).toBeCloseTo(sd.lo, 12);
    expect(ok.checks[0].hi).toBeCloseTo(sd.hi, 12);
    expect(ok.checks[0].history!.runs).toEqual(ckpts.map((c) => c[0].id));
    expect(ok.checks[0].status).toBe("pass");
    // minmax over the last 3 runs only.
    expect(ok.checks[1].lo).toBe(Math.min(...past.slice(1)));
    expect(ok.checks[1].hi).toBe(Math.max(...past.slice(1)));
    // A broken checkpoint leaves the range: a warning, and a failure where fail: true.
    const broken = await evaluateGate(fx.store, cfg, ckptBroken, [], { allRuns: all });
    expect(broken.checks[0].history!.runs).toContain(ckptFinal[0].id);
    expect(broken.checks.map((c) => c.status)).toEqual(["warn", "fail"]);
  });

  it("skips a history range with too few earlier runs", async () => {
    const r = await evaluateGate(
      fx.store,
      gate("gates:\n  - metric: arith_mc/acc\n    range: history\n"),
      good,
    );
    expect(r.checks[0].status).toBe("skip");
    expect(r.checks[0].message).toMatch(/only 0 earlier completed run\(s\).*needs 3/);
    expect(r.passed).toBe(true);
  });
});

describe("errors name the rule", () => {
  it("unknown task, missing metric, missing baseline", async () => {
    const msg = async (yaml: string, baselines: RunRecord[] = []) => {
      try {
        await evaluateGate(fx.store, gate(yaml), good, baselines);
      } catch (e) {
        return (e as { format(): string }).format();
      }
      return "no error";
    };
    expect(await msg("gates:\n  - metric: arith_m/acc\n    min: 0\n")).toMatch(
      /^gate\.yaml:2: gates\[0\]\.metric: no candidate run of task 'arith_m'.*did you mean 'arith_mc'/,
    );
    expect(await msg("gates:\n  - metric: arith_mc/exact_match\n    min: 0\n")).toMatch(
      /^gate\.yaml:2: gates\[0\]\.metric: run .* has no metric 'exact_match,none' \(expected acc,none, brier_score,none\)/,
    );
    expect(
      await msg(
        "gates:\n  - metric: arith_mc/acc\n    min: 0\n  - metric: arith_mc/acc\n    compare_to: baseline\n",
      ),
    ).toMatch(
      /^gate\.yaml:4: gates\[1\]\.compare_to: rule compares to the baseline but no baseline runs were given/,
    );
    expect(
      await msg(
        "gates:\n  - metric: arith_gen/exact_match,strict-match\n    compare_to: baseline\n",
        bad.filter((r) => r.task === "arith_mc"),
      ),
    ).toMatch(/no baseline run of task 'arith_gen'/);
  });
});

describe("outputs", () => {
  it("JUnit, Markdown, annotations and JSON agree with the checks", async () => {
    const r = await evaluateGate(
      fx.store,
      gate(
        "gates:\n  - metric: arith_mc/acc\n    compare_to: baseline\n  - metric: arith_mc/acc\n    range: [0.99, 1]\n  - name: 'gen <ok> & \"fine\"'\n    metric: arith_gen/exact_match,strict-match\n    min: 0\n",
      ),
      bad,
      good,
    );
    const xml = junitXml(r);
    expect(xml).toContain('<testsuites name="assay gate" tests="3" failures="1" errors="0" skipped="0">');
    expect(xml.match(/<failure /g)).toHaveLength(1);
    expect(xml).toContain('name="gen &lt;ok&gt; &amp; &quot;fine&quot; (min 0)"');
    const md = markdownSummary(r);
    expect(md).toMatch(/^### ❌ Gate failed/);
    expect(md).toContain("| ❌ fail | arith\\_mc/acc |");
    expect(md).toContain("| ⚠️ warn |");
    const gh = githubAnnotations(r);
    expect(gh).toHaveLength(2);
    expect(gh[0]).toMatch(
      /^::error file=gate\.yaml,line=2,title=assay gate%3A arith_mc\/acc \(vs baseline%2C max_drop 0\)::arith_mc\/acc: /,
    );
    expect(gh[1]).toMatch(/^::warning file=gate\.yaml,line=4,/);
    const json = gateJson(r) as { passed: boolean; checks: Array<Record<string, unknown>> };
    expect(json.passed).toBe(false);
    expect(json.checks.map((c) => c.status)).toEqual(["fail", "warn", "pass"]);
    expect(json.checks[0].line).toBe(2);
  });
});
