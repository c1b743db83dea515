/**
 * Token bookkeeping of lm-evaluation-harness, ported so local models score exactly as lm-eval's
 * HF backend would: `_encode_pair`, `get_rolling_token_windows` and `make_disjoint_window`.
 */

/**
 * lm-eval's `_encode_pair`: trailing whitespace of the context moves to the front of the continuation,
 * `whole = tok(context + continuation)`, `ctx = tok(context)`, `cont = whole[len(ctx):]`.
 */
export function encodePair(
  tokenize: (text: string) => number[],
  context: string,
  continuation: string,
): { context: number[]; continuation: number[] } {
  const trimmed = context.replace(/\s+$/, "");
  const moved = context.length - trimmed.length;
  if (moved > 0) {
    continuation = context.slice(trimmed.length) + continuation;
    context = trimmed;
  }
  const whole = tokenize(context + continuation);
  const ctx = tokenize(context);
  return { context: ctx, continuation: whole.slice(ctx.length) };
}

/** One scoring window: `context` conditions, `continuation` is scored. */
export interface TokenWindow {
  context: number[];
  continuation: number[];
}

/**
 * lm-eval's `get_rolling_token_windows`: every token is predicted exactly once, the first window
 * starts from `prefixToken`, later windows see up to `maxSeqLen` tokens of left context.
 */
export function rollingTokenWindows(
  tokens: number[],
  prefixToken: number,
  maxSeqLen: number,
  contextLen = 1,
): TokenWindow[] {
  if (!(contextLen >= 1 && contextLen <= maxSeqLen)) {
    throw new RangeError(`context_len ${contextLen} must be within [1, ${maxSeqLen}]`);
  }
  const out: TokenWindow[] = [];
  if (tokens.length === 0) return out;
  const predLen = maxSeqLen - contextLen + 1;
  let predicted = 0;
  const firstSeqLen = Math.min(maxSeqLen, tokens.length);
  out.push({
    context: [prefixToken, ...tokens.slice(0, firstSeqLen - 1)],
    continuation: tokens.slice(0, firstSeqLen),
  });
  predicted += firstSeqLen;
  while (predicted < tokens.length) {
    const windowPredLen = Math.min(tokens.length - predicted, predLen);
    const windowEnd = predicted + windowPredLen;
    out.push({
      context: tokens.slice(windowEnd - maxSeqLen - 1, windowEnd - 1),
      continuation: tokens.slice(windowEnd - windowPredLen, windowEnd),
    });
    predicted += windowPredLen;
  }
  return out;
}

/** lm-eval's `make_disjoint_window`: drop the context tokens that the continuation already covers. */
export function makeDisjointWindow(w: TokenWindow): TokenWindow {
  return {
    context: w.context.slice(0, w.context.length - (w.continuation.length - 1)),
    continuation: w.continuation,
  };
}

/**
 * The model input for scoring `continuation` after `context`, left-truncated to `maxLength` the way
 * lm-eval's `_loglikelihood_tokens` does: `(context + continuation)[-(maxLength + 1):]`.
 * `firstScored` is the index in `tokens` of the first continuation token.
 */
export function scoringInput(
  context: number[],
  continuation: number[],
  maxLength: number,
): { tokens: number[]; firstScored: number } {
  let tokens = [...context, ...continuation];
  if (tokens.length > maxLength + 1) tokens = tokens.slice(tokens.length - (maxLength + 1));
  return { tokens, firstScored: tokens.length - continuation.length };
}

/** Numerically stable log-softmax in float64 of float32 logits; also returns the first argmax. */
export function logSoftmax(logits: ArrayLike<number>): { logprobs: Float64Array; argmax: number } {
  const n = logits.length;
  let max = Number.NEGATIVE_INFINITY;
  let argmax = 0;
  for (let i = 0; i < n; i++) {
    if (logits[i] > max) {
      max = logits[i];
      argmax = i;
    }
  }
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(logits[i] - max);
  const lse = max + Math.log(sum);
  const logprobs = new Float64Array(n);
  for (let i = 0; i < n; i++) logprobs[i] = logits[i] - lse;
  return { logprobs, argmax };
}

/**
 * What scoring needs from one position's logits, without materializing the log-softmax: the float64
 * log-sum-exp (max-shifted, summed in float64) and the first argmax by token id. `logits` maps token id
 * to logit, as node-llama-cpp returns them. `logprob(t) = logit(t) - lse`.
 */
export function logitStats(logits: ReadonlyMap<number, number>): { lse: number; argmax: number } {
  let max = Number.NEGATIVE_INFINITY;
  let argmax = -1;
  for (const [t, v] of logits) {
    if (v > max || (v === max && t < argmax)) {
      max = v;
      argmax = t;
    }
  }
  if (argmax < 0 || max === Number.NEGATIVE_INFINITY)
    return { lse: Number.NEGATIVE_INFINITY, argmax: Math.max(0, argmax) };
  let sum = 0;
  for (const v of logits.values()) sum += Math.exp(v - max);
  return { lse: max + Math.log(sum), argmax };
}

/** Indices of the `k` largest values, largest first (ties: lower index first). */
export function topIndices(values: ArrayLike<number>, k: number): number[] {
  if (k <= 0) return [];
  const top: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (top.length === k) {
      if (v <= values[top[k - 1]]) continue;
      top.pop();
    }
    let j = top.length;
    top.push(i);
    while (j > 0 && values[top[j - 1]] < v) {
      top[j] = top[j - 1];
      j--;
    }
    top[j] = i;
  }
  return top;
}

/** Length of the common prefix of two token lists. */
export function commonPrefixLength(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}
