/**
 * A judge model behind the engine's Scheduler, so judge calls are cached, deduplicated and retried
 * like any other request. Parse failures are retried here as new sampled requests with their own
 * sample indices (a cached bad answer is never served again), a bounded number of times.
 */
import type { Scheduler } from "../engine/scheduler.js";
import type { ChatMessage, ModelProvider } from "../models/types.js";
import type { Parsed } from "./parse.js";

export interface JudgeClientOptions {
  /** Temperature of the first attempt (default 0, as FastChat). */
  temperature?: number;
  /** max_tokens of a judgment (default 2048, as FastChat for OpenAI judges). */
  maxTokens?: number;
  /** Seed sent with sampled requests (providers that take one shift it by the sample index). */
  seed?: number;
  /** New attempts after an unparseable judgment (default 2). */
  parseRetries?: number;
  /** Temperature of those new attempts (default 0.7): a greedy retry would say the same thing. */
  retryTemperature?: number;
}

export interface Attempt {
  text: string;
  /** Why the text could not be parsed; absent when it parsed. */
  error?: string;
  sampleIndex?: number;
  temperature: number;
  cached: boolean;
}

/** The result of asking until parsed or out of attempts; failed ones keep every output. */
export type Asked<T> =
  | { ok: true; value: T; attempts: Attempt[] }
  | { ok: false; error: string; attempts: Attempt[] };

export interface JudgeCallStats {
  calls: number;
  cached: number;
  parseFailures: number;
  inputTokens: number;
  outputTokens: number;
}

/** Chat prompt as plain text for log-likelihood scoring (completions-style judges). */
export function renderForScoring(messages: readonly ChatMessage[], prefix: string): string {
  const parts = messages.map(
    (m) => `### ${m.role === "system" ? "System" : m.role === "user" ? "User" : "Assistant"}:\n${m.content}`,
  );
  return `${parts.join("\n\n")}\n\n### Assistant:\n${prefix}`;
}

export class JudgeClient {
  readonly stats: JudgeCallStats = { calls: 0, cached: 0, parseFailures: 0, inputTokens: 0, outputTokens: 0 };
  readonly temperature: number;
  readonly maxTokens: number;
  readonly parseRetries: number;
  readonly retryTemperature: number;
  readonly seed: number | undefined;

  constructor(
    readonly provider: ModelProvider,
    readonly scheduler: Scheduler,
    opts: JudgeClientOptions = {},
  ) {
    this.temperature = opts.temperature ?? 0;
    this.maxTokens = opts.maxTokens ?? 2048;
    this.parseRetries = opts.parseRetries ?? 2;
    this.retryTemperature = opts.retryTemperature ?? 0.7;
    this.seed = opts.seed;
  }

  get spec(): string {
    return this.provider.spec;
  }

  /** True when the judge can score continuations (needed for probability-weighted scores). */
  get hasLogprobs(): boolean {
    return this.provider.capabilities.has("loglikelihood");
  }

  async complete(
    messages: ChatMessage[],
    opts: { temperature?: number; sampleIndex?: number; maxTokens?: number } = {},
  ): Promise<{ text: string; cached: boolean }> {
    const temperature = opts.temperature ?? this.temperature;
    const [served] = await this.scheduler.serveAll([
      {
        kind: "generate_until",
        prompt: messages,
        params: {
          until: [],
          max_gen_toks: opts.maxTokens ?? this.maxTokens,
          temperature,
          ...(this.seed !== undefined ? { seed: this.seed } : {}),
        },
        ...(opts.sampleIndex !== undefined ? { sampleIndex: opts.sampleIndex } : {}),
      },
    ]);
    this.count(served);
    const text = served.response.kind === "generate_until" ? served.response.text : "";
    return { text, cached: served.cached };
  }

  /**
   * Asks until the output parses: attempt 0 as configured (or at `temperature`, with `sampleBase`),
   * then up to `parseRetries` new samples. `sampleBase` keeps the indices of repeated samples apart.
   */
  async ask<T>(
    messages: ChatMessage[],
    parse: (text: string) => Parsed<T>,
    opts: { sampleBase?: number; temperature?: number } = {},
  ): Promise<Asked<T>> {
    const attempts: Attempt[] = [];
    const base = opts.sampleBase ?? 0;
    for (let k = 0; k <= this.parseRetries; k++) {
      const first = k === 0;
      const temperature = first
        ? (opts.temperature ?? this.temperature)
        : Math.max(this.retryTemperature, opts.temperature ?? 0);
      // The first attempt of the first sample is the plain request (shared with other tools' caches).
      const sampleIndex = first && base === 0 ? undefined : base + k;
      const { text, cached } = await this.complete(messages, { temperature, sampleIndex });
      const p = parse(text);
      const attempt: Attempt = {
        text,
        temperature,
        cached,
        ...(sampleIndex !== undefined ? { sampleIndex } : {}),
      };
      if (p.ok) {
        attempts.push(attempt);
        return { ok: true, value: p.value, attempts };
      }
      this.stats.parseFailures++;
      attempts.push({ ...attempt, error: p.error });
    }
    const last = attempts[attempts.length - 1];
    return { ok: false, error: `unparseable after ${attempts.length} attempts: ${last.error}`, attempts };
  }

  /** Probabilities of `options` after `context`, normalised over the options (one request each). */
  async optionProbabilities(context: string, options: readonly string[]): Promise<number[]> {
    const served = await this.scheduler.serveAll(
      options.map((continuation) => ({ kind: "loglikelihood", context, continuation })),
    );
    const lps = served.map((s) => {
      this.count(s);
      return s.response.kind === "loglikelihood" ? s.response.logprob : Number.NEGATIVE_INFINITY;
    });
    const max = Math.max(...lps);
    const w = lps.map((lp) => Math.exp(lp - max));
    const z = w.reduce((a, b) => a + b, 0);
    return w.map((x) => x / z);
  }

  private count(s: { cached: boolean; usage: { inputTokens: number; outputTokens: number } }): void {
    this.stats.calls++;
    if (s.cached) this.stats.cached++;
    else {
      this.stats.inputTokens += s.usage.inputTokens;
      this.stats.outputTokens += s.usage.outputTokens;
    }
  }
}
