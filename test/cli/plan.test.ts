import { describe, expect, it } from "vitest";
import { plan } from "../../src/cli/commands/plan.js";
import {
  minimumDetectableEffectPaired,
  minimumDetectableEffectTwoProportions,
  sampleSizePaired,
} from "../../src/stats/power.js";

const base = { power: 0.8, alpha: 0.05 };

describe("assay plan", () => {
  it("unpaired: sample size per system and the MDE at n", () => {
    const r = plan({ ...base, baseline: 0.52, delta: 0.02, n: 1319 });
    expect(r.requiredN).toBe(9775);
    expect(r.minimumDetectableEffect).toBe(minimumDetectableEffectTwoProportions(0.52, 1319, base));
    expect(r.powerAtN!).toBeGreaterThan(0.05);
    expect(r.powerAtN!).toBeLessThan(0.8);
  });

  it("paired: items from the discordance rate", () => {
    const r = plan({ ...base, paired: true, discordance: 0.1, delta: 0.02, n: 1960 });
    expect(r.requiredN).toBe(1960);
    expect(r.requiredN).toBe(sampleSizePaired(0.1, 0.02));
    expect(r.powerAtN!).toBeGreaterThanOrEqual(0.8);
    expect(r.minimumDetectableEffect).toBe(minimumDetectableEffectPaired(0.1, 1960, base));
  });

  it("clear errors", () => {
    expect(() => plan({ ...base, baseline: 0.5 })).toThrow(/nothing to plan/);
    expect(() => plan({ ...base, paired: true, delta: 0.02 })).toThrow(/needs the discordance rate/);
    expect(() => plan({ ...base, paired: true, discordance: 0.01, delta: 0.02 })).toThrow(
      /must be below the discordance/,
    );
    expect(() => plan({ ...base, delta: 0.02 })).toThrow(/needs the baseline accuracy/);
    expect(() => plan({ ...base, baseline: 0.99, delta: 0.02 })).toThrow(/outside \(0, 1\)/);
  });
});
