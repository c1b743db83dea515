/**
 * Judge vs human agreement on PandaLM's test set: GPT-3.5's and PandaLM-7B's recorded verdicts are fed
 * through the `replay` provider into `assay judge pairs` (prompt, parsing, retries of the unparseable
 * "garbage" verdicts, tie rule), and the statistics must reproduce the golden judge_vs_human values.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { orderVars, type PairItem } from "../../src/judges/pairwise.js";
import type { JudgePrompt } from "../../src/judges/prompts.js";
import { messagesFor } from "../../src/judges/single.js";
import { promptSha256 } from "../../src/models/replay.js";
import { repoRoot, runCli } from "../helpers/cli.js";

const DATA = path.resolve(
  process.env.ASSAY_PANDALM_DIR ?? path.join(repoRoot, "../shared/data/human/pandalm"),
);
const GOLDEN = path.resolve(
  process.env.ASSAY_GOLDEN_DIR ?? path.join(repoRoot, "../shared/golden"),
  "agreement/judge_vs_human.jsonl",
);
const HAVE = existsSync(path.join(DATA, "testset-v1.json")) && existsSync(GOLDEN);

// A judge prompt (data) that carries the item id. Requests carry no item id, and replay matches on the
// prompt: PandaLM repeats some (question, response 1, response 2) triples with different recorded
// verdicts (e.g. items 229-232), so the id in the prompt is what tells those recordings apart.
const REPLAY_PROMPT: JudgePrompt = {
  name: "replay-pair",
  type: "pairwise",
  system_prompt:
    'Compare the two responses. End with "[[A]]" if response 1 is better, "[[B]]" if response 2 is better, "[[C]]" for a tie.',
  prompt_template:
    "[Item {id}]\n[Question]\n{question}\n\n[Answer A]\n{answer_a}\n[End of Answer A]\n\n[Answer B]\n{answer_b}\n[End of Answer B]",
  output_format: "[[A]]",
} as JudgePrompt;

describe.skipIf(!HAVE)("judge vs humans on PandaLM, through the judge pipeline", () => {
  let dir: string;
  let pairsFile: string;
  let promptFile: string;
  let golden: Map<string, any>;
  /** The judge's messages for each item, in the one order judged (answer 1 in position A). */
  let messages: Map<number, ReturnType<typeof messagesFor>>;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "assay-pandalm-"));
    const items = JSON.parse(readFileSync(path.join(DATA, "testset-v1.json"), "utf8"));
    pairsFile = path.join(dir, "pairs.jsonl");
    writeFileSync(
      pairsFile,
      items
        .map((it: any) =>
          JSON.stringify({
            id: String(it.idx),
            question: it.input ? `${it.instruction}\n${it.input}` : it.instruction,
            // A few recorded responses are JSON booleans or numbers; the judge sees their text.
            answer_1: String(it.response1),
            answer_2: String(it.response2),
            human: [it.annotator1, it.annotator2, it.annotator3],
          }),
        )
        .join("\n"),
    );
    messages = new Map(
      items.map((it: any) => {
        const item: PairItem = {
          id: String(it.idx),
          model1: "model_1",
          model2: "model_2",
          shared: {
            id: String(it.idx),
            question: it.input ? `${it.instruction}\n${it.input}` : it.instruction,
          },
          answer1: { "": String(it.response1) },
          answer2: { "": String(it.response2) },
        };
        return [it.idx, messagesFor(REPLAY_PROMPT, orderVars(item, 1))];
      }),
    );
    promptFile = path.join(dir, "prompts.jsonl");
    writeFileSync(promptFile, `${JSON.stringify(REPLAY_PROMPT)}\n`);
    golden = new Map(
      readFileSync(GOLDEN, "utf8")
        .split("\n")
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l))
        .map((c) => [c.id, c.expected]),
    );
  });
  /**
   * Records each item's verdict text under its judge prompt, then judges the pairs with `replay:<file>`.
   * `byHash` keys the records by `prompt_sha256` instead of the prompt itself.
   */
  async function replay(verdicts: Map<number, string>, name: string, byHash = false) {
    const recording = path.join(dir, `${name}.replay.jsonl`);
    writeFileSync(
      recording,
      [...verdicts]
        .map(([idx, output]) => {
          const prompt = messages.get(idx)!;
          return JSON.stringify(
            byHash ? { id: idx, prompt_sha256: promptSha256(prompt), output } : { id: idx, prompt, output },
          );
        })
        .join("\n"),
    );
    return runCli([
      "judge",
      "pairs",
      pairsFile,
      "--judge-prompts",
      promptFile,
      "--prompt",
      "replay-pair",
      "--orders",
      "1",
      "--judge",
      `replay:${recording}`,
      "--json",
      "--concurrency",
      "32",
      "--store",
      path.join(dir, `${name}.db`),
    ]);
  }

  function expectGolden(human: any, judge: string, kappaId: string, withTiesAll?: number) {
    const g = (id: string) => golden.get(`percent_agreement/pandalm/${judge}/${id}`);
    const counts = (x: any) => ({ agree: x.agree, total: x.total });
    expect(counts(human.vsMajority.withTies)).toEqual(counts(g("judge_vs_majority/withties")));
    expect(counts(human.vsMajority.withoutTies)).toEqual(counts(g("judge_vs_majority/noties")));
    expect(human.vsMajority.withTies.rate).toBeCloseTo(g("judge_vs_majority/withties").rate, 12);
    expect(counts(human.vsEachHuman.withTies)).toEqual(counts(g("judge_vs_each_human/withties")));
    expect(counts(human.vsEachHuman.withoutTies)).toEqual(counts(g("judge_vs_each_human/noties")));
    expect(human.kappaVsMajority).toBeCloseTo(golden.get(kappaId), 12);
    if (withTiesAll !== undefined) expect(human.items).toBe(withTiesAll);
  }

  it("GPT-3.5: the 25 garbage verdicts are retried (replay answers every retry with the recording), then recorded as failures and left out", async () => {
    const recorded = JSON.parse(readFileSync(path.join(DATA, "gpt-3.5-turbo-testset-v1.json"), "utf8"));
    const verdicts = new Map<number, string>(
      recorded.map((x: any) => [
        x.idx,
        x.gpt_result === "1"
          ? `${x.gpt_reason} [[A]]`
          : x.gpt_result === "2"
            ? `${x.gpt_reason} [[B]]`
            : x.gpt_result === "Tie"
              ? `${x.gpt_reason} [[C]]`
              : x.gpt_reason.replaceAll("[[", "["),
      ]),
    );
    expect(verdicts.size).toBe(999);
    const r = await replay(verdicts, "gpt-3.5-turbo");
    expect(r.stderr).toBe("assay: warning: 25 of 999 judgments failed to parse (recorded, not scored)\n");
    expect(r.code).toBe(0);
    const [j] = JSON.parse(r.stdout).judges;
    // outputs: 999 first attempts and 2 retries for each of the 25 failures, all served from the recording.
    expect(j.diagnostics.parse).toEqual({
      judgments: 999,
      failed: 25,
      failureRate: 25 / 999,
      outputs: 1049,
      unparseableOutputs: 75,
    });
    expect(j.diagnostics.human).toMatchObject({ pairs: 999, unparseable: 25, itemsWithMajority: 974 });
    expectGolden(j.diagnostics.human, "gpt35", "cohen_kappa/pandalm/gpt35_vs_majority", 999);
    // Counting the failures as wrong instead (the golden garbage-as-invalid numbers).
    const strict = j.diagnostics.human.vsMajorityFailedAsWrong;
    const g = (id: string) =>
      golden.get(`percent_agreement/pandalm/gpt35_invalid_as_wrong/judge_vs_majority/${id}`);
    expect(strict.withTies).toEqual({
      agree: g("withties").agree,
      total: g("withties").total,
      rate: expect.closeTo(g("withties").rate, 12),
    });
    expect(strict.withoutTies).toMatchObject({ agree: g("noties").agree, total: g("noties").total });
  });

  it("PandaLM-7B (records keyed by prompt_sha256)", async () => {
    const recorded = JSON.parse(readFileSync(path.join(DATA, "pandalm-7b-testset-v1.json"), "utf8"));
    const verdicts = new Map<number, string>(
      recorded.map((x: any) => [
        x.idx,
        `${x.pandalm_reason} [[${x.pandalm_result === 1 ? "A" : x.pandalm_result === 2 ? "B" : "C"}]]`,
      ]),
    );
    expect(verdicts.size).toBe(999);
    const r = await replay(verdicts, "pandalm-7b", true);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const [j] = JSON.parse(r.stdout).judges;
    expect(j.diagnostics.parse.failed).toBe(0);
    expectGolden(j.diagnostics.human, "pandalm7b", "cohen_kappa/pandalm/pandalm7b_vs_majority");
    // One order only: position consistency cannot be measured and says so.
    expect(j.diagnostics.position).toMatchObject({ pairs: 0, consistency: null });
  });
});
