/**
 * How a scored position's next-token distribution is read out of llama.cpp (see LogitsMode), and the
 * log-probabilities computed from it.
 */
import { ProviderError } from "../types.js";
import { topIndices } from "./windows.js";

/**
 * One position's next-token distribution as scoring uses it: the raw logits (token id to logit) with
 * their float64 log-sum-exp and argmax. Log-probabilities are `logit - lse`, computed only for the
 * tokens asked for: the full log-softmax array is never built.
 */
export interface Distribution {
  logits: ReadonlyMap<number, number>;
  lse: number;
  argmax: number;
}

/** The `k` most likely tokens of `dist`, most likely first (ties: lower id first). */
export function topOf(dist: Distribution, k: number): Array<{ token: number; logprob: number }> {
  let size = 0;
  for (const t of dist.logits.keys()) if (t >= size) size = t + 1;
  const dense = new Float64Array(size).fill(Number.NEGATIVE_INFINITY);
  for (const [t, v] of dist.logits) dense[t] = v - dist.lse;
  return topIndices(dense, k).map((t) => ({ token: t, logprob: dense[t] }));
}

/**
 * How `score` reads a position's next-token distribution out of llama.cpp.
 *  - "full": every logit (node-llama-cpp's `logits: true`: a Map of the whole vocabulary), then the
 *    float64 max-shifted log-sum-exp of logitStats. Exact up to the float32 logits themselves.
 *  - "target": node-llama-cpp computes natively (AddonContext SampleToken) the greedy token (the first
 *    argmax, as the temperature-0 sampler picks it, ties to the lower id like logitStats), the logits of
 *    the target and of that argmax, and `totalLogitWeight` W = sum_i expf(logit_i - maxLogit), summed in
 *    float32 in token order. It is max-shifted, so it neither overflows nor underflows: every term is in
 *    (0, 1] and W >= 1. `logprob = (logit_t - maxLogit) - ln W`, the subtraction exact in float64; the only
 *    error is W's float32 sum, relative error at most about V * 2^-24 (V the vocabulary; ~2e-3 nats for
 *    32k tokens in the worst case, typically ~sqrt(V) * 2^-24, and 3e-5 for stories260K's 512). That is
 *    well inside the golden tolerances (2e-2 per token, 5e-2 per sum) and far cheaper: no Map of the
 *    vocabulary, no sort. Measured against the float64 reference: see the provider's header.
 */
export type LogitsMode = "target" | "full";

/** The controlledEvaluate request of the "target" mode for one position (see LogitsMode). */
export function targetRequest(target: number) {
  return {
    generateNext: {
      token: true,
      logits: { filter: { tokens: [target], includeSelected: true } },
      totalLogitWeight: true,
      options: { temperature: 0 },
    },
  };
}

/** The target's log-probability and greedy flag from a "target"-mode output (see LogitsMode). */
export function targetLogprob(
  next: { token?: number | null; logits?: Map<number, number>; totalLogitWeight?: number },
  target: number,
): { logprob: number; greedy: boolean } {
  const argmax = next.token;
  const logit = next.logits?.get(target);
  const max = argmax == null ? undefined : next.logits?.get(argmax);
  const w = next.totalLogitWeight;
  if (argmax == null || max === undefined || w === undefined) {
    throw new ProviderError("llamacpp: no target logit returned", { retryable: false });
  }
  if (logit === undefined || !(w > 0) || !Number.isFinite(max)) {
    return { logprob: Number.NEGATIVE_INFINITY, greedy: argmax === target };
  }
  return { logprob: logit - max - Math.log(w), greedy: argmax === target };
}
