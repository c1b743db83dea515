import { describe, expect, it } from "vitest";
import { parseGateConfig, parseMetricRef } from "../../src/gates/gate_config.js";
import { UserError } from "../../src/util/errors.js";

const message = (yaml: string): string => {
  try {
    parseGateConfig(yaml, "gate.yaml");
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return (e as UserError).format();
  }
  return "no error";
};

describe("gate config", () => {
  it("parses every kind of rule with its line", () => {
    const cfg = parseGateConfig(
      [
        "confidence: 0.9",
        "gates:",
        "  - metric: arith_mc/acc          # task/metric",
        "    compare_to: baseline",
        "    max_drop: 0.02",
        "  - metric: gsm8k/exact_match,strict-match",
        "    min: 0.40",
        "  - name: p95",
        "    metric: latency_p95_ms",
        "    max: 800",
        "  - metric: arith_mc/acc",
        "    range: history",
        "    history_runs: 5",
        "    history_method: minmax",
        "    history_model: 'llamacpp:ckpt-*.gguf'",
        "  - metric: arith_mc/acc_norm",
        "    range: [0.2, 0.9]",
        "    fail: true",
        "  - metric: arith_mc/acc",
        "    compare_to: baseline",
        "    confidence: 0.99",
        "",
      ].join("\n"),
      "gate.yaml",
    );
    const [cmp, min, lat, hist, range, conf] = cfg.rules;
    expect(cmp).toMatchObject({
      line: 3,
      kind: "compare",
      maxDrop: 0.02,
      confidence: 0.9,
      fail: true,
      metric: { task: "arith_mc", key: "acc,none", operational: false },
    });
    expect(min).toMatchObject({
      line: 6,
      kind: "threshold",
      min: 0.4,
      metric: { task: "gsm8k", key: "exact_match,strict-match" },
    });
    expect(lat).toMatchObject({
      name: "p95",
      kind: "threshold",
      max: 800,
      metric: { key: "latency_p95_ms", operational: true },
    });
    expect(lat.metric.task).toBeUndefined();
    expect(hist).toMatchObject({
      kind: "range",
      fail: false,
      range: { history: { runs: 5, method: "minmax", k: 3, model: "llamacpp:ckpt-*.gguf" } },
    });
    expect(range).toMatchObject({ range: { lo: 0.2, hi: 0.9 }, fail: true });
    expect(conf.confidence).toBe(0.99);
  });

  it("metric references", () => {
    expect(parseMetricRef("acc")).toEqual({
      text: "acc",
      task: undefined,
      key: "acc,none",
      operational: false,
    });
    expect(parseMetricRef("t/latency_p99_ms")).toMatchObject({
      task: "t",
      key: "latency_p99_ms",
      operational: true,
    });
    expect(parseMetricRef("a/b/exact_match,x")).toMatchObject({ task: "a/b", key: "exact_match,x" });
  });

  it("rejects bad files with file:line, field and the nearest names", () => {
    expect(message("gates:\n  - metric: arith_mc/acc\n    max_dorp: 0.1\n    compare_to: baseline\n")).toBe(
      "gate.yaml:3: gates[0].max_dorp: unknown key 'max_dorp' (expected name, metric, min, max, compare_to, max_drop, confidence, range, history_runs, history_method, history_k, history_model, fail). did you mean 'max_drop'?",
    );
    expect(message("gates:\n  - metric: arith_mc/acuracy\n    min: 0.5\n")).toMatch(
      /^gate\.yaml:2: gates\[0\]\.metric: unknown metric 'acuracy' .*did you mean 'acc'/,
    );
    expect(message("gates:\n  - metric: arith_mc/correctness\n    min: 0.5\n")).toMatch(
      /unknown metric 'correctness' .*metrics: .*exact_match.*; operational: latency_p50_ms/,
    );
    expect(message("gates:\n  - metric: latency_p96_ms\n    max: 5\n")).toMatch(
      /^gate\.yaml:2: gates\[0\]\.metric: unknown metric 'latency_p96_ms'.*did you mean 'latency_p95_ms'/,
    );
    expect(message("gate:\n  - metric: x\n")).toMatch(
      /^gate\.yaml:1: gate: unknown key 'gate'.*did you mean 'gates'\?/,
    );
    expect(message("gates:\n  - metric: a/acc\n    min: high\n")).toBe(
      'gate.yaml:3: gates[0].min: invalid value "high" (expected a number)',
    );
    expect(message("gates:\n  - metric: a/acc\n    min: 0.5\n    range: [0, 1]\n")).toMatch(
      /^gate\.yaml:2: gates\[0\]: rule mixes min\/max and range/,
    );
    expect(message("gates:\n  - metric: a/acc\n    range: [1, 0]\n")).toMatch(
      /^gate\.yaml:3: gates\[0\]\.range: range \[1, 0\] has lo > hi/,
    );
    expect(message("gates:\n  - metric: a/acc\n    range: [0, 1, 2]\n")).toMatch(
      /gates\[0\]\.range: invalid range/,
    );
    expect(message("gates:\n  - metric: a/acc\n   min: 1\n")).toMatch(/^gate\.yaml:3: malformed YAML/);
    expect(message("gates:\n  - metric: a/acc\n    compare_to: main\n")).toMatch(
      /^gate\.yaml:3: gates\[0\]\.compare_to: invalid value "main" \(expected baseline/,
    );
    expect(message("gates:\n  - metric: a/acc\n")).toMatch(
      /^gate\.yaml:2: gates\[0\]: rule has no condition/,
    );
    expect(message("gates:\n  - min: 1\n")).toMatch(/^gate\.yaml:2: gates\[0\]\.metric: rule has no metric/);
    expect(message("gates: []\n")).toMatch(/'gates' must be a non-empty list/);
    expect(message("- a\n")).toMatch(/^gate\.yaml:1: gate file must be a YAML mapping/);
    expect(message("gates:\n  - metric: a/acc\n    min: 1\n    max_drop: 0.1\n")).toMatch(
      /^gate\.yaml:4: gates\[0\]\.max_drop: 'max_drop' only applies to compare_to rules/,
    );
    expect(message("gates:\n  - metric: a/acc\n    min: 1\n    history_runs: 3\n")).toMatch(
      /only applies to range: history/,
    );
    expect(message("gates:\n  - metric: latency_p95_ms\n    range: history\n")).toMatch(
      /range: history needs a task-qualified metric \(expected task\/latency_p95_ms\)/,
    );
    expect(message("gates:\n  - metric: a/acc\n    compare_to: baseline\n    confidence: 95\n")).toMatch(
      /^gate\.yaml:4: gates\[0\]\.confidence: invalid value 95 \(expected a number in \(0, 1\)\)/,
    );
    expect(message("gates:\n  - metric: a/acc\n    range: [0, 1]\n    fail: yes please\n")).toMatch(
      /gates\[0\]\.fail: invalid value "yes please" \(expected true or false\)/,
    );
    expect(message("gates:\n  - metric: a/latency_p95_ms,strict\n    max: 1\n")).toMatch(/takes no filter/);
  });
});
