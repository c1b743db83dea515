import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  lengthStats,
  modelFamily,
  pairwiseDiagnostics,
  positionStats,
  selfPreference,
} from "../../src/judges/bias.js";
import { renderForScoring } from "../../src/judges/client.js";
import {
  combine,
  type OrderJudgment,
  orderVars,
  type PairItem,
  type PairJudgment,
  PairwiseJudge,
  toBattles,
  winRates,
} from "../../src/judges/pairwise.js";
import type { Position } from "../../src/judges/parse.js";
import { messagesFor } from "../../src/judges/single.js";
import { createNgramProvider } from "../../src/models/ngram/spec.js";
import { UserError } from "../../src/util/errors.js";
import { testJudge } from "./helpers.js";
import {
  type JudgeServer,
  retryLater,
  shownAnswers,
  startAnthropicJudge,
  startJudgeServer,
} from "./judge_server.js";

const item = (id: string, l1: number, l2: number, question = `Question ${id}?`): PairItem => ({
  id,
  model1: "alpha",
  model2: "beta",
  shared: { question },
  answer1: { "": "a".repeat(l1) },
  answer2: { "": "b".repeat(l2) },
});

const ord = (order: 1 | 2, position: Position | null, strong = false): OrderJudgment =>
  position === null
    ? {
        order,
        ok: false,
        prompt: "",
        attempts: [{ text: "??", error: "no verdict", temperature: 0, cached: false }],
        parseFailures: 1,
        error: "no verdict",
      }
    : {
        order,
        ok: true,
        position,
        strong,
        label: position,
        winner: position === "tie" ? "tie" : (position === "A") === (order === 1) ? "model_1" : "model_2",
        prompt: "",
        attempts: [{ text: `[[${position}]]`, temperature: 0, cached: false }],
        parseFailures: 0,
      };

// Five pairs, hand-built: consistent; biased to first; biased to second; tie vs win; one failed order.
const HAND: Array<[PairItem, OrderJudgment[]]> = [
  [item("p1", 100, 50), [ord(1, "A", true), ord(2, "B")]],
  [item("p2", 50, 100), [ord(1, "A"), ord(2, "A")]],
  [item("p3", 80, 80), [ord(1, "B"), ord(2, "B")]],
  [item("p4", 30, 60), [ord(1, "tie"), ord(2, "A")]],
  [item("p5", 70, 20), [ord(1, "A"), ord(2, null)]],
];

describe("tie rules (hand-computed)", () => {
  it("MT-Bench: disagreeing orders make a tie; a failed order fails the pair", () => {
    const js = HAND.map(([it, os]) => combine(it, os, "mtbench"));
    expect(js.map((j) => j.verdict)).toEqual(["model_1", "tie", "tie", "tie", null]);
    expect(js.map((j) => j.consistent)).toEqual([true, false, false, false, null]);
    expect(js.map((j) => j.ok)).toEqual([true, true, true, true, false]);
    // FastChat show_result: failed pairs left out; alpha 1 win 3 ties, beta 1 loss 3 ties.
    expect(winRates(js)).toEqual([
      { model: "alpha", win: 1, loss: 0, tie: 3, winRate: 0.25, lossRate: 0, winRateAdjusted: 0.625 },
      { model: "beta", win: 0, loss: 1, tie: 3, winRate: 0, lossRate: 0.25, winRateAdjusted: 0.375 },
    ]);
  });

  it("Arena-Hard: each parsed order is a battle; strong verdicts weigh 3", () => {
    const js = HAND.map(([it, os]) => combine(it, os, "arena-hard", 3));
    expect(js.map((j) => j.battles)).toEqual([
      [
        { winner: "model_1", weight: 3 },
        { winner: "model_1", weight: 1 },
      ],
      [
        { winner: "model_1", weight: 1 },
        { winner: "model_2", weight: 1 },
      ],
      [
        { winner: "model_2", weight: 1 },
        { winner: "model_1", weight: 1 },
      ],
      [
        { winner: "tie", weight: 1 },
        { winner: "model_2", weight: 1 },
      ],
      [{ winner: "model_1", weight: 1 }],
    ]);
    expect(js.map((j) => j.verdict)).toEqual(["model_1", "tie", "tie", "model_2", "model_1"]);
    const [alpha, beta] = winRates(js);
    expect(alpha).toMatchObject({ model: "alpha", win: 7, loss: 3, tie: 1 });
    expect(beta).toMatchObject({ model: "beta", win: 3, loss: 7, tie: 1 });
    expect(alpha.winRateAdjusted).toBeCloseTo(7.5 / 11, 15);
    // Battles for the ranking commands repeat a weight-3 battle three times.
    expect(toBattles(js.slice(0, 1))).toEqual(
      Array(4).fill({ model_a: "alpha", model_b: "beta", winner: "model_a" }),
    );
  });

  it("probability: P(model_1) averages P(A) of order 1 and P(B) of order 2", () => {
    const o1: OrderJudgment = {
      order: 1,
      ok: true,
      probabilities: { A: 0.6, B: 0.3, tie: 0.1 },
      prompt: "",
      attempts: [],
      parseFailures: 0,
    };
    const o2: OrderJudgment = {
      order: 2,
      ok: true,
      probabilities: { A: 0.2, B: 0.7, tie: 0.1 },
      prompt: "",
      attempts: [],
      parseFailures: 0,
    };
    const j = combine(item("q", 1, 1), [o1, o2], "probability");
    expect(j.probabilities!.model_1).toBeCloseTo(0.65, 15);
    expect(j.probabilities!.model_2).toBeCloseTo(0.25, 15);
    expect(j.probabilities!.tie).toBeCloseTo(0.1, 15);
    expect(j.verdict).toBe("model_1");
    expect(j.consistent).toBe(true);
  });
});

describe("bias diagnostics (hand-computed)", () => {
  const js = HAND.map(([it, os]) => combine(it, os, "mtbench"));
  it("position consistency and first-position preference", () => {
    expect(positionStats(js)).toEqual({
      pairs: 4,
      consistent: 1,
      consistency: 0.25,
      biasedFirst: 1,
      biasedSecond: 1,
      verdicts: 9,
      decisive: 8,
      firstChosen: 5,
      firstPositionRate: 0.625,
      tieRate: 1 / 9,
    });
  });

  it("length preference: Spearman of verdict vs length difference, and the longer-answer rate", () => {
    // x = first − second, y = +1/0/−1 per parsed order: x = [50,−50,−50,50,0,0,−30,30,50],
    // y = [1,−1,1,1,−1,−1,0,1,1]; scipy.stats.spearmanr → 0.5448623679425842, p 0.12927248467586258.
    const l = lengthStats(js);
    expect(l.n).toBe(9);
    expect(l.spearman).toBeCloseTo(0.5448623679425842, 12);
    expect(l.pvalue).toBeCloseTo(0.12927248467586258, 8);
    expect(l.decisiveWithLengthDifference).toBe(6);
    expect(l.longerChosen).toBe(5);
    expect(l.longerWinRate).toBeCloseTo(5 / 6, 15);
  });

  it("parse accounting counts failed orders and every unparseable output", () => {
    expect(pairwiseDiagnostics(js, "openai:judge").parse).toEqual({
      judgments: 10,
      failed: 1,
      failureRate: 0.1,
      outputs: 10,
      unparseableOutputs: 1,
    });
  });

  it("self-preference flags a judge grading its own model family", () => {
    expect(modelFamily("openai:gpt-4o-mini@http://127.0.0.1:9/v1")).toBe("openai-gpt");
    expect(modelFamily("gpt-3.5-turbo")).toBe("openai-gpt");
    expect(modelFamily("anthropic:claude-3-5-haiku-latest")).toBe("claude");
    expect(modelFamily("claude-v1")).toBe("claude");
    expect(modelFamily("vicuna-13b-v1.3")).toBe("llama");
    expect(modelFamily("gpt4all-13b-snoozy")).toBe("llama");
    expect(modelFamily("h2ogpt-oasst-open-llama-13b")).toBe("llama");
    expect(modelFamily("ngram:corpus.txt")).toBeNull();
    expect(
      selfPreference("openai:gpt-4@http://h/v1", ["gpt-3.5-turbo", "claude-v1", "vicuna-13b-v1.3"]),
    ).toEqual({
      judge: "openai:gpt-4@http://h/v1",
      judgeFamily: "openai-gpt",
      sameFamily: ["gpt-3.5-turbo"],
      flag: true,
    });
    expect(selfPreference("anthropic:claude-3-opus", ["gpt-4", "llama-13b"]).flag).toBe(false);
    // Same model name counts even when the family is unknown.
    expect(selfPreference("openai:my-model@http://h/v1", ["my-model", "other"]).sameFamily).toEqual([
      "my-model",
    ]);
  });
});

// Planted preferences served by a loopback judge.
const LENGTHS: Array<[number, number]> = [
  [10, 40],
  [50, 20],
  [30, 30],
  [5, 25],
  [60, 15],
  [12, 13],
];
const ITEMS = LENGTHS.map(([a, b], i) => item(`i${i}`, a, b));
const alwaysA = () => "Both are fine, but the first is better. [[A]]";
const longer = (c: { user: string }) => {
  const { a, b } = shownAnswers(c.user);
  return a.length > b.length
    ? "A is longer, so better. [[A]]"
    : a.length < b.length
      ? "B is longer. [[B]]"
      : "Same. [[C]]";
};

describe("pairwise judging against a loopback judge with planted preferences", () => {
  const servers: JudgeServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.close();
  });
  async function run(script: Parameters<typeof startJudgeServer>[0], items = ITEMS, opts = {}) {
    const server = await startJudgeServer(script);
    servers.push(server);
    const t = await testJudge(server.spec);
    const judge = new PairwiseJudge(t.client, "assay-pair-v1", opts);
    const judgments = await Promise.all(items.map((it) => judge.judge(it)));
    await t.close();
    return { judgments, server, t, diagnostics: pairwiseDiagnostics(judgments, server.spec) };
  }

  it("always-A: consistency 0, first-position rate 1, every MT-Bench verdict a tie", async () => {
    const { judgments, diagnostics: d, server } = await run(alwaysA);
    expect(server.calls.length).toBe(12); // both orders of six pairs
    // Order 2 shows model_2 first: the answers really are swapped in the prompt.
    const shown = server.calls.map((c) => shownAnswers(c.user).a[0]);
    expect(shown.filter((x) => x === "a").length).toBe(6);
    expect(judgments.map((j) => j.verdict)).toEqual(Array(6).fill("tie"));
    expect(d.position).toMatchObject({
      pairs: 6,
      consistent: 0,
      consistency: 0,
      biasedFirst: 6,
      biasedSecond: 0,
      firstPositionRate: 1,
    });
    // The verdict is constant: no correlation with length can be measured; half the choices are the longer answer.
    expect(d.length.spearman).toBeNull();
    expect(d.length.longerWinRate).toBe(0.5);
    expect(d.parse.failed).toBe(0);
  });

  it("prefer-longer: consistent, unbiased by position, length correlation detected", async () => {
    const { judgments, diagnostics: d } = await run(longer);
    expect(judgments.map((j) => j.verdict)).toEqual([
      "model_2",
      "model_1",
      "tie",
      "model_2",
      "model_1",
      "model_2",
    ]);
    expect(d.position).toMatchObject({ consistency: 1, biasedFirst: 0, firstPositionRate: 0.5 });
    expect(d.length.longerWinRate).toBe(1);
    // scipy.stats.spearmanr of x = [−30,30,30,−30,0,0,−20,20,45,−45,−1,1], y = sign(x) → 0.9304431103648637.
    expect(d.length.spearman).toBeCloseTo(0.9304431103648637, 12);
    expect(d.length.pvalue).toBeCloseTo(1.1400580605646776e-5, 10);
  });

  it("unparseable judgments are retried as new samples, then counted as failed, never dropped", async () => {
    const items = ITEMS.map((it, i) =>
      i % 3 === 0 ? { ...it, shared: { question: `[garbage] ${it.shared.question}` } } : it,
    );
    const {
      judgments,
      diagnostics: d,
      server,
    } = await run(
      (c) => (c.user.includes("[garbage]") ? "Hard to say; both have merits." : longer(c)),
      items,
    );
    expect(judgments.length).toBe(6);
    expect(judgments.map((j) => j.verdict)).toEqual([null, "model_1", "tie", null, "model_1", "model_2"]);
    expect(judgments[0].error).toMatch(
      /order 1: unparseable after 3 attempts: no "\[\[A\]\]", "\[\[B\]\]" or "\[\[C\]\]" verdict/,
    );
    // 2 garbage pairs × 2 orders fail, each after 1 + 2 attempts.
    expect(d.parse).toEqual({
      judgments: 12,
      failed: 4,
      failureRate: 4 / 12,
      outputs: 8 + 12,
      unparseableOutputs: 12,
    });
    expect(server.calls.length).toBe(20);
    // Retries are new sampled requests: higher temperature and a shifted seed per attempt.
    const garbage = server.calls.filter(
      (c) => c.user.includes("[garbage] Question i0?") && shownAnswers(c.user).a[0] === "a",
    );
    expect(garbage.map((c) => [c.params.temperature, c.params.seed])).toEqual([
      [0, 1234],
      [0.7, 1235],
      [0.7, 1236],
    ]);
  });

  it("a judge that recovers on retry: counted, parsed, and cached per attempt", async () => {
    const server = await startJudgeServer((c) =>
      c.params.temperature === 0 ? "I think [[A]] or rather [[B]]" : longer(c),
    );
    servers.push(server);
    const t = await testJudge(server.spec);
    const judge = new PairwiseJudge(t.client, "assay-pair-v1");
    const j = await judge.judge(ITEMS[0]);
    expect(j.verdict).toBe("model_2");
    expect(j.orders.map((o) => [o.ok, o.parseFailures, o.attempts.length])).toEqual([
      [true, 1, 2],
      [true, 1, 2],
    ]);
    expect(j.orders[0].attempts[0].error).toBe("ambiguous: several verdicts ([[A]], [[B]])");
    await t.scheduler.flush();
    // The same judging again is served from the cache: the bad first answer, then the good retry.
    const calls = server.calls.length;
    const again = await new PairwiseJudge(t.again(), "assay-pair-v1").judge(ITEMS[0]);
    expect(server.calls.length).toBe(calls);
    expect(again.verdict).toBe("model_2");
    expect(again.orders[0].attempts.map((a) => a.cached)).toEqual([true, true]);
    await t.close();
  });

  it("rate limits are retried by the scheduler, not counted as parse failures", async () => {
    let n = 0;
    const { judgments, diagnostics: d } = await run(
      (c) => {
        if (n++ < 2) throw retryLater();
        return longer(c);
      },
      ITEMS.slice(0, 2),
    );
    expect(judgments.map((j) => j.verdict)).toEqual(["model_2", "model_1"]);
    expect(d.parse.unparseableOutputs).toBe(0);
  });

  it("Arena-Hard verdicts with weights against the loopback judge", async () => {
    const server = await startJudgeServer((c) => {
      const { a, b } = shownAnswers(c.user);
      const d = a.length - b.length;
      return `verdict: [[${d > 20 ? "A>>B" : d > 0 ? "A>B" : d === 0 ? "A=B" : d >= -20 ? "B>A" : "B>>A"}]]`;
    });
    servers.push(server);
    const t = await testJudge(server.spec);
    const judge = new PairwiseJudge(t.client, "assay-pair-arena-v1", { tieRule: "arena-hard" });
    const js = await Promise.all(ITEMS.map((it) => judge.judge(it)));
    await t.close();
    // Length differences 30, 30, 0, 20, 45, 1 (signed per pair): strong when above 20.
    expect(js.map((j) => j.battles.map((b) => `${b.winner}×${b.weight}`))).toEqual([
      ["model_2×3", "model_2×3"],
      ["model_1×3", "model_1×3"],
      ["tie×1", "tie×1"],
      ["model_2×1", "model_2×1"],
      ["model_1×3", "model_1×3"],
      ["model_2×1", "model_2×1"],
    ]);
    expect(winRates(js).map((w) => [w.model, w.win, w.loss, w.tie])).toEqual([
      ["alpha", 12, 10, 2],
      ["beta", 10, 12, 2],
    ]);
  });

  it("the probability rule needs a judge with log-probabilities; prompts must fit", async () => {
    const anth = await startAnthropicJudge(alwaysA);
    servers.push(anth);
    const t = await testJudge(anth.spec);
    expect(() => new PairwiseJudge(t.client, "assay-pair-v1", { tieRule: "probability" })).toThrow(
      /tie rule 'probability' needs log-probabilities/,
    );
    expect(() => new PairwiseJudge(t.client, "assay-single-v1")).toThrow(UserError);
    await t.close();
  });

  it("an Anthropic-protocol judge gives the same verdicts", async () => {
    const anth = await startAnthropicJudge(longer);
    servers.push(anth);
    const t = await testJudge(anth.spec);
    const judge = new PairwiseJudge(t.client, "assay-pair-v1");
    const js = await Promise.all(ITEMS.map((it) => judge.judge(it)));
    await t.close();
    expect(js.map((j) => j.verdict)).toEqual(["model_2", "model_1", "tie", "model_2", "model_1", "model_2"]);
    // The system prompt travelled in the Messages API's system field.
    expect(anth.server.log[0].body.system).toMatch(/impartial judge/);
    expect(anth.server.log[0].body.messages[0].role).toBe("user");
  });
});

describe("single order", () => {
  it("orders: 1 judges model_1 first only and takes its verdict", () => {
    const j: PairJudgment = combine(item("x", 1, 2), [ord(1, "B")], "mtbench");
    expect(j.verdict).toBe("model_2");
    expect(j.consistent).toBeNull();
    expect(positionStats([j]).pairs).toBe(0);
  });
});

describe("probability rule with a judge that returns log-probabilities", () => {
  it("averages the verdict probabilities of both orders, as computed from the model's log-likelihoods", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "assay-prob-"));
    const file = path.join(dir, "judge.txt");
    writeFileSync(
      file,
      "Final verdict: [[A]]\nFinal verdict: [[A]]\nFinal verdict: [[B]]\nFinal verdict: [[C]]\n".repeat(10),
    );
    const ngram = await createNgramProvider(`ngram:${file}?order=4`, { cacheDir: path.join(dir, "cache") });
    const t = await testJudge(ngram.spec, {}, undefined, ngram);
    const judge = new PairwiseJudge(t.client, "assay-pair-v1", { tieRule: "probability" });
    const it0 = ITEMS[1];
    const j = await judge.judge(it0);
    const probs = async (order: 1 | 2) => {
      const context = renderForScoring(messagesFor(judge.prompt, orderVars(it0, order)), "Final verdict: [[");
      const lp: number[] = [];
      for (const c of ["A]]", "B]]", "C]]"]) {
        const r = await ngram.serve(
          { kind: "loglikelihood", context, continuation: c },
          new AbortController().signal,
        );
        lp.push(r.response.kind === "loglikelihood" ? r.response.logprob : Number.NaN);
      }
      const z = lp.reduce((a, x) => a + Math.exp(x), 0);
      return lp.map((x) => Math.exp(x) / z);
    };
    const [p1, p2] = [await probs(1), await probs(2)];
    expect(j.probabilities!.model_1).toBeCloseTo((p1[0] + p2[1]) / 2, 12);
    expect(j.probabilities!.model_2).toBeCloseTo((p1[1] + p2[0]) / 2, 12);
    expect(j.probabilities!.tie).toBeCloseTo((p1[2] + p2[2]) / 2, 12);
    // The trained judge prefers "A" whatever is shown first: a position bias the orders average out.
    expect(j.orders.map((o) => o.position)).toEqual(["A", "A"]);
    expect(j.consistent).toBe(false);
    expect(positionStats([j])).toMatchObject({ pairs: 1, biasedFirst: 1, firstPositionRate: 1 });
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
