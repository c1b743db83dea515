/** `assay failures` logic on real runs: the worst samples, their excerpts and failure groups. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findFailures, groupValue, sampleOutput } from "../../src/gates/failures.js";
import type { RunRecord } from "../../src/store/types.js";
import { createFixture, type Fixture } from "./fixture.js";

let fx: Fixture;
let mc: RunRecord;
let gen: RunRecord;

beforeAll(async () => {
  fx = createFixture();
  [mc, gen] = await fx.run(fx.corpus("half.txt", 0.5));
}, 120_000);

afterAll(async () => {
  await fx?.store.close();
});

describe("findFailures", () => {
  it("shows the bottom 10% worst first, in doc order among ties", async () => {
    const r = await findFailures(fx.store, gen);
    expect(r.metric).toBe("exact_match,strict-match");
    expect(r.scored).toBe(80);
    expect(r.shown).toHaveLength(8);
    const scores: Array<[number, number]> = [];
    for await (const s of fx.store.iterateScores(gen.id))
      scores.push([s.docId, s.scores["exact_match,strict-match"] as number]);
    const wrong = scores.filter(([, v]) => v === 0).map(([d]) => d);
    expect(r.atOrBelowCutoff).toBe(wrong.length);
    expect(r.shown.map((s) => s.docId)).toEqual(wrong.slice(0, 8));
    const first = await fx.store.getSample(gen.id, r.shown[0].docId);
    expect(r.shown[0].output).toContain(JSON.stringify(first!.filtered!["strict-match"][0]));
    expect(r.shown[0].target).toBe(String(first!.target));
    expect(first!.prompt.endsWith(r.shown[0].prompt.replace(/^…/, "").split(" ").pop()!)).toBe(true);
  });

  it("orders lower-is-better metrics from the highest score", async () => {
    const r = await findFailures(fx.store, mc, { metric: "brier_score", bottom: 5 });
    expect(r.higherIsBetter).toBe(false);
    const s = r.shown.map((x) => x.score);
    expect(s).toEqual([...s].sort((a, b) => b - a));
    expect(r.shown[0].output).toMatch(/^chose " ?\d+" \(choice \d of 4\)$/);
  });

  it("groups failures by a doc field (dotted paths too)", async () => {
    const r = await findFailures(fx.store, mc, { bottom: 0.25, groupBy: "meta.big" });
    expect(r.groups!.map((g) => g.group).sort()).toEqual(["false", "true"]);
    const total = r.groups!.reduce((n, g) => n + g.total, 0);
    const failures = r.groups!.reduce((n, g) => n + g.failures, 0);
    expect(total).toBe(80);
    expect(failures).toBe(r.atOrBelowCutoff);
    for (const g of r.groups!) expect(g.failureRate).toBeCloseTo(g.failures / g.total, 15);
    expect(r.groups![0].failureRate).toBeGreaterThanOrEqual(r.groups![1].failureRate);
  });

  it("errors: unknown metric, corpus metric, missing field, bad --bottom", async () => {
    await expect(findFailures(fx.store, mc, { metric: "acc_nrm" })).rejects.toThrow(
      /has no metric 'acc_nrm,none'/,
    );
    await expect(findFailures(fx.store, mc, { groupBy: "knd" })).rejects.toThrow(
      /no doc of run .* has a field 'knd'/,
    );
    await expect(findFailures(fx.store, mc, { bottom: 1.5 })).rejects.toThrow(/invalid value '1.5'/);
  });
});

describe("helpers", () => {
  it("groupValue and sampleOutput", () => {
    expect(groupValue({ a: { b: 2 } }, "a.b")).toBe("2");
    expect(groupValue({ a: 1 }, "a.b")).toBe("(missing)");
    expect(groupValue({ a: "x" }, "a")).toBe("x");
    expect(
      sampleOutput(
        {
          requests: [{ kind: "loglikelihood", context: "q", continuation: " 4" }],
          responses: [{ kind: "loglikelihood", logprob: -1.25, isGreedy: true }],
        },
        "acc,none",
      ),
    ).toBe("log-likelihood -1.250 (greedy)");
    expect(
      sampleOutput(
        {
          requests: [],
          responses: [{ kind: "generate_until", text: " 12\n" }],
          filtered: { "strict-match": ["12"] },
        },
        "exact_match,strict-match",
      ),
    ).toBe('"12" (raw " 12\\n")');
  });
});
