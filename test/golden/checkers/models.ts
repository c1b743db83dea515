import path from "node:path";
import {
  createLlamaCppProvider,
  type LlamaCppProvider,
  loadNodeLlamaCpp,
} from "../../../src/models/llamacpp/provider.js";
import { UserError } from "../../../src/util/errors.js";
import type { CheckerModule, GoldenCase, GoldenContext } from "../types.js";

/** Tolerances from ../shared/golden/models/README.md (float32 engine vs float64 reference). */
const TOKEN_TOL = 2e-2;
const SUM_TOL = 5e-2;
/** Items whose top two expected scores differ by less than this (in nats) may flip under float32. */
const FLIP_MARGIN = 0.05;

/**
 * Totals the README states for its case files (model, task, item count). Other files, such as another
 * model's or a subset, are compared with their cases' own expected totals.
 */
const README_TOTALS: Record<string, Record<string, { n: number; acc: number; acc_norm: number }>> = {
  stories260K: {
    hellaswag: { n: 200, acc: 0.28, acc_norm: 0.24 },
    arc_challenge: { n: 200, acc: 0.195, acc_norm: 0.165 },
  },
};

type Provider = { provider?: LlamaCppProvider; error?: string };

/** One provider per model file per case file; a missing node-llama-cpp becomes a failure with its install message. */
function providerFor(c: GoldenCase, ctx: GoldenContext): Promise<Provider> {
  const file = path.resolve(ctx.dir, c.model_file);
  const key = `model:${file}`;
  let p = ctx.state.get(key) as Promise<Provider> | undefined;
  if (!p) {
    p = (async (): Promise<Provider> => {
      try {
        await loadNodeLlamaCpp();
        const provider = createLlamaCppProvider(`llamacpp:${file}`);
        await provider.info();
        return { provider };
      } catch (e) {
        if (e instanceof UserError) return { error: e.format() };
        throw e;
      }
    })();
    ctx.state.set(key, p);
  }
  return p;
}

function firstDiff(a: number[], b: number[]): string | null {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return `at ${i}: got ${a[i] ?? "<end>"}, expected ${b[i] ?? "<end>"}`;
  }
  return null;
}

async function checkLoglikelihood(c: GoldenCase, ctx: GoldenContext): Promise<string | null> {
  const { provider, error } = await providerFor(c, ctx);
  if (!provider) return error!;
  const exp = c.expected as { logprob: number; is_greedy: boolean; token_logprobs: number[] };
  const d = await provider.loglikelihoodDetailed(c.context, c.continuation);
  const ctxDiff = firstDiff(d.contextTokens, c.context_tokens);
  if (ctxDiff) return `context tokens differ ${ctxDiff}`;
  const contDiff = firstDiff(d.continuationTokens, c.continuation_tokens);
  if (contDiff) return `continuation tokens differ ${contDiff}`;
  for (let i = 0; i < exp.token_logprobs.length; i++) {
    const err = Math.abs(d.tokenLogprobs[i] - exp.token_logprobs[i]);
    if (!(err <= TOKEN_TOL)) {
      return `token ${i} logprob ${d.tokenLogprobs[i]} vs ${exp.token_logprobs[i]} (|err| ${err.toExponential(2)} > ${TOKEN_TOL})`;
    }
  }
  const err = Math.abs(d.logprob - exp.logprob);
  if (!(err <= SUM_TOL))
    return `logprob ${d.logprob} vs ${exp.logprob} (|err| ${err.toExponential(2)} > ${SUM_TOL})`;
  if (d.isGreedy !== exp.is_greedy) return `is_greedy ${d.isGreedy}, expected ${exp.is_greedy}`;
  return null;
}

/** numpy-style argmax: the first index of the maximum. */
function argmax(xs: number[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

/** Whether the top two of `scores` are within `margin`, so float32 noise may swap them. */
function nearTie(scores: number[], margin: number): boolean {
  if (scores.length < 2) return false;
  const s = [...scores].sort((a, b) => b - a);
  return s[0] - s[1] < margin;
}

const METRICS = ["acc", "acc_norm", "acc_bytes"] as const;
type Metric = (typeof METRICS)[number];

interface TaskTotals {
  n: number;
  got: Record<Metric, number>;
  expected: Record<Metric, number>;
  mayFlip: Record<Metric, number>;
}

const zero = (): Record<Metric, number> => ({ acc: 0, acc_norm: 0, acc_bytes: 0 });

function totalsOf(ctx: GoldenContext): Map<string, TaskTotals> {
  let t = ctx.state.get("model_mc:totals") as Map<string, TaskTotals> | undefined;
  if (!t) ctx.state.set("model_mc:totals", (t = new Map()));
  return t;
}

async function checkMc(c: GoldenCase, ctx: GoldenContext): Promise<string | null> {
  const { provider, error } = await providerFor(c, ctx);
  if (!provider) return error!;
  ctx.state.set("model_mc:model", c.model);
  const exp = c.expected as { loglikelihoods: number[]; acc: number; acc_norm: number; acc_bytes: number };
  const choices = c.choices as string[];
  const lls: number[] = [];
  for (const choice of choices) lls.push((await provider.loglikelihoodDetailed(c.context, choice)).logprob);

  // lm-eval: acc_norm divides by the character length (Python len: code points), acc_bytes by UTF-8 bytes.
  const chars = choices.map((s) => [...s].length);
  const bytes = choices.map((s) => Buffer.byteLength(s, "utf8"));
  const scores: Record<Metric, (ll: number[]) => number[]> = {
    acc: (ll) => ll,
    acc_norm: (ll) => ll.map((x, i) => x / chars[i]),
    acc_bytes: (ll) => ll.map((x, i) => x / bytes[i]),
  };
  // A raw error of FLIP_MARGIN shrinks by the shortest length once normalized.
  const margins: Record<Metric, number> = {
    acc: FLIP_MARGIN,
    acc_norm: FLIP_MARGIN / Math.max(1, Math.min(...chars)),
    acc_bytes: FLIP_MARGIN / Math.max(1, Math.min(...bytes)),
  };

  const task = String(c.task ?? "default");
  const totals = totalsOf(ctx);
  let t = totals.get(task);
  if (!t) totals.set(task, (t = { n: 0, got: zero(), expected: zero(), mayFlip: zero() }));
  t.n++;
  const problems: string[] = [];
  for (const m of METRICS) {
    const got = argmax(scores[m](lls)) === c.gold ? 1 : 0;
    const flip = nearTie(scores[m](exp.loglikelihoods), margins[m]);
    t.got[m] += got;
    t.expected[m] += exp[m];
    if (flip) t.mayFlip[m]++;
    if (got !== exp[m] && !flip) problems.push(`${m} ${got}, expected ${exp[m]}`);
  }
  for (let i = 0; i < lls.length; i++) {
    const err = Math.abs(lls[i] - exp.loglikelihoods[i]);
    if (!(err <= SUM_TOL)) problems.push(`choice ${i} ll ${lls[i]} vs ${exp.loglikelihoods[i]}`);
  }
  return problems.length > 0 ? problems.join("; ") : null;
}

/** Totals per task: equal to the README's (or the cases') up to the items that may flip. */
function checkMcTotals(ctx: GoldenContext): string | null {
  const totals = totalsOf(ctx);
  const model = String(ctx.state.get("model_mc:model") ?? "");
  const problems: string[] = [];
  const summary: string[] = [];
  for (const [task, t] of totals) {
    for (const m of ["acc", "acc_norm"] as const) {
      const readme = README_TOTALS[model]?.[task];
      const stated = readme?.n === t.n ? readme[m] : undefined;
      const expected = stated ?? t.expected[m] / t.n;
      if (stated !== undefined && Math.abs(t.expected[m] / t.n - stated) > 1e-9) {
        problems.push(`${task} ${m}: cases total ${t.expected[m] / t.n} differs from the README's ${stated}`);
      }
      const got = t.got[m] / t.n;
      summary.push(`${task} ${m} ${got.toFixed(3)}`);
      if (Math.abs(got - expected) > t.mayFlip[m] / t.n + 1e-9) {
        problems.push(
          `${task} ${m} ${got.toFixed(3)}, expected ${expected.toFixed(3)} (±${t.mayFlip[m]} near-tie items)`,
        );
      }
    }
  }
  if (totals.size === 0) return "no multiple-choice item was scored";
  if (process.argv.includes("--verbose")) console.log(`  model_mc totals: ${summary.join(", ")}`);
  return problems.length > 0 ? problems.join("; ") : null;
}

/** Golden checkers for ../shared/golden/models (see its README). */
export const module: CheckerModule = {
  checkers: { model_loglikelihood: checkLoglikelihood, model_mc: checkMc },
  fileChecks: { model_mc: checkMcTotals },
};
