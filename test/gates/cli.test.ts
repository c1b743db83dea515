/**
 * The gate commands as CI runs them: real `assay` processes on a store of real runs; exit codes,
 * JUnit XML, Markdown, GitHub annotations, `assay run --gate`, and the helper commands
 * (trajectory, failures, rank-runs, plan).
 */
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { RunRecord } from "../../src/store/types.js";
import { createFixture, type Fixture, repo } from "./fixture.js";

function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", path.join(repo, "src/cli/main.ts"), ...args],
      {
        cwd: repo,
        env: { ...process.env, GITHUB_ACTIONS: "", GITHUB_STEP_SUMMARY: "", ...env },
        maxBuffer: 64 << 20,
      },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/**
 * Minimal XML well-formedness check: one root, properly nested tags, quoted attributes, no stray
 * `<` or `&` in text. Returns the element names in document order.
 */
function parseXml(xml: string): string[] {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, "");
  const tag = /<(\/?)([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.-]*="[^"<]*")*)\s*(\/?)>/y;
  const stack: string[] = [];
  const names: string[] = [];
  let roots = 0;
  let i = 0;
  while (i < body.length) {
    const lt = body.indexOf("<", i);
    const text = body.slice(i, lt < 0 ? body.length : lt);
    if (/&(?!(amp|lt|gt|quot|apos);)/.test(text)) throw new Error(`bad entity in text: ${text}`);
    if (stack.length === 0 && text.trim()) throw new Error(`text outside the root: ${text}`);
    if (lt < 0) break;
    tag.lastIndex = lt;
    const m = tag.exec(body);
    if (!m) throw new Error(`malformed tag at ${body.slice(lt, lt + 40)}`);
    const [, close, name, attrs, selfClose] = m;
    for (const a of attrs.matchAll(/="([^"]*)"/g))
      if (/&(?!(amp|lt|gt|quot|apos);)/.test(a[1])) throw new Error(`bad entity in attribute: ${a[1]}`);
    if (close) {
      if (stack.pop() !== name) throw new Error(`mismatched </${name}>`);
    } else {
      if (stack.length === 0) roots++;
      names.push(name);
      if (!selfClose) stack.push(name);
    }
    i = tag.lastIndex;
  }
  if (stack.length || roots !== 1) throw new Error(`unclosed ${stack.join(",")} or ${roots} roots`);
  return names;
}

let fx: Fixture;
let good: RunRecord[];
let bad: RunRecord[];
const ids = (runs: RunRecord[]) => runs.map((r) => r.id).join(",");
const file = (name: string, text: string) => {
  const f = path.join(fx.dir, name);
  writeFileSync(f, text);
  return f;
};

beforeAll(async () => {
  fx = createFixture();
  good = await fx.run(fx.corpus("good.txt", 0));
  bad = await fx.run(fx.corpus("bad.txt", 0.9));
  // The spawned processes open the same database.
  await fx.store.close();
}, 120_000);

const GATE = `gates:
  - metric: arith_mc/acc
    compare_to: baseline
    max_drop: 0.02
  - metric: arith_gen/exact_match,strict-match
    compare_to: baseline
  - metric: arith_gen/exact_match,strict-match
    min: 0.5
  - metric: latency_p95_ms
    max: 60000
`;

describe("assay gate", () => {
  it("passes: exit 0, table, JUnit without failures, Markdown", async () => {
    const gate = file("gate.yaml", GATE);
    const junit = path.join(fx.dir, "out/pass.xml");
    const md = path.join(fx.dir, "out/pass.md");
    const r = await cli([
      "gate",
      gate,
      "--store",
      fx.dbFile,
      "--candidate",
      ids(good),
      "--baseline",
      ids(bad),
      "--junit",
      junit,
      "--markdown",
      md,
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^status\s+rule\s+task\s+observed\s+threshold\s+test/);
    expect(r.stdout).toMatch(/PASS\s+arith_mc\/acc\s+arith_mc\s+.*Δ \+/);
    expect(r.stdout).toMatch(/Holm/);
    expect(r.stdout).toMatch(/gate PASSED: 4 passed, 0 failed/);
    expect(r.stdout).not.toMatch(/^::/m);
    const xml = readFileSync(junit, "utf8");
    const names = parseXml(xml);
    expect(names.filter((n) => n === "testcase")).toHaveLength(4);
    expect(names).not.toContain("failure");
    expect(readFileSync(md, "utf8")).toMatch(/^### ✅ Gate passed\n\n4 passed · 0 failed/);
  });

  it("fails: exit 1, JUnit failures, GitHub annotations", async () => {
    const gate = file("gate.yaml", GATE);
    const junit = path.join(fx.dir, "out/fail.xml");
    const r = await cli([
      "gate",
      gate,
      "--store",
      fx.dbFile,
      "--candidate",
      ids(bad),
      "--baseline",
      ids(good),
      "--junit",
      junit,
      "--github",
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/gate FAILED: 1 passed, 3 failed/);
    const xml = readFileSync(junit, "utf8");
    const names = parseXml(xml);
    expect(names.filter((n) => n === "failure")).toHaveLength(3);
    expect(xml).toContain('failures="3"');
    expect(xml).toMatch(
      /<failure message="arith_mc\/acc: [^"]+, expected Δ ≥ -0\.02 \(95% CI low\)" type="gate">/,
    );
    const annotations = r.stdout.split("\n").filter((l) => l.startsWith("::"));
    expect(annotations).toHaveLength(3);
    expect(annotations[0]).toMatch(
      new RegExp(
        `^::error file=${gate.replace(/[/.]/g, "\\$&")},line=2,title=assay gate%3A arith_mc/acc \\(vs baseline%2C max_drop 0\\.02\\)::arith_mc/acc: `,
      ),
    );
    expect(annotations[2]).toMatch(
      /^::error file=.*,line=7,title=assay gate%3A arith_gen\/exact_match%2Cstrict-match \(min 0\.5\)::/,
    );
  });

  it("prints annotations and appends the job summary under GitHub Actions", async () => {
    const gate = file("gate_warn.yaml", "gates:\n  - metric: arith_mc/acc\n    range: [0.99, 1]\n");
    const summary = file("summary.md", "# earlier step\n");
    const r = await cli(["gate", gate, "--store", fx.dbFile, "--candidate", ids(bad)], {
      GITHUB_ACTIONS: "true",
      GITHUB_STEP_SUMMARY: summary,
    });
    expect(r.code).toBe(0); // a range rule warns unless fail: true
    expect(r.stdout).toMatch(
      /^::warning file=.*gate_warn\.yaml,line=2,title=.*::arith_mc\/acc = .* is outside the expected range \[0\.99, 1\]$/m,
    );
    expect(readFileSync(summary, "utf8")).toMatch(/^# earlier step\n### ✅ Gate passed/);
  });

  it("bad YAML: exit 2 and one clear line", async () => {
    const gate = file(
      "bad.yaml",
      "gates:\n  - metric: arith_mc/acc\n    min: 0.5\n  - metric: arith_mc/acc\n    max_dorp: 0.1\n",
    );
    const r = await cli(["gate", gate, "--store", fx.dbFile, "--candidate", ids(good)]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      `assay: error: ${gate}:5: gates[1].max_dorp: unknown key 'max_dorp' (expected name, metric, min, max, compare_to, max_drop, confidence, range, history_runs, history_method, history_k, history_model, fail). did you mean 'max_drop'?\n`,
    );
    const missing = await cli([
      "gate",
      path.join(fx.dir, "nope.yaml"),
      "--candidate",
      ids(good),
      "--store",
      fx.dbFile,
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^assay: error: .*nope\.yaml: cannot read gate file: ENOENT\n$/);
    const noRun = await cli([
      "gate",
      gate.replace("bad", "gate"),
      "--candidate",
      "zzz",
      "--store",
      fx.dbFile,
    ]);
    expect(noRun.code).toBe(2);
    expect(noRun.stderr).toMatch(/^assay: error: run: no run 'zzz'/);
  });
});

describe("assay run --gate", () => {
  it("evaluates the gate on the new runs and sets the exit code", async () => {
    const spec = fx.spec(path.join(fx.dir, "data/bad.txt"));
    const fail = file("run_gate.yaml", "gates:\n  - metric: arith_mc/acc\n    compare_to: baseline\n");
    const r = await cli([
      "run",
      fx.tasksDir,
      "--model",
      spec,
      "--store",
      fx.dbFile,
      "--gate",
      fail,
      "--baseline",
      ids(good),
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL\s+arith_mc\/acc/);
    expect(r.stdout).toMatch(/gate FAILED/);
    const pass = file("run_gate_ok.yaml", "gates:\n  - metric: arith_mc/acc\n    min: 0\n");
    const ok = await cli([
      "run",
      fx.tasksDir,
      "--model",
      spec,
      "--store",
      fx.dbFile,
      "--gate",
      pass,
      "--json",
    ]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).runs).toHaveLength(2); // stdout stays JSON; the gate table goes to stderr
    expect(ok.stderr).toMatch(/gate PASSED/);
  });

  it("rejects a bad gate file before running anything", async () => {
    const spec = fx.spec(fx.corpus("never_run.txt", 0.5));
    const bad = file("run_bad.yaml", "gates:\n  - metric: arith_mc/acc\n    minimum: 0.5\n");
    const r = await cli(["run", fx.tasksDir, "--model", spec, "--store", fx.dbFile, "--gate", bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /run_bad\.yaml:3: gates\[0\]\.minimum: unknown key 'minimum'.*did you mean 'min'/,
    );
    const runs = await cli(["runs", "--json", "--store", fx.dbFile]);
    expect((JSON.parse(runs.stdout) as RunRecord[]).some((x) => x.model === spec)).toBe(false);
  });
});

describe("helper commands", () => {
  it("trajectory lists a task's metric in time order with CIs", async () => {
    const r = await cli(["trajectory", "arith_mc", "--metric", "acc", "--store", fx.dbFile, "--json"]);
    expect(r.code).toBe(0);
    const t = JSON.parse(r.stdout);
    expect(t.points.map((p: { run: string }) => p.run)).toEqual([good[0].id, bad[0].id]);
    expect(t.points[0]).toMatchObject({
      value: good[0].aggregates["acc,none"].value,
      ciLow: good[0].aggregates["acc,none"].ciLow,
    });
    const text = await cli([
      "trajectory",
      "arith_mc",
      "--metric",
      "acc",
      "--model",
      "*good*",
      "--store",
      fx.dbFile,
    ]);
    expect(text.stdout).toMatch(/acc,none\s+95% CI\s+n/);
    expect(text.stdout).toMatch(/arith_mc acc,none: . {2}\(1 run;/);
    const badMetric = await cli(["trajectory", "arith_mc", "--metric", "acc_nrom", "--store", fx.dbFile]);
    expect(badMetric.code).toBe(2);
    expect(badMetric.stderr).toMatch(
      /--metric: no completed run of arith_mc has metric 'acc_nrom,none'.*did you mean/,
    );
  });

  it("failures shows the worst samples and groups them", async () => {
    const run = bad.find((r) => r.task === "arith_gen")!;
    const r = await cli(["failures", run.id, "--store", fx.dbFile, "--bottom", "3", "--group-by", "kind"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /exact_match,strict-match \(higher is better\)\n3 of 80 samples with the lowest scores/,
    );
    expect(r.stdout).toMatch(/by kind:\n {2}group\s+samples\s+failures\s+rate\s+mean score/);
    expect(r.stdout.match(/^doc \d+ {2}score 0\.0000 {2}kind=(even|odd)$/gm)).toHaveLength(3);
    expect(r.stdout).toMatch(/^ {2}output: "/m);
  });

  it("rank-runs and plan", async () => {
    const r = await cli([
      "rank-runs",
      ...good.map((x) => x.id),
      ...bad.map((x) => x.id),
      "--resample",
      "samples",
      "--rounds",
      "200",
      "--json",
      "--store",
      fx.dbFile,
    ]);
    expect(r.code).toBe(0);
    const rk = JSON.parse(r.stdout);
    expect(rk.models[0].model).toBe(good[0].model);
    expect(rk.models[0]).toMatchObject({ rank: 1, lower: 1, upper: 1 });
    const p = await cli(["plan", "--baseline", "0.52", "--delta", "0.02"]);
    expect(p.stdout).toMatch(/9,775 items per system/);
    const bad2 = await cli(["plan", "--baseline", "1.5", "--delta", "0.02"]);
    expect(bad2.code).toBe(2);
    expect(bad2.stderr).toBe("assay: error: --baseline: invalid value '1.5' (expected a number in (0, 1))\n");
  });
});
