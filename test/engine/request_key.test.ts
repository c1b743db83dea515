import { describe, expect, it } from "vitest";
import { requestKey } from "../../src/engine/request_key.js";
import type { Request } from "../../src/models/types.js";

// Keys address stored cache entries: a change here silently orphans every user's cache.
describe("requestKey", () => {
  const cases: Array<[Request, string]> = [
    [
      { kind: "loglikelihood", context: "The capital of France is", continuation: " Paris" },
      "4PPqWXt0uB-GZDQMN0k-qZc2TLvpg-2BlupZnTo4k8Y",
    ],
    [{ kind: "loglikelihood_rolling", text: "héllo wörld ✓" }, "ofa7LC6j2Tc4R0WOO_br5In9umVNLNjTmsK4zVbmpWk"],
    [
      {
        kind: "generate_until",
        prompt: "Q: 2+2?\nA:",
        params: { until: ["\n"], max_gen_toks: 16, temperature: 0 },
      },
      "yPeveHm9xjbPlLU15dsFxoYn0XFv-Y70UFnnL80sjgQ",
    ],
    [
      {
        kind: "generate_until",
        prompt: [{ role: "user", content: "hi" }],
        params: { until: [], max_gen_toks: 8, temperature: 0.7, top_p: 0.9, seed: 3 },
        sampleIndex: 2,
      },
      "uAq4jE_xxwmP5hQL7Qs2hSrouoZLrtHB60ndk9XBcX8",
    ],
  ];

  it("is stable across releases", () => {
    for (const [req, key] of cases) expect(requestKey("m", req)).toBe(key);
  });

  it("separates models, sample indices and parameters", () => {
    const gen = cases[2][0];
    const keys = new Set([
      requestKey("m", gen),
      requestKey("m2", gen),
      requestKey("m", { ...gen, sampleIndex: 0 } as Request),
      requestKey("m", { ...gen, params: { until: ["\n"], max_gen_toks: 17, temperature: 0 } } as Request),
    ]);
    expect(keys.size).toBe(4);
  });
});
