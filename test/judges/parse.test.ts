import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  parseCriteriaJson,
  parseRating,
  parseResult,
  parseVerdictABC,
  parseVerdictArena,
} from "../../src/judges/parse.js";
import {
  BUILTIN_PROMPTS,
  formatTemplate,
  getPrompt,
  loadJudgePrompts,
  templateFields,
} from "../../src/judges/prompts.js";
import { UserError } from "../../src/util/errors.js";
import { repoRoot } from "../helpers/cli.js";

const S10 = { min: 1, max: 10 };
const MT_BENCH = path.resolve(
  process.env.ASSAY_MT_BENCH_DIR ?? path.join(repoRoot, "../shared/data/benchmarks/mt_bench"),
);

function userError(f: () => unknown): UserError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return e as UserError;
  }
  throw new Error("expected a UserError");
}

describe("rating parsers", () => {
  it("reads FastChat's [[rating]] and its [rating] fallback", () => {
    expect(parseRating("Good answer. Rating: [[7]]", S10)).toEqual({ ok: true, value: 7 });
    expect(parseRating("Rating: [[8.5]]", S10)).toEqual({ ok: true, value: 8.5 });
    expect(parseRating("Rating: [ 9 ] no; Rating: [9]", S10)).toEqual({ ok: true, value: 9 });
    // The same rating twice is fine; two different ones are ambiguous, not "the first".
    expect(parseRating("[[6]] ... so [[6]]", S10)).toEqual({ ok: true, value: 6 });
    expect(parseRating("[[3]] or maybe [[4]]", S10)).toEqual({
      ok: false,
      error: "ambiguous: several ratings (3, 4)",
    });
  });

  it("does not coerce: nothing, or a rating off the scale, is a failure", () => {
    expect(parseRating("I would rate it highly.", S10)).toEqual({
      ok: false,
      error: 'no "[[rating]]" in the judgment',
    });
    expect(parseRating("Rating: [[11]]", S10)).toEqual({
      ok: false,
      error: "rating 11 is outside the scale 1-10",
    });
    expect(parseRating("Rating: [[0]]", S10).ok).toBe(false);
  });

  it("reads Prometheus's [RESULT]", () => {
    expect(parseResult("Feedback: fine. [RESULT] 4", { min: 1, max: 5 })).toEqual({ ok: true, value: 4 });
    expect(parseResult("[RESULT] (3)", { min: 1, max: 5 })).toEqual({ ok: true, value: 3 });
    expect(parseResult("[RESULT] 6", { min: 1, max: 5 }).ok).toBe(false);
    expect(parseResult("score: 4", { min: 1, max: 5 }).ok).toBe(false);
  });
});

describe("verdict parsers", () => {
  it("reads [[A]], [[B]] and [[C]] (tie); two different verdicts are ambiguous", () => {
    expect(parseVerdictABC("A is better. [[A]]")).toEqual({
      ok: true,
      value: { position: "A", strong: false, label: "A" },
    });
    expect(parseVerdictABC("[[B]]")).toMatchObject({ ok: true, value: { position: "B" } });
    expect(parseVerdictABC("a tie: [[C]]")).toMatchObject({ ok: true, value: { position: "tie" } });
    expect(parseVerdictABC("[[A]] ... final: [[B]]")).toEqual({
      ok: false,
      error: "ambiguous: several verdicts ([[A]], [[B]])",
    });
    expect(parseVerdictABC("A is better")).toMatchObject({ ok: false });
  });

  it("reads Arena-Hard labels with their strength, and their mirrored spellings", () => {
    expect(parseVerdictArena("My final verdict is [[A>>B]]")).toEqual({
      ok: true,
      value: { position: "A", strong: true, label: "A>>B" },
    });
    expect(parseVerdictArena("[[B>A]]")).toEqual({
      ok: true,
      value: { position: "B", strong: false, label: "B>A" },
    });
    expect(parseVerdictArena("[[A=B]]")).toMatchObject({ ok: true, value: { position: "tie" } });
    expect(parseVerdictArena("[[A<<B]]")).toMatchObject({ ok: true, value: { position: "B", strong: true } });
    expect(parseVerdictArena("[[A>B]] and [[A > B]]")).toMatchObject({ ok: true, value: { position: "A" } });
    expect(parseVerdictArena("[[A>B]] then [[B>>A]]").ok).toBe(false);
    expect(parseVerdictArena("[[A]]").ok).toBe(false);
  });
});

describe("criterion JSON", () => {
  const criteria = [
    { name: "accuracy", scale: { min: 1, max: 5 } },
    { name: "clarity", scale: { min: 0, max: 3 } },
  ];
  it("accepts the usual shapes, fenced or not", () => {
    const want = { ok: true, value: { accuracy: 4, clarity: 2 } };
    expect(parseCriteriaJson('{"accuracy": 4, "clarity": 2}', criteria)).toEqual(want);
    expect(
      parseCriteriaJson(
        'Here:\n```json\n{"accuracy": {"reason": "ok", "score": 4}, "clarity": {"score": "2"}}\n```',
        criteria,
      ),
    ).toEqual(want);
    expect(parseCriteriaJson('{"scores": {"accuracy": 4, "clarity": 2}}', criteria)).toEqual(want);
    expect(
      parseCriteriaJson(
        '{"criteria": [{"name": "accuracy", "score": 4}, {"name": "clarity", "score": 2}]}',
        criteria,
      ),
    ).toEqual(want);
  });
  it("a missing criterion, a non-number or an off-scale score fails", () => {
    expect(parseCriteriaJson('{"accuracy": 4}', criteria)).toEqual({
      ok: false,
      error: "no score for criterion 'clarity'",
    });
    expect(parseCriteriaJson('{"accuracy": 4, "clarity": "good"}', criteria).ok).toBe(false);
    expect(parseCriteriaJson('{"accuracy": 4, "clarity": 5}', criteria)).toEqual({
      ok: false,
      error: "criterion 'clarity': rating 5 is outside the scale 0-3",
    });
    expect(parseCriteriaJson("{accuracy: 4", criteria).ok).toBe(false);
    expect(parseCriteriaJson("no json here", criteria)).toEqual({
      ok: false,
      error: "no JSON object in the judgment",
    });
  });
});

describe("prompts are data", () => {
  it("formats str.format templates and names a missing field", () => {
    expect(formatTemplate("Q: {question} {{literal}}", { question: "why?" })).toBe("Q: why? {literal}");
    expect(templateFields("{a} {{b}} {c}")).toEqual(["a", "c"]);
    const e = userError(() =>
      formatTemplate("{question} {ref_answer_1}", { question: "q" }, "single-math-v1"),
    );
    expect(e.format()).toMatch(/ref_answer_1: judge prompt 'single-math-v1' needs 'ref_answer_1'/);
    expect(() => templateFields("{bad field}")).toThrow(UserError);
    expect(() => templateFields("a } b")).toThrow(UserError);
  });

  it("ships assay's own prompts and suggests names", () => {
    expect([...BUILTIN_PROMPTS.keys()]).toContain("assay-pair-v1");
    expect(getPrompt("assay-prometheus-v1").output_format).toBe("[RESULT]");
    expect(userError(() => getPrompt("assay-pair-v2")).format()).toMatch(
      /unknown judge prompt 'assay-pair-v2'.*did you mean 'assay-pair-v1'/,
    );
  });

  it.skipIf(!existsSync(MT_BENCH))("loads FastChat's eight MT-Bench judge prompts", async () => {
    const prompts = await loadJudgePrompts(path.join(MT_BENCH, "judge_prompts.jsonl"));
    expect([...prompts.keys()].sort()).toEqual([
      "pair-math-v1",
      "pair-math-v1-multi-turn",
      "pair-v2",
      "pair-v2-multi-turn",
      "single-math-v1",
      "single-math-v1-multi-turn",
      "single-v1",
      "single-v1-multi-turn",
    ]);
    expect(prompts.get("single-math-v1")).toMatchObject({ type: "single", output_format: "[[rating]]" });
    expect(templateFields(prompts.get("pair-math-v1-multi-turn")!.prompt_template)).toContain("ref_answer_2");
  });

  it("a bad prompt file names file, line and field", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "assay-prompts-"));
    const file = path.join(dir, "p.jsonl");
    const ok = {
      name: "x",
      type: "single",
      system_prompt: "",
      prompt_template: "{answer}",
      output_format: "[[rating]]",
    };
    writeFileSync(
      file,
      `${JSON.stringify(ok)}\n${JSON.stringify({ ...ok, name: "y", output_format: "[[A]]" })}\n`,
    );
    let e = await loadJudgePrompts(file).catch((x) => x);
    expect(e).toBeInstanceOf(UserError);
    expect(e.format()).toContain(
      `${file}:2: output_format: output_format [[A]] does not fit a single prompt`,
    );
    writeFileSync(file, `${JSON.stringify({ ...ok, prompt_template: "{answer" })}\n`);
    e = await loadJudgePrompts(file).catch((x) => x);
    expect(e.format()).toContain(`${file}:1: prompt_template: malformed template field`);
    writeFileSync(file, `${JSON.stringify({ ...ok, type: "triple" })}\n`);
    e = await loadJudgePrompts(file).catch((x) => x);
    expect(e.format()).toMatch(
      /p\.jsonl:1: type: invalid value "triple" \(expected "single" or "pairwise"\)/,
    );
  });
});
