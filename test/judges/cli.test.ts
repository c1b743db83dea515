/** `assay judge pairs` and `assay judge single` through the CLI: outputs, panels, and bad input. */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import {
  gradedAnswer,
  type JudgeServer,
  shownAnswers,
  startAnthropicJudge,
  startJudgeServer,
} from "./judge_server.js";

let dir: string;
const servers: JudgeServer[] = [];
const store = () => ["--store", path.join(dir, "assay.db")];
const write = (name: string, rows: unknown[] | string) => {
  const f = path.join(dir, name);
  writeFileSync(f, typeof rows === "string" ? rows : rows.map((r) => JSON.stringify(r)).join("\n"));
  return f;
};

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "assay-judge-cli-"));
});
afterAll(async () => {
  for (const s of servers) await s.close();
});

const PAIRS = [
  {
    question: "Name a prime.",
    answer_1: "7",
    answer_2: "Seven is a prime number.",
    model_1: "claude-v1",
    model_2: "llama-13b",
    human: ["model_2", "model_2", "tie"],
  },
  {
    question: "2+2?",
    answer_1: "It is four, since 2+2=4.",
    answer_2: "4",
    model_1: "claude-v1",
    model_2: "llama-13b",
    human: [1, 1, 2],
  },
  {
    question: "Capital of France?",
    answer_1: "Paris",
    answer_2: "Lyon",
    model_1: "claude-v1",
    model_2: "llama-13b",
    human: [1, 1, 1],
  },
];

describe("assay judge pairs", () => {
  it("an Anthropic judge in both orders, a second judge as a panel, diagnostics and human agreement", async () => {
    const longer = await startAnthropicJudge((c) => {
      const { a, b } = shownAnswers(c.user);
      return a.length > b.length ? "[[A]]" : a.length < b.length ? "[[B]]" : "[[C]]";
    }, "claude-3-5-haiku-latest");
    const first = await startJudgeServer(() => "The first one. [[A]]", "first-judge");
    servers.push(longer, first);
    const file = write("pairs.jsonl", PAIRS);
    const r = await runCli([
      "judge",
      "pairs",
      file,
      "--judge",
      longer.spec,
      "--judge",
      first.spec,
      "--json",
      ...store(),
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    const [claude, a] = s.judges;
    // Prefers the longer answer: model_2, model_1, then Paris (5) vs Lyon (4): model_1.
    expect(claude.winRates).toEqual([
      expect.objectContaining({ model: "claude-v1", win: 2, loss: 1, tie: 0 }),
      expect.objectContaining({ model: "llama-13b", win: 1, loss: 2, tie: 0 }),
    ]);
    expect(claude.diagnostics.position).toMatchObject({ consistency: 1, firstPositionRate: 0.5 });
    expect(claude.diagnostics.selfPreference).toMatchObject({
      flag: true,
      judgeFamily: "claude",
      sameFamily: ["claude-v1"],
    });
    // Humans: majorities model_2, model_1, model_1; the judge agrees on all three.
    expect(claude.diagnostics.human.vsMajority.withTies).toEqual({ agree: 3, total: 3, rate: 1 });
    expect(claude.diagnostics.human.vsEachHuman.withTies).toEqual({ agree: 7, total: 9, rate: 7 / 9 });
    expect(a.diagnostics.position).toMatchObject({ consistency: 0, biasedFirst: 3, firstPositionRate: 1 });
    expect(a.winRates.map((w: any) => w.tie)).toEqual([3, 3]);
    // Panel of two: they disagree on every pair (longer vs tie), majority cannot be formed.
    expect(s.panel).toMatchObject({ itemsDisagreeing: 3, itemsCompared: 3, verdicts: ["tie", "tie", "tie"] });
  });

  it("prints the diagnostics as text", async () => {
    const judge = await startJudgeServer(() => "[[B>>A]]", "arena-judge");
    servers.push(judge);
    const file = write("pairs2.jsonl", PAIRS);
    const r = await runCli([
      "judge",
      "pairs",
      file,
      "--prompt",
      "assay-pair-arena-v1",
      "--tie-rule",
      "arena-hard",
      "--judge",
      judge.spec,
      ...store(),
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("tie rule arena-hard, 3 pairs");
    // Always second, strongly: each order is a weight-3 battle for whoever is shown second.
    expect(r.stdout).toMatch(/claude-v1\s+9\s+9\s+0\s+0\.5/);
    expect(r.stdout).toContain(
      "position: consistency 0.0% (0/3 pairs), biased to first 0, to second 3; first-position rate 0.0% of 6",
    );
  });

  it("bad input names file, line and field", async () => {
    const judge = await startJudgeServer(() => "[[A]]", "j");
    servers.push(judge);
    let f = write("bad1.jsonl", [PAIRS[0], { question: "q", answer_1: "a" }]);
    let r = await runCli(["judge", "pairs", f, "--judge", judge.spec, ...store()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`assay: error: ${f}:2: answer_2: missing field (expected a string)\n`);
    f = write("bad2.jsonl", [{ ...PAIRS[0], human: ["model_3"] }]);
    r = await runCli(["judge", "pairs", f, "--judge", judge.spec, ...store()]);
    expect(r.stderr).toMatch(
      /bad2\.jsonl:1: human: invalid human label "model_3" \(expected labels "model_1", "model_2", "tie"/,
    );
    f = write("bad3.jsonl", "{not json\n");
    r = await runCli(["judge", "pairs", f, "--judge", judge.spec, ...store()]);
    expect(r.stderr).toMatch(/bad3\.jsonl:1: malformed JSON/);
    f = write("ok.jsonl", PAIRS);
    r = await runCli(["judge", "pairs", f, "--judge", judge.spec, "--prompt", "pair-v9", ...store()]);
    expect(r.stderr).toMatch(/--prompt: unknown judge prompt 'pair-v9'/);
    r = await runCli(["judge", "pairs", f, "--judge", judge.spec, "--orders", "3", ...store()]);
    expect(r.stderr).toMatch(/--orders: invalid value '3' \(expected 1 or 2\)/);
    r = await runCli([
      "judge",
      "pairs",
      f,
      "--judge",
      "openai:x@http://127.0.0.1:1/v1",
      "--max-retries",
      "0",
      ...store(),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^assay: error: model request failed: openai: cannot reach http:\/\/127\.0\.0\.1:1\/v1\/chat\/completions/,
    );
  });
});

describe("assay judge single", () => {
  const ANSWERS = [
    { id: "a", question: "Explain gravity.", answer: "Mass attracts mass.", human: 3 },
    {
      id: "b",
      question: "Explain tides.",
      answer: "The moon's gravity pulls the oceans, making two bulges.",
      human: 5,
    },
    { id: "c", question: "Explain rain.", answer: "Water.", human: 1 },
    { id: "d", question: "Explain wind.", answer: "Air moves from high to low pressure areas.", human: 4 },
  ];

  it("a rubric graded per criterion by a panel of two judges, with agreement against human scores", async () => {
    // Judge 1 scores by length, judge 2 gives everything the middle of the scale.
    const byLength = await startJudgeServer((c) => {
      const n = gradedAnswer(c.user).length;
      const [, max] = /integer score from (\d+) to (\d+)/.exec(c.user)!.slice(1).map(Number);
      return `Rating: [[${Math.min(max, 1 + Math.floor(n / 12))}]]`;
    }, "len-judge");
    const middle = await startJudgeServer((c) => {
      const [min, max] = /integer score from (\d+) to (\d+)/.exec(c.user)!.slice(1).map(Number);
      return `Rating: [[${Math.round((min + max) / 2)}]]`;
    }, "mid-judge");
    servers.push(byLength, middle);
    const rubric = write(
      "rubric.yaml",
      [
        "name: explain",
        "criteria:",
        "  - name: correctness",
        "    description: The explanation is right.",
        "    scale: {min: 1, max: 5}",
        "    weight: 2",
        "  - name: completeness",
        "    description: Nothing important is missing.",
        "    scale: {min: 1, max: 3}",
      ].join("\n"),
    );
    const file = write("answers.jsonl", ANSWERS);
    const r = await runCli([
      "judge",
      "single",
      file,
      "--rubric",
      rubric,
      "--judge",
      byLength.spec,
      "--judge",
      middle.spec,
      "--json",
      ...store(),
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    const [len, mid] = s.judges;
    // Lengths 19, 55, 6, 42 → correctness 2, 5, 1, 4 and completeness 2, 3, 1, 3.
    const overall = (c: number, k: number) => (2 * ((c - 1) / 4) + (k - 1) / 2) / 3;
    const expected = [overall(2, 2), overall(5, 3), overall(1, 1), overall(4, 3)];
    expect(len.mean).toBeCloseTo(expected.reduce((a, b) => a + b) / 4, 12);
    expect(len.human).toEqual({ n: 4, spearman: 1, pvalue: 0 });
    expect(mid.mean).toBeCloseTo(overall(3, 2), 12);
    expect(mid.human.spearman).toBeNull(); // constant scores
    expect(s.panel).toMatchObject({ itemsDisagreeing: 4, itemsCompared: 4 });
  });

  it("rubric, reference and option errors", async () => {
    const judge = await startJudgeServer(() => "Rating: [[3]]", "j2");
    servers.push(judge);
    const file = write("answers2.jsonl", ANSWERS);
    const rubric = write(
      "bad_rubric.yaml",
      [
        "name: r",
        "criteria:",
        "  - name: a",
        "    description: x",
        "    scale: {min: 1, max: 5}",
        "  - name: b",
        "    description: y",
        "    scale: {min: 4, max: 2}",
      ].join("\n"),
    );
    let r = await runCli(["judge", "single", file, "--rubric", rubric, "--judge", judge.spec, ...store()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `assay: error: ${rubric}:8: criteria[1].scale: invalid scale {"min":4,"max":2} (expected {min, max} integers with min < max)\n`,
    );
    r = await runCli([
      "judge",
      "single",
      file,
      "--prompt",
      "assay-single-ref-v1",
      "--judge",
      judge.spec,
      ...store(),
    ]);
    expect(r.stderr).toBe(
      `assay: error: ${file}:1: reference: missing field (expected a value for {reference}, which judge prompt 'assay-single-ref-v1' uses (it is reference-guided))\n`,
    );
    r = await runCli(["judge", "single", file, "--method", "vibes", "--judge", judge.spec, ...store()]);
    expect(r.stderr).toMatch(/--method: invalid value 'vibes'/);
    r = await runCli([
      "judge",
      "single",
      file,
      "--method",
      "logprobs",
      "--judge",
      judge.spec.replace("openai:", "anthropic:").replace("/v1", ""),
      ...store(),
    ]);
    expect(r.stderr).toMatch(/method: judge anthropic:j2@.* returns no log-probabilities/);
    const out = path.join(dir, "single-out");
    r = await runCli(["judge", "single", file, "--judge", judge.spec, "--output-dir", out, ...store()]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/openai:j2@\S+\s+3\.000\s+4\s+0 \(0\.0%\)/);
    const recs = readFileSync(path.join(out, "judgments.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(recs.map((x) => [x.id, x.score])).toEqual([
      ["a", 3],
      ["b", 3],
      ["c", 3],
      ["d", 3],
    ]);
  });
});
