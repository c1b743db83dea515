/**
 * One loaded GGUF model with one llama.cpp context sequence. All work on it is serialized through a
 * queue that runs next the job sharing the longest token prefix with the sequence's KV state, so the
 * choices of a multiple-choice item evaluate their shared context once.
 */
import { statSync } from "node:fs";
import { Template } from "@huggingface/jinja";
import { UserError } from "../../util/errors.js";
import type { ChatMessage, GenerationParams } from "../types.js";
import { ProviderError } from "../types.js";
import { type GpuOption, getLlamaBackend, type Llama, loadNodeLlamaCpp } from "./loader.js";
import { type Distribution, type LogitsMode, targetLogprob, targetRequest, topOf } from "./logits.js";
import { commonPrefixLength, logitStats } from "./windows.js";

type LlamaModel = Awaited<ReturnType<Llama["loadModel"]>>;
type LlamaContext = Awaited<ReturnType<LlamaModel["createContext"]>>;
type LlamaContextSequence = ReturnType<LlamaContext["getSequence"]>;

export interface EngineOptions {
  /** Evaluation threads; undefined: measured at load (see measureThreads). */
  threads?: number;
  /** Context size in tokens; default min(training context, 4096). */
  ctx?: number;
  /** Make the default context at least this large (a configured max_length). */
  minCtx?: number;
  gpu?: GpuOption;
  /** KV cache precision; default f32. */
  kv?: KvType;
  /** Flash attention; default off. */
  flashAttention?: boolean;
  /** Reuse the KV state of a shared token prefix (default true; off only to measure what it saves). */
  prefixReuse?: boolean;
}

export type KvType = "f32" | "f16";

/**
 * Context settings that keep log-likelihoods exact. Measured on stories260K against a float64 reference:
 * f32 KV without flash attention stays within 4e-5 nats per token; the f16 KV cache or llama.cpp's CPU
 * flash attention (which works in f16) drift up to 4e-2, beyond what a scoring engine should allow.
 */
function contextPrecision(opts: EngineOptions) {
  const kv = opts.kv === "f16" ? "F16" : "F32";
  return {
    flashAttention: opts.flashAttention ?? false,
    experimentalKvCacheKeyType: kv,
    experimentalKvCacheValueType: kv,
  } as const;
}

export interface EngineInfo {
  path: string;
  /** Tokens the context holds. */
  contextSize: number;
  /** Context the model was trained with (GGUF metadata). */
  trainContextSize: number;
  threads: number;
  /** How the thread count was chosen, with the measured tokens/s when it was measured. */
  threadChoice: { how: "configured" | "measured" | "large-model"; tokensPerSecond?: Record<number, number> };
  bos: number | null;
  eos: number | null;
  /** Whether the GGUF asks for BOS in front of text (tokenizer.ggml.add_bos_token, or llama.cpp's default). */
  addBos: boolean;
  /** The GGUF's chat template, if it has one. */
  chatTemplate?: string;
}

/** One scored token: its log-probability, whether it was the argmax, and the top alternatives. */
export interface ScoredToken {
  token: number;
  logprob: number;
  greedy: boolean;
  top: Array<{ token: number; logprob: number }>;
}

// llama.cpp falls back to ChatML when a GGUF has no template (llama-server does the same).
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

const DEFAULT_CTX_CAP = 4096;
export const DEFAULT_SEED = 1234;

interface Job {
  key: readonly number[];
  run: () => Promise<void>;
  passedOver: number;
}

function aborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new ProviderError("llamacpp: request aborted", { retryable: false });
}

/** Wraps failures from llama.cpp so the scheduler sees a ProviderError; UserErrors pass through. */
function asProviderError(e: unknown): Error {
  if (e instanceof ProviderError || e instanceof UserError) return e;
  return new ProviderError(`llamacpp: ${(e as Error)?.message ?? String(e)}`, { retryable: false });
}

const threadChoices = new Map<string, Promise<{ threads: number; choice: EngineInfo["threadChoice"] }>>();

/**
 * One round of the provider's real work pattern: a 32-token context, four 16-token continuations with
 * logits at every position (the choices of one item), then 16 greedy steps. Returns milliseconds, or
 * null when the first batch alone took longer than `bailMs` (a compute-bound model).
 */
async function workloadRound(
  seq: LlamaContextSequence,
  sample: number[],
  bailMs: number,
): Promise<number | null> {
  const t0 = performance.now();
  await seq.evaluateWithoutGeneratingNewTokens(sample.slice(0, 32) as any);
  if (performance.now() - t0 > bailMs) {
    await seq.clearHistory();
    return null;
  }
  for (let k = 0; k < 4; k++) {
    await seq.eraseContextTokenRanges([{ start: 32, end: seq.nextTokenIndex }]);
    await seq.controlledEvaluate(
      sample.slice(32, 48).map((t) => [t, { generateNext: { logits: true } }]) as any,
    );
  }
  let n = 0;
  for await (const _ of seq.evaluate([sample[48]] as any, { temperature: 0 })) if (++n >= 16) break;
  const dt = performance.now() - t0;
  await seq.clearHistory();
  return dt;
}

/**
 * Picks the faster of 1 thread and all math cores by timing the real work pattern (workloadRound) with
 * each. A batch-only timing misleads: between decodes the idle ggml workers spin and take the cores
 * from the logits and sampling work, so on 2 busy cores stories260K scored ~4x slower with 2 threads
 * although a lone 64-token batch was faster. A model whose 32-token batch takes >250 ms on one thread is
 * compute-bound and gets all cores without timing more.
 */
async function measureThreads(
  llama: Llama,
  model: LlamaModel,
  opts: EngineOptions,
): Promise<{ threads: number; choice: EngineInfo["threadChoice"] }> {
  const cores = Math.max(1, llama.cpuMathCores);
  if (cores === 1) return { threads: 1, choice: { how: "measured", tokensPerSecond: {} } };
  let sample = model.tokenize(
    "Once upon a time, there was a little girl who liked to read books about the sea. ",
  ) as number[];
  if (sample.length === 0) sample = [model.tokens.bos ?? 0];
  while (sample.length < 64) sample = sample.concat(sample);
  sample = sample.slice(0, 64);
  // Tokens evaluated per round: 32 + 4 * 16 + 16.
  const perRound = 112;
  const tps: Record<number, number> = {};
  for (const threads of [1, cores]) {
    const ctx = await model.createContext({
      contextSize: 256,
      threads,
      batchSize: 64,
      ...contextPrecision(opts),
    });
    try {
      const seq = ctx.getSequence();
      let best = Number.POSITIVE_INFINITY;
      for (let r = 0; r < 4; r++) {
        const dt = await workloadRound(seq, sample, threads === 1 ? 250 : Number.POSITIVE_INFINITY);
        if (dt === null) return { threads: cores, choice: { how: "large-model" } };
        if (r > 0) best = Math.min(best, dt);
        // Clearly slower than one thread: no need to time more.
        if (r > 0 && threads > 1 && (perRound * 1000) / dt < tps[1] / 3) break;
      }
      tps[threads] = Math.round((perRound * 1000) / best);
    } finally {
      await ctx.dispose();
    }
  }
  const threads = tps[cores] > tps[1] ? cores : 1;
  return { threads, choice: { how: "measured", tokensPerSecond: tps } };
}

export class Engine {
  readonly info: EngineInfo;
  private readonly model: LlamaModel;
  private readonly context: LlamaContext;
  private readonly seq: LlamaContextSequence;
  private readonly pending: Job[] = [];
  private busy = false;
  /** Log-softmax at one position of the KV state, kept so a shared context needs no re-evaluation. */
  private boundary: ({ pos: number } & Distribution) | null = null;
  private template?: Template;
  private closed = false;
  private readonly prefixReuse: boolean;

  private constructor(model: LlamaModel, context: LlamaContext, info: EngineInfo, prefixReuse: boolean) {
    this.model = model;
    this.context = context;
    this.seq = context.getSequence();
    this.info = info;
    this.prefixReuse = prefixReuse;
  }

  /** How many leading tokens of `tokens` the KV state already holds. */
  private reusable(tokens: readonly number[]): number {
    return this.prefixReuse ? commonPrefixLength(this.seq.contextTokens as number[], tokens) : 0;
  }

  static async load(path: string, opts: EngineOptions = {}): Promise<Engine> {
    await loadNodeLlamaCpp();
    const llama = await getLlamaBackend(opts.gpu ?? "auto");
    let model: LlamaModel;
    try {
      statSync(path);
      model = await llama.loadModel({ modelPath: path });
    } catch (e) {
      throw new UserError(`llamacpp: cannot load model ${path}: ${(e as Error).message}`, { field: "model" });
    }
    try {
      let threadInfo: { threads: number; choice: EngineInfo["threadChoice"] };
      if (opts.threads !== undefined) threadInfo = { threads: opts.threads, choice: { how: "configured" } };
      else {
        const key = JSON.stringify([
          path,
          opts.gpu ?? "auto",
          opts.kv ?? "f32",
          opts.flashAttention ?? false,
        ]);
        let p = threadChoices.get(key);
        if (!p) {
          p = measureThreads(llama, model, opts);
          threadChoices.set(key, p);
          p.catch(() => threadChoices.delete(key));
        }
        threadInfo = await p;
      }
      const train = model.trainContextSize || DEFAULT_CTX_CAP;
      const contextSize = opts.ctx ?? Math.max(Math.min(train, DEFAULT_CTX_CAP), opts.minCtx ?? 0);
      const context = await model.createContext({
        contextSize,
        threads: threadInfo.threads,
        batchSize: Math.min(contextSize, 512),
        sequences: 1,
        ...contextPrecision(opts),
      });
      const md = model.fileInfo.metadata as { tokenizer?: { chat_template?: unknown } };
      const chatTemplate =
        typeof md.tokenizer?.chat_template === "string" ? md.tokenizer.chat_template : undefined;
      return new Engine(
        model,
        context,
        {
          path,
          contextSize,
          trainContextSize: train,
          threads: threadInfo.threads,
          threadChoice: threadInfo.choice,
          bos: model.tokens.bos,
          eos: model.tokens.eos,
          addBos: model.tokens.shouldPrependBosToken && model.tokens.bos !== null,
          chatTemplate,
        },
        opts.prefixReuse ?? true,
      );
    } catch (e) {
      await model.dispose();
      if (e instanceof UserError) throw e;
      throw new UserError(`llamacpp: cannot create a context for ${path}: ${(e as Error).message}`, {
        field: "model",
        hint: "try a smaller ctx=N",
      });
    }
  }

  /** Text to tokens, without BOS. `special` parses control-token text such as `<|im_end|>`. */
  tokenize(text: string, special = false): number[] {
    if (text.length === 0) return [];
    return this.model.tokenize(text, special) as number[];
  }

  /** Tokens to text; `after` gives the preceding tokens so leading spaces come out right. */
  detokenize(tokens: readonly number[], after: readonly number[] = []): string {
    if (tokens.length === 0) return "";
    return this.model.detokenize(tokens as any, false, after.length > 0 ? (after as any) : undefined);
  }

  isEog(token: number): boolean {
    return this.model.isEogToken(token as any);
  }

  /** Runs `fn` alone on the sequence; among waiting jobs, the one sharing most of `key` with the KV state goes first. */
  exclusive<T>(key: readonly number[], fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const job: Job = {
        key,
        passedOver: 0,
        run: async () => {
          signal?.removeEventListener("abort", onAbort);
          try {
            if (this.closed) throw new ProviderError("llamacpp: model closed", { retryable: false });
            aborted(signal);
            resolve(await fn());
          } catch (e) {
            reject(asProviderError(e));
          }
        },
      };
      // A request aborted while it waits leaves the queue at once.
      const onAbort = () => {
        const i = this.pending.indexOf(job);
        if (i >= 0) {
          this.pending.splice(i, 1);
          reject(new ProviderError("llamacpp: request aborted", { retryable: false }));
        }
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.pending.push(job);
      this.pump();
    });
  }

  private pump(): void {
    if (this.busy || this.pending.length === 0) return;
    let pick = 0;
    // Bounded reordering: the oldest job waits for at most 64 better-matching ones.
    if (this.pending.length > 1 && this.pending[0].passedOver < 64) {
      const state = this.seq.contextTokens as number[];
      let best = commonPrefixLength(state, this.pending[0].key);
      for (let i = 1; i < this.pending.length; i++) {
        const n = commonPrefixLength(state, this.pending[i].key);
        if (n > best) {
          best = n;
          pick = i;
        }
      }
      if (pick !== 0) this.pending[0].passedOver++;
    }
    const [job] = this.pending.splice(pick, 1);
    this.busy = true;
    job.run().finally(() => {
      this.busy = false;
      this.pump();
    });
  }

  /** Drops the KV state from position `keep` on. */
  private async truncate(keep: number): Promise<void> {
    if (this.boundary && this.boundary.pos >= keep) this.boundary = null;
    const next = this.seq.nextTokenIndex;
    if (next <= keep) return;
    if (keep === 0) await this.seq.clearHistory();
    else await this.seq.eraseContextTokenRanges([{ start: keep, end: next }]);
  }

  /**
   * Log-probabilities of `tokens[firstScored..]`, each given all tokens before it. Call inside `exclusive`.
   * Reuses the longest prefix of the KV state; the logits at the context boundary are kept, so scoring
   * another continuation of the same context evaluates only the continuation.
   *
   * `logits` picks how a position is read (see LogitsMode): "target" (used only when `top` is 0) reads
   * every scored position as just the target's logit, the argmax and the max-shifted normaliser, and
   * re-evaluates the last context token instead of keeping its distribution (another continuation
   * needs another token there; one more token in the batch is cheaper than reading the vocabulary);
   * "full" reads every position's whole vocabulary and keeps the boundary's.
   */
  async score(
    tokens: readonly number[],
    firstScored: number,
    top = 0,
    logits: LogitsMode = "target",
  ): Promise<ScoredToken[]> {
    if (firstScored < 1 || firstScored > tokens.length) throw new RangeError("firstScored out of range");
    if (tokens.length - 1 > this.seq.contextSize) {
      throw new ProviderError(
        `llamacpp: ${tokens.length - 1} tokens exceed the context of ${this.seq.contextSize}`,
        {
          retryable: false,
        },
      );
    }
    const targetOnly = logits === "target" && top <= 0;
    const need = firstScored - 1;
    const input = tokens.slice(0, -1);
    const common = this.reusable(input);
    const useBoundary = this.boundary?.pos === need && common > need;
    const keep = Math.min(common, useBoundary ? need + 1 : need);
    await this.truncate(keep);
    const items = input.slice(keep).map((t, j) => {
      const p = keep + j;
      if (p < need) return t;
      if (!targetOnly || p === need) return [t, { generateNext: { logits: true } }] as const;
      return [t, targetRequest(tokens[p + 1])] as const;
    });
    const outs = items.length > 0 ? await this.seq.controlledEvaluate(items as any) : [];
    const result: ScoredToken[] = [];
    for (let p = need; p < input.length; p++) {
      const target = tokens[p + 1];
      if (targetOnly && p > need) {
        const next = outs[p - keep]?.next;
        if (!next) throw new ProviderError("llamacpp: no logits returned", { retryable: false });
        result.push({ token: target, ...targetLogprob(next, target), top: [] });
        continue;
      }
      let dist: Distribution;
      if (p < keep) dist = this.boundary!;
      else {
        const logits = outs[p - keep]?.next.logits as Map<number, number> | undefined;
        if (!logits) throw new ProviderError("llamacpp: no logits returned", { retryable: false });
        dist = { logits, ...logitStats(logits) };
        if (p === need) this.boundary = { pos: p, ...dist };
      }
      const logit = dist.logits.get(target);
      result.push({
        token: target,
        logprob: logit === undefined ? Number.NEGATIVE_INFINITY : logit - dist.lse,
        greedy: dist.argmax === target,
        top: top > 0 ? topOf(dist, top) : [],
      });
    }
    return result;
  }

  /**
   * The forward pass `score` runs for the same arguments (same KV reuse, same tokens evaluated) with
   * nothing scored: the raw-throughput baseline of bench/local-model. With `readLogits`, it also fetches
   * the logits `score` reads (same positions) and discards them, which separates the cost of getting
   * logits out of llama.cpp from that of scoring. Returns the number of tokens evaluated. Call inside
   * `exclusive`.
   */
  async forward(tokens: readonly number[], firstScored: number, readLogits = false): Promise<number> {
    if (firstScored < 1 || firstScored > tokens.length) throw new RangeError("firstScored out of range");
    const need = firstScored - 1;
    const input = tokens.slice(0, -1);
    const keep = Math.min(this.reusable(input), firstScored);
    await this.truncate(keep);
    const items = input
      .slice(keep)
      .map((t, j) =>
        readLogits && keep + j >= need ? ([t, { generateNext: { logits: true } }] as const) : t,
      );
    if (items.length > 0) await this.seq.controlledEvaluate(items as any);
    return items.length;
  }

  /** Chat messages through the GGUF's chat template (ChatML when it has none), as tokens with BOS. */
  chatTokens(messages: ChatMessage[]): number[] {
    this.template ??= new Template(this.info.chatTemplate ?? CHATML_TEMPLATE);
    const text = this.template.render({
      messages,
      add_generation_prompt: true,
      bos_token: this.model.tokens.bosString ?? "",
      eos_token: this.model.tokens.eosString ?? "",
    });
    const tokens = this.tokenize(text, true);
    // Templates usually write the BOS text themselves; add it only when they did not.
    if (this.info.addBos && tokens[0] !== this.info.bos) tokens.unshift(this.info.bos!);
    return tokens;
  }

  /**
   * Generates after `prompt` (tokens including any BOS): greedy at temperature 0, else sampled with
   * `seed + sampleIndex`; stops at EOG, `max_gen_toks` or the first stop sequence (cut before it).
   * Call inside `exclusive`.
   */
  async generate(
    prompt: number[],
    params: GenerationParams,
    maxLength: number,
    sampleIndex = 0,
    signal?: AbortSignal,
  ): Promise<{ text: string; promptTokens: number; outputTokens: number; truncatedTokens: number }> {
    let maxGen = Math.min(Math.max(0, Math.floor(params.max_gen_toks)), maxLength - 1);
    // lm-eval keeps the last max_length - max_gen_toks prompt tokens.
    let truncatedTokens = 0;
    if (prompt.length + maxGen > maxLength) {
      truncatedTokens = prompt.length - (maxLength - maxGen);
      prompt = prompt.slice(truncatedTokens);
    }
    if (prompt.length === 0) prompt = [this.info.bos ?? this.info.eos ?? 0];
    maxGen = Math.min(maxGen, this.seq.contextSize - prompt.length);
    if (maxGen <= 0) return { text: "", promptTokens: prompt.length, outputTokens: 0, truncatedTokens };
    const keep = Math.min(this.reusable(prompt), prompt.length - 1);
    await this.truncate(keep);
    const temperature = params.temperature ?? 0;
    const sampling =
      temperature > 0
        ? {
            temperature,
            topP: params.top_p ?? 1,
            topK: 0,
            minP: 0,
            seed: ((params.seed ?? DEFAULT_SEED) + sampleIndex) >>> 0,
          }
        : { temperature: 0 };
    const stops = params.until.filter((s) => s.length > 0);
    const longestStop = stops.reduce((m, s) => Math.max(m, s.length), 0);
    const after = prompt.slice(-8);
    const out: number[] = [];
    let text = "";
    for await (const token of this.seq.evaluate(prompt.slice(keep) as any, {
      ...sampling,
      yieldEogToken: false,
    })) {
      out.push(token as number);
      const from = Math.max(0, text.length - longestStop);
      text = this.detokenize(out, after);
      if (stops.length > 0 && stops.some((s) => text.indexOf(s, from) >= 0)) break;
      if (out.length >= maxGen) break;
      aborted(signal);
    }
    let cut = text.length;
    for (const s of stops) {
      const i = text.indexOf(s);
      if (i >= 0 && i < cut) cut = i;
    }
    return {
      text: text.slice(0, cut),
      promptTokens: prompt.length,
      outputTokens: out.length,
      truncatedTokens,
    };
  }

  async dispose(): Promise<void> {
    this.closed = true;
    await this.context.dispose();
    await this.model.dispose();
  }
}
