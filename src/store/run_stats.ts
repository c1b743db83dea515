import type { RunStats } from "./types.js";

/** Operational counters of a run that has done nothing yet. */
export const emptyRunStats = (): RunStats => ({
  requests: 0,
  cacheHits: 0,
  deduplicated: 0,
  retries: 0,
  errors: 0,
  inputTokens: 0,
  outputTokens: 0,
  cost: 0,
  latencyHistogram: {},
  elapsedMs: 0,
});
