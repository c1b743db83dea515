/**
 * MT-Bench end to end through the CLI: recorded and generated answers, FastChat's judge prompts, a
 * loopback judge answering in FastChat's format, parse failures, pairwise diagnostics, per-category tables.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot, runCli } from "../helpers/cli.js";
import {
  gradedAnswer,
  type JudgeCall,
  type JudgeServer,
  shownAnswers,
  startJudgeServer,
} from "./judge_server.js";

const MT = path.resolve(
  process.env.ASSAY_MT_BENCH_DIR ?? path.join(repoRoot, "../shared/data/benchmarks/mt_bench"),
);
const HAVE = existsSync(path.join(MT, "question.jsonl"));
const REF_CATS = ["math", "reasoning", "coding"];

interface Q {
  question_id: number;
  category: string;
  turns: string[];
}
const readJsonl = (f: string) =>
  readFileSync(f, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));

describe.skipIf(!HAVE)("assay judge mt-bench", () => {
  let questions: Q[];
  const byText = new Map<string, Q>();
  let dir: string;
  let judge: JudgeServer;
  let garbageJudge: JudgeServer;
  const answers = (model: string) =>
    new Map<number, string[]>(
      readJsonl(path.join(MT, "model_answer", `${model}.jsonl`)).map((a) => [
        a.question_id,
        a.choices[0].turns,
      ]),
    );

  /** The question and turn a FastChat judge prompt is about. */
  function about(c: JudgeCall): { q: Q; turn: number } {
    const m =
      /\[Question\]\n([\s\S]*?)\n\n\[The Start of/.exec(c.user) ??
      /\[User Question\]\n([\s\S]*?)\n\n\[The Start of/.exec(c.user) ??
      /### User:\n([\s\S]*?)\n\n### /.exec(c.user);
    const q = m ? byText.get(m[1]) : undefined;
    if (!q) throw new Error(`unknown question in prompt: ${c.user.slice(0, 200)}`);
    return { q, turn: c.user.includes("### User:") ? 2 : 1 };
  }
  // Deterministic scores; first-turn judgments of questions 83, 93, ..., 153 never parse.
  const score = (answer: string) => 1 + ([...answer].length % 10);
  const isPair = (c: JudgeCall) => `${c.system}${c.user}`.includes('"[[A]]"');
  function fastchatJudge(c: JudgeCall): string {
    const { q, turn } = about(c);
    if (isPair(c)) {
      const { a, b } = shownAnswers(c.user);
      return `Comparing both. ${a.length > b.length ? "[[A]]" : a.length < b.length ? "[[B]]" : "[[C]]"}`;
    }
    if (q.question_id % 10 === 3 && turn === 1)
      return "The answer has merits and flaws; I will not give a number.";
    return `The assistant answered. Rating: [[${score(gradedAnswer(c.user))}]]`;
  }

  beforeAll(async () => {
    questions = readJsonl(path.join(MT, "question.jsonl"));
    for (const q of questions) byText.set(q.turns[0], q);
    dir = mkdtempSync(path.join(tmpdir(), "assay-mtbench-"));
    judge = await startJudgeServer(fastchatJudge, "gpt-4");
    garbageJudge = await startJudgeServer(() => "Both answers are interesting.", "mute-judge");
  });
  afterAll(async () => {
    await judge.close();
    await garbageJudge.close();
  });

  const store = () => ["--store", path.join(dir, "assay.db")];

  it("single-answer grading of two recorded models: per-turn, overall and per-category scores, honest parse failures", async () => {
    const out = path.join(dir, "single");
    const models = ["gpt-4", "llama-13b"];
    const r = await runCli([
      "judge",
      "mt-bench",
      "--bench-dir",
      MT,
      ...models.flatMap((m) => ["--answers", path.join(MT, "model_answer", `${m}.jsonl`)]),
      "--judge",
      judge.spec,
      "--output-dir",
      out,
      ...store(),
    ]);
    expect(r.stderr).toContain("warning: 16 of 320 judgments failed to parse");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("MT-Bench single-answer grading");
    expect(r.stdout).toMatch(
      /parse: 16 of 320 judgments failed to parse \(5\.0%\); 48 of 352 outputs unparseable/,
    );
    // The judge as the model that answered: gpt-4 judging gpt-4 is flagged.
    expect(r.stdout).toMatch(/self-preference: WARNING judge openai:gpt-4@.* grades its own family: gpt-4/);
    const summary = JSON.parse(readFileSync(path.join(out, "summary.json"), "utf8"));
    for (const model of models) {
      const ans = answers(model);
      const valid: Array<{ cat: string; turn: number; s: number }> = [];
      for (const q of questions)
        for (const turn of [1, 2]) {
          if (q.question_id % 10 === 3 && turn === 1) continue;
          valid.push({ cat: q.category, turn, s: score(ans.get(q.question_id)![turn - 1]) });
        }
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const row = summary.models.find((m: any) => m.model === model);
      expect(row.failed).toBe(8);
      expect(row.judged).toBe(160);
      expect(row.turn1.n).toBe(72);
      expect(row.turn1.mean).toBeCloseTo(mean(valid.filter((v) => v.turn === 1).map((v) => v.s)), 12);
      expect(row.turn2.mean).toBeCloseTo(mean(valid.filter((v) => v.turn === 2).map((v) => v.s)), 12);
      expect(row.overall.mean).toBeCloseTo(mean(valid.map((v) => v.s)), 12);
      for (const cat of [
        "writing",
        "roleplay",
        "reasoning",
        "math",
        "coding",
        "extraction",
        "stem",
        "humanities",
      ]) {
        const xs = valid.filter((v) => v.cat === cat).map((v) => v.s);
        expect(row.categories[cat]).toEqual({ mean: expect.closeTo(mean(xs), 12), n: 19 });
      }
    }
    expect(summary.categories).toEqual([
      "writing",
      "roleplay",
      "reasoning",
      "math",
      "coding",
      "extraction",
      "stem",
      "humanities",
    ]);
    // Reference-guided prompts for math, reasoning and coding, with the reference answers in them.
    const refs = new Map<number, string[]>(
      readJsonl(path.join(MT, "reference_answer", "gpt-4.jsonl")).map((a) => [
        a.question_id,
        a.choices[0].turns,
      ]),
    );
    const records = readJsonl(path.join(out, "judgments.jsonl"));
    expect(records.length).toBe(320);
    for (const rec of records) {
      const ref = REF_CATS.includes(rec.category);
      const name = `single${ref ? "-math" : ""}-v1${rec.turn === 2 ? "-multi-turn" : ""}`;
      expect(rec.judge[1]).toBe(name);
      if (ref) expect(rec.user_prompt).toContain(refs.get(rec.question_id)![0]);
      if (rec.question_id % 10 === 3 && rec.turn === 1) {
        expect(rec).toMatchObject({ ok: false, score: null });
        expect(rec.attempts.length).toBe(3);
        expect(rec.error).toMatch(/unparseable after 3 attempts/);
      } else expect(rec.ok).toBe(true);
    }
  });

  it("pairwise against a baseline: FastChat prompts in both orders, tie rule, win rates per category, length bias detected", async () => {
    const out = path.join(dir, "pair");
    const calls = judge.calls.length;
    const r = await runCli([
      "judge",
      "mt-bench",
      "--bench-dir",
      MT,
      "--answers",
      path.join(MT, "model_answer", "gpt-4.jsonl"),
      "--answers",
      path.join(MT, "model_answer", "llama-13b.jsonl"),
      "--baseline",
      "llama-13b",
      "--category",
      "writing,math",
      "--judge",
      judge.spec,
      "--output-dir",
      out,
      "--json",
      ...store(),
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const { summary } = JSON.parse(r.stdout);
    expect(judge.calls.length - calls).toBe(80); // 20 questions × 2 turns × 2 orders
    const gpt4 = answers("gpt-4");
    const llama = answers("llama-13b");
    let win = 0;
    let loss = 0;
    let tie = 0;
    const perCat: Record<string, number[]> = { writing: [0, 0, 0], math: [0, 0, 0] };
    for (const q of questions.filter((x) => x.category === "writing" || x.category === "math"))
      for (const t of [0, 1]) {
        const d = [...gpt4.get(q.question_id)![t]].length - [...llama.get(q.question_id)![t]].length;
        const k = d > 0 ? 0 : d < 0 ? 1 : 2;
        [win, loss, tie] = [win + (k === 0 ? 1 : 0), loss + (k === 1 ? 1 : 0), tie + (k === 2 ? 1 : 0)];
        perCat[q.category][k]++;
      }
    expect(summary.baseline).toBe("llama-13b");
    expect(summary.winRates).toEqual([
      expect.objectContaining({
        model: "gpt-4",
        win,
        loss,
        tie,
        winRateAdjusted: expect.closeTo((win + tie / 2) / 40, 12),
      }),
    ]);
    for (const c of ["writing", "math"])
      expect(summary.categories[c][0]).toMatchObject({
        model: "gpt-4",
        win: perCat[c][0],
        loss: perCat[c][1],
        tie: perCat[c][2],
      });
    const d = summary.diagnostics;
    expect(d.parse).toMatchObject({ judgments: 80, failed: 0 });
    expect(d.position).toMatchObject({ pairs: 40, consistency: 1, firstPositionRate: 0.5, biasedFirst: 0 });
    expect(d.length.longerWinRate).toBe(1);
    expect(d.length.spearman).toBeGreaterThan(0.8);
    expect(d.selfPreference).toMatchObject({ flag: true, sameFamily: ["gpt-4"] });
    // FastChat's model_judgment format, pair-math prompts with references for math.
    const recs = readJsonl(path.join(out, "judgments.jsonl"));
    const math = recs.find((x) => x.category === "math" && x.turn === 2);
    expect(math.judge[1]).toBe("pair-math-v1-multi-turn");
    expect(math.g1_user_prompt).toContain("### Reference answer:");
    expect(recs.find((x) => x.category === "writing" && x.turn === 1).judge[1]).toBe("pair-v2");
    expect(recs.every((x) => x.model_1 === "gpt-4" && x.model_2 === "llama-13b")).toBe(true);
  });

  it("generates both turns with a local model, judges pairwise, and a rerun is served from the cache", async () => {
    const train = path.join(dir, "train.txt");
    writeFileSync(
      train,
      `${questions.flatMap((q) => q.turns).join("\n")}\nAssistant: Here is a short and careful answer.\n`.repeat(
        3,
      ),
    );
    const out = path.join(dir, "gen");
    const args = [
      "judge",
      "mt-bench",
      "--bench-dir",
      MT,
      "--model",
      `ngram:${train}`,
      "--baseline-model",
      path.join(MT, "model_answer", "gpt-3.5-turbo.jsonl"),
      "--limit",
      "3",
      "--max-tokens",
      "40",
      "--judge",
      judge.spec,
      "--output-dir",
      out,
      "--json",
      ...store(),
    ];
    const before = judge.calls.length;
    const r = await runCli(args);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const first = JSON.parse(r.stdout);
    expect(first.summary.baseline).toBe("gpt-3.5-turbo");
    expect(first.summary.pairs).toBe(6);
    expect(judge.calls.length - before).toBe(12);
    const [gen] = readJsonl(
      path.join(out, "model_answer", `${`ngram:${train}`.replace(/[^\w.-]+/g, "_")}.jsonl`),
    ).slice(0, 1);
    expect(gen.question_id).toBe(questions[0].question_id);
    expect(gen.choices[0].turns.length).toBe(2);
    // The second-turn judge prompt holds the model's own first-turn answer.
    const turn2 = judge.calls
      .slice(before)
      .find((c) => c.user.includes("### User:") && c.user.includes(gen.choices[0].turns[1]));
    expect(turn2?.user).toContain(gen.choices[0].turns[0]);
    const again = await runCli(args);
    expect(again.code).toBe(0);
    expect(judge.calls.length - before).toBe(12);
    expect(JSON.parse(again.stdout).summary).toEqual(first.summary);
    expect(JSON.parse(again.stdout).judgeCalls).toMatchObject({ calls: 12, cached: 12 });
  });

  it("a real local judge (assay serve-model ngram): the run completes and reports its parse failures honestly", async () => {
    const corpus = path.join(dir, "judge_corpus.txt");
    const lines = [
      "Assistant: The answer is helpful and accurate. Rating: [[8]]",
      "Assistant: The answer misses the point. Rating: [[3]]",
      "Assistant: A fair attempt with some errors. Rating: [[6]]",
      "Assistant: I am not sure what to say about this answer.",
    ];
    writeFileSync(corpus, `${lines.join("\n")}\n`.repeat(30));
    const server = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        path.join(repoRoot, "src/cli/main.ts"),
        "serve-model",
        `ngram:${corpus}?order=6`,
        "--port",
        "0",
        "--name",
        "ngram-judge",
        ...store(),
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        server.stdout!.on("data", (d) => {
          out += d;
          const m = /(http:\/\/\S+\/v1)/.exec(out);
          if (m) resolve(m[1]);
        });
        server.once("exit", (code) => reject(new Error(`serve-model exited ${code}`)));
      });
      const out = path.join(dir, "ngram-judge");
      const r = await runCli([
        "judge",
        "mt-bench",
        "--bench-dir",
        MT,
        "--answers",
        path.join(MT, "model_answer", "vicuna-13b-v1.3.jsonl"),
        "--answers",
        path.join(MT, "model_answer", "alpaca-13b.jsonl"),
        "--category",
        "writing,math",
        "--limit",
        "12",
        "--judge",
        `openai:ngram-judge@${url}`,
        "--judge-max-tokens",
        "80",
        "--output-dir",
        out,
        "--json",
        ...store(),
      ]);
      const records = readJsonl(path.join(out, "judgments.jsonl"));
      expect(records.length).toBe(2 * 12 * 2);
      const failed = records.filter((x) => !x.ok);
      const { summary } = JSON.parse(r.stdout);
      // Whatever the tiny judge says, every judgment is accounted for: scored or recorded as failed.
      expect(summary.parse.judgments).toBe(48);
      expect(summary.parse.failed).toBe(failed.length);
      expect(failed.every((x) => x.score === null && x.attempts.length === 3)).toBe(true);
      expect(records.filter((x) => x.ok).every((x) => [3, 6, 8].includes(x.score))).toBe(true);
      expect(r.code).toBe(failed.length === 48 ? 2 : 0);
      const n = summary.models.reduce((a: number, m: any) => a + m.overall.n, 0);
      expect(n).toBe(48 - failed.length);
      expect(Object.keys(summary.models[0].categories)).toEqual(["writing", "math"]);
    } finally {
      server.kill("SIGTERM");
    }
  });

  it("a judge that returns nothing parseable: every judgment recorded as failed, exit 2", async () => {
    const out = path.join(dir, "mute");
    const r = await runCli([
      "judge",
      "mt-bench",
      "--bench-dir",
      MT,
      "--answers",
      path.join(MT, "model_answer", "gpt-4.jsonl"),
      "--limit",
      "2",
      "--parse-retries",
      "1",
      "--judge",
      garbageJudge.spec,
      "--output-dir",
      out,
      ...store(),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("assay: error: every judgment (4) failed to parse; no scores were produced\n");
    expect(r.stdout).toMatch(
      /parse: 4 of 4 judgments failed to parse \(100\.0%\); 8 of 8 outputs unparseable/,
    );
    const recs = readJsonl(path.join(out, "judgments.jsonl"));
    expect(recs.map((x) => [x.ok, x.score, x.attempts.length])).toEqual(Array(4).fill([false, null, 2]));
  });

  it("bad input: an answer without a question, a missing reference, bad options", async () => {
    const bad = path.join(dir, "bad_answers.jsonl");
    const lines = readFileSync(path.join(MT, "model_answer", "gpt-4.jsonl"), "utf8")
      .split("\n")
      .slice(0, 2);
    const extra = JSON.parse(lines[0]);
    extra.question_id = 999;
    writeFileSync(bad, `${lines.join("\n")}\n${JSON.stringify(extra)}\n`);
    let r = await runCli([
      "judge",
      "mt-bench",
      "--bench-dir",
      MT,
      "--answers",
      bad,
      "--judge",
      judge.spec,
      ...store(),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `assay: error: ${bad}:3: question_id: answer to question 999, which is not in ${path.join(MT, "question.jsonl")} (expected the id of a question in ${path.join(MT, "question.jsonl")})\n`,
    );

    const refs = path.join(dir, "refs.jsonl");
    writeFileSync(
      refs,
      readFileSync(path.join(MT, "reference_answer", "gpt-4.jsonl"), "utf8")
        .split("\n")
        .filter((l) => l.trim() && JSON.parse(l).question_id !== 111)
        .join("\n"),
    );
    const calls = judge.calls.length;
    r = await runCli([
      "judge",
      "mt-bench",
      "--bench-dir",
      MT,
      "--reference",
      refs,
      "--category",
      "math",
      "--answers",
      path.join(MT, "model_answer", "gpt-4.jsonl"),
      "--judge",
      judge.spec,
      ...store(),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `assay: error: ${refs}: question_id: question 111 (category math) is graded against a reference answer, but there is none (expected a reference answer with 2 turn(s) for question 111)\n`,
    );
    expect(judge.calls.length).toBe(calls); // nothing was judged

    r = await runCli(["judge", "mt-bench", "--bench-dir", MT, "--answers", bad, ...store()]);
    expect(r.stderr).toMatch(/--judge: no judge given/);
    r = await runCli([
      "judge",
      "mt-bench",
      "--bench-dir",
      MT,
      "--judge",
      judge.spec,
      "--tie-rule",
      "coin",
      ...store(),
    ]);
    expect(r.stderr).toMatch(
      /--tie-rule: invalid value 'coin' \(expected mtbench, arena-hard, probability\)/,
    );
    r = await runCli([
      "judge",
      "mt-bench",
      "--bench-dir",
      path.join(dir, "nowhere"),
      "--judge",
      judge.spec,
      ...store(),
    ]);
    expect(r.stderr).toMatch(/--questions: no question\.jsonl in/);
    expect(r.code).toBe(2);
  });
});
