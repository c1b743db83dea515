import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderForScoring } from "../../src/judges/client.js";
import { panelScores, panelVerdicts } from "../../src/judges/panel.js";
import {
  type Criterion,
  messagesFor,
  prometheusVars,
  type Rubric,
  RubricJudge,
  SingleAnswerJudge,
  validateRubric,
} from "../../src/judges/single.js";
import type { NgramProvider } from "../../src/models/ngram/provider.js";
import { createNgramProvider } from "../../src/models/ngram/spec.js";
import { type OpenAIServer, startOpenAIServer } from "../../src/server/openai_server.js";
import { UserError } from "../../src/util/errors.js";
import { testJudge } from "./helpers.js";
import { type JudgeServer, startJudgeServer } from "./judge_server.js";

const VARS = { question: "What is 2+2?", answer: "4" };

const servers: Array<{ close(): Promise<void> }> = [];
afterAll(async () => {
  for (const s of servers) await s.close();
});
async function judgeServer(script: Parameters<typeof startJudgeServer>[0]): Promise<JudgeServer> {
  const s = await startJudgeServer(script);
  servers.push(s);
  return s;
}

describe("single-answer grading", () => {
  it("parses the rating; a judge that never answers in format is a recorded failure", async () => {
    const good = await judgeServer(() => "Correct and concise. Rating: [[9]]");
    let t = await testJudge(good.spec);
    const j = await new SingleAnswerJudge(t.client, "assay-single-v1").grade(VARS);
    expect(j).toMatchObject({ ok: true, score: 9, method: "generate", parseFailures: 0 });
    expect(j.prompt).toContain("[Question]\nWhat is 2+2?");
    expect(good.calls[0].system).toMatch(/impartial evaluator/);
    await t.close();

    const bad = await judgeServer(() => "This is a fine answer, I'd give it a high mark.");
    t = await testJudge(bad.spec);
    const f = await new SingleAnswerJudge(t.client, "assay-single-v1").grade(VARS);
    expect(f.ok).toBe(false);
    expect(f.score).toBeNull();
    expect(f.attempts.length).toBe(3);
    expect(f.parseFailures).toBe(3);
    expect(f.error).toBe('unparseable after 3 attempts: no "[[rating]]" in the judgment');
    expect(t.client.stats).toMatchObject({ calls: 3, parseFailures: 3 });
    await t.close();
  });

  it("a missing template value (e.g. no reference for a reference-guided prompt) is a UserError", async () => {
    const s = await judgeServer(() => "[[5]]");
    const t = await testJudge(s.spec);
    const judge = new SingleAnswerJudge(t.client, "assay-single-ref-v1");
    await expect(judge.grade(VARS)).rejects.toThrow(/judge prompt 'assay-single-ref-v1' needs 'reference'/);
    expect(s.calls.length).toBe(0);
    await t.close();
  });

  it("n samples with distinct sample indices, aggregated by mean or majority; failed samples are counted", async () => {
    // Scores by seed (the openai provider sends seed + sampleIndex): samples 0..3 start at indices 0, 3, 6, 9.
    const bySeed: Record<number, string> = {
      1234: "[[7]]",
      1237: "[[7]]",
      1240: "no idea",
      1241: "still no idea",
      1242: "fine, [[5]]",
      1243: "[[9]]",
    };
    const s = await judgeServer((c) => bySeed[c.params.seed ?? -1] ?? "???");
    const t = await testJudge(s.spec);
    const mean = await new SingleAnswerJudge(t.client, "assay-single-v1", {
      method: "samples",
      samples: 4,
    }).grade(VARS);
    expect(mean).toMatchObject({
      ok: true,
      method: "samples",
      score: 7,
      samples: [7, 7, 5, 9],
      parseFailures: 2,
    });
    expect(mean.attempts.length).toBe(6);
    expect(s.calls.every((c) => c.params.temperature === 1)).toBe(true);
    const maj = await new SingleAnswerJudge(t.client, "assay-single-v1", {
      method: "samples",
      samples: 4,
      aggregate: "majority",
    }).grade(VARS);
    expect(maj.score).toBe(7);
    expect(maj.majorityTie).toBeUndefined();
    // The second judge was served entirely from the cache.
    expect(s.calls.length).toBe(6);
    await t.close();
  });

  it("Prometheus-style absolute grading with a 5-level rubric", async () => {
    const s = await judgeServer(() => "Feedback: The response is accurate but terse. [RESULT] 4");
    const t = await testJudge(s.spec);
    const c: Criterion = {
      name: "Correctness",
      description: "Is the answer factually right?",
      scale: { min: 1, max: 5 },
      levels: {
        "1": "wrong",
        "2": "mostly wrong",
        "3": "partly right",
        "4": "right, minor gaps",
        "5": "fully right",
      },
    };
    const j = await new SingleAnswerJudge(t.client, "assay-prometheus-v1").grade({
      ...VARS,
      reference: "2+2 = 4.",
      ...prometheusVars(c),
    });
    expect(j).toMatchObject({ ok: true, score: 4 });
    expect(s.calls[0].user).toContain("Score 4: right, minor gaps");
    expect(s.calls[0].user).toContain("###Reference Answer (Score 5):\n2+2 = 4.");
    expect(() => prometheusVars({ ...c, levels: { "1": "x" } })).toThrow(/no description for score 2/);
    expect(() => prometheusVars({ ...c, scale: { min: 1, max: 10 } })).toThrow(UserError);
    await t.close();
  });
});

describe("G-Eval probability-weighted scores from log-probabilities", () => {
  let dir: string;
  let ngram: NgramProvider;
  let server: OpenAIServer;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "assay-geval-"));
    const file = path.join(dir, "judge.txt");
    // A judge trained to mostly say 7, sometimes 8 or 3.
    const text = [
      "Rating: [[7]]",
      "Rating: [[7]]",
      "Rating: [[7]]",
      "Rating: [[8]]",
      "Rating: [[3]]",
      "The answer is good. Rating: [[7]]",
    ].join("\n");
    writeFileSync(file, `${text}\n`.repeat(20));
    ngram = await createNgramProvider(`ngram:${file}?order=3`, { cacheDir: path.join(dir, "cache") });
    server = await startOpenAIServer(ngram, { modelName: "ngram-judge" });
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("Σ p(s)·s over the scale equals the hand computation from the model's log-likelihoods", async () => {
    const t = await testJudge(ngram.spec, {}, undefined, ngram);
    const judge = new SingleAnswerJudge(t.client, "assay-single-v1", { method: "auto" });
    expect(judge.method).toBe("logprobs");
    const j = await judge.grade(VARS);
    const context = renderForScoring(messagesFor(judge.prompt, VARS), "Rating: [[");
    const lps: number[] = [];
    for (let s = 1; s <= 10; s++) {
      const r = await ngram.serve(
        { kind: "loglikelihood", context, continuation: `${s}]]` },
        new AbortController().signal,
      );
      lps.push(r.response.kind === "loglikelihood" ? r.response.logprob : Number.NaN);
    }
    const z = lps.reduce((a, lp) => a + Math.exp(lp), 0);
    const p = lps.map((lp) => Math.exp(lp) / z);
    const expected = p.reduce((a, pi, i) => a + pi * (i + 1), 0);
    expect(j.ok).toBe(true);
    expect(j.score).toBeCloseTo(expected, 12);
    expect(Object.values(j.distribution!).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    // The mode of the trained judge is 7.
    const best = Object.entries(j.distribution!).sort((a, b) => b[1] - a[1])[0][0];
    expect(best).toBe("7");
    await t.close();

    // The same through the OpenAI-compatible server (completions echo + logprobs).
    const h = await testJudge(`openai:ngram-judge@${server.url}`);
    const viaHttp = await new SingleAnswerJudge(h.client, "assay-single-v1", { method: "logprobs" }).grade(
      VARS,
    );
    expect(viaHttp.score).toBeCloseTo(expected, 9);
    await h.close();
  });

  it("a judge without log-probabilities cannot use them; auto falls back to samples", async () => {
    const s = await judgeServer(() => "[[6]]");
    const t = await testJudge(s.spec.replace("openai:", "anthropic:").replace("/v1", ""));
    expect(() => new SingleAnswerJudge(t.client, "assay-single-v1", { method: "logprobs" })).toThrow(
      /returns no log-probabilities/,
    );
    expect(new SingleAnswerJudge(t.client, "assay-single-v1", { method: "auto", samples: 3 }).method).toBe(
      "samples",
    );
    expect(new SingleAnswerJudge(t.client, "assay-single-v1", { method: "auto", samples: 1 }).method).toBe(
      "generate",
    );
    await t.close();
  });
});

describe("rubrics of decomposed criteria, each on its own scale", () => {
  const rubric: Rubric = validateRubric({
    name: "helpful",
    criteria: [
      { name: "accuracy", description: "Facts are right.", scale: { min: 1, max: 5 }, weight: 2 },
      { name: "clarity", description: "Easy to follow.", scale: { min: 0, max: 3 } },
    ],
  });

  it("per criterion: one judgment each with its own scale; overall is the weighted normalised mean", async () => {
    const s = await judgeServer((c) =>
      c.user.includes("accuracy (score 1-5)") ? "Rating: [[4]]" : "Rating: [[2]]",
    );
    const t = await testJudge(s.spec);
    const j = await new RubricJudge(t.client, rubric).grade(VARS);
    expect(j.ok).toBe(true);
    expect(j.criteria).toEqual({ accuracy: 4, clarity: 2 });
    // (2·(4−1)/4 + 1·(2−0)/3) / 3
    expect(j.overall).toBeCloseTo((2 * 0.75 + 2 / 3) / 3, 15);
    expect(s.calls.find((c) => c.user.includes("clarity"))!.user).toContain(
      'integer score from 0 to 3 in exactly this format: "Rating: [[0]]"',
    );
    await t.close();
  });

  it("an off-scale criterion is retried and then fails the rubric, with the other criterion kept", async () => {
    const s = await judgeServer((c) =>
      c.user.includes("accuracy (score 1-5)") ? "Rating: [[4]]" : "Rating: [[5]]",
    );
    const t = await testJudge(s.spec);
    const j = await new RubricJudge(t.client, rubric).grade(VARS);
    expect(j.ok).toBe(false);
    expect(j.overall).toBeNull();
    expect(j.criteria).toEqual({ accuracy: 4, clarity: null });
    expect(j.error).toBe("criteria not graded: clarity");
    expect(j.parseFailures).toBe(3);
    await t.close();
  });

  it("joint: one JSON judgment for all criteria", async () => {
    const s = await judgeServer(
      () =>
        '```json\n{"accuracy": {"reason": "right", "score": 5}, "clarity": {"reason": "ok", "score": 3}}\n```',
    );
    const t = await testJudge(s.spec);
    const j = await new RubricJudge(t.client, rubric, { mode: "joint" }).grade(VARS);
    expect(j).toMatchObject({ ok: true, overall: 1, criteria: { accuracy: 5, clarity: 3 } });
    expect(s.calls[0].user).toContain("accuracy (score 1-5): Facts are right.");
    expect(s.calls[0].user).toContain(
      '{"accuracy":{"reason":"...","score":1},"clarity":{"reason":"...","score":0}}',
    );
    await t.close();
    const s2 = await judgeServer(() => '{"accuracy": 5}');
    const t2 = await testJudge(s2.spec);
    const f = await new RubricJudge(t2.client, rubric, { mode: "joint" }).grade(VARS);
    expect(f).toMatchObject({ ok: false, overall: null, criteria: { accuracy: null, clarity: null } });
    expect(f.error).toMatch(/no score for criterion 'clarity'/);
    await t2.close();
  });

  it("validates rubrics with field names", () => {
    expect(() => validateRubric({ name: "r", criteria: [] })).toThrow(/no criteria/);
    let e: UserError | undefined;
    try {
      validateRubric({ name: "r", criteria: [{ name: "a", description: "x", scale: { min: 3, max: 1 } }] });
    } catch (x) {
      e = x as UserError;
    }
    expect(e?.format()).toMatch(/criteria\[0\]\.scale: invalid scale/);
  });
});

describe("judge panels (hand-computed)", () => {
  it("mean scores, spread and Krippendorff's alpha", () => {
    const p = panelScores(
      ["j1", "j2", "j3"],
      [
        [1, 5, null, 3],
        [2, 5, 4, null],
        [3, 5, null, null],
      ],
    );
    expect(p.items.map((i) => [i.score, i.spread])).toEqual([
      [2, 2],
      [5, 0],
      [4, 0],
      [3, 0],
    ]);
    expect(p.disagreement).toMatchObject({ itemsDisagreeing: 1, itemsCompared: 2, meanSpread: 1 });
    // Units (1,2,3) and (5,5,5): D_o = 1, D_e = 186/30, alpha = 1 − 1/6.2 = 26/31.
    expect(p.disagreement.krippendorffAlpha).toBeCloseTo(26 / 31, 14);
    expect(
      panelScores(
        ["a", "b"],
        [
          [3, 3, 4],
          [3, 4, 4],
        ],
        "majority",
      ).items.map((i) => [i.score, i.majorityTie]),
    ).toEqual([
      [3, undefined],
      [3.5, true],
      [4, undefined],
    ]);
  });

  it("majority verdicts and Fleiss' kappa", () => {
    const p = panelVerdicts(
      ["j1", "j2", "j3"],
      [
        ["model_1", "model_1", "tie", null],
        ["model_1", "model_2", "tie", "model_2"],
        ["model_2", "model_2", "tie", null],
      ],
    );
    expect(p.items.map((i) => [i.verdict, i.unanimous])).toEqual([
      ["model_1", false],
      ["model_2", false],
      ["tie", true],
      ["model_2", true],
    ]);
    expect(p.disagreement).toMatchObject({ itemsDisagreeing: 2, itemsCompared: 3 });
    // P̄ = (1/3 + 1/3 + 1)/3 = 5/9, P_e = 1/3 → κ = 1/3.
    expect(p.disagreement.fleissKappa).toBeCloseTo(1 / 3, 14);
    expect(panelVerdicts(["a", "b"], [["model_1"], ["model_2"]]).items[0]).toMatchObject({
      verdict: "tie",
      noMajority: true,
    });
    expect(() => panelVerdicts(["a"], [["tie"]])).toThrow(/at least two judges/);
  });
});
