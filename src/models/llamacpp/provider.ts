/**
 * `llamacpp:<path.gguf>[?threads=N&ctx=N&max_length=N&gpu=auto|false]` and `llamacpp:hf:owner/repo/file.gguf`:
 * local GGUF models through node-llama-cpp (an optional peer dependency, imported lazily).
 * Log-likelihoods are exact: float64 log-softmax of the raw logits, tokens split the way
 * lm-evaluation-harness splits them, rolling windows as lm-eval builds them.
 *
 * Bad input: a missing or unreadable file, or one that does not start with the GGUF magic, is a UserError
 * (field `model`) when the provider is built; a corrupt GGUF is a UserError at load. An input longer than
 * the window is cut from the left as lm-eval does, and counted: `truncation()` (also `info().truncated`)
 * gives the requests cut and the tokens dropped, and `loglikelihoodDetailed` its `truncatedTokens`. An
 * empty continuation is a UserError, as lm-eval asserts a non-empty one.
 */
import { createHash } from "node:crypto";
import { closeSync, openSync, readSync, statSync } from "node:fs";
import path from "node:path";
import { didYouMean, UserError } from "../../util/errors.js";
import type { ModelProvider, ProviderResult, Request, RequestKind, TokenScore } from "../types.js";
import { ProviderError } from "../types.js";
import { Engine, type EngineInfo, type KvType, type ScoredToken } from "./engine.js";
import { type HfDownloadOptions, type HfRef, parseHfRef, resolveHfModel } from "./hf.js";
import { type GpuOption, type Importer, loadNodeLlamaCpp } from "./loader.js";
import type { LogitsMode } from "./logits.js";
import { encodePair, makeDisjointWindow, rollingTokenWindows, scoringInput } from "./windows.js";

export { INSTALL_COMMAND, INSTALL_MESSAGE, loadNodeLlamaCpp } from "./loader.js";

export interface LlamaCppOptions {
  /** Evaluation threads (spec `threads=N`); default: measured once per model at load. */
  threads?: number;
  /** Context size (spec `ctx=N`); default min(training context, 4096), at least `maxLength`. */
  ctx?: number;
  /** Longest token sequence scored or generated (spec `max_length=N`); default the context size. */
  maxLength?: number;
  /** llama.cpp backend (spec `gpu=`); default "auto", which uses the CPU when no GPU binary loads. */
  gpu?: GpuOption;
  /** KV cache precision (spec `kv=f32|f16`); default f32, which keeps log-likelihoods exact. */
  kv?: KvType;
  /** Flash attention (spec `flash_attn=1`); default off: llama.cpp's CPU kernel works in f16. */
  flashAttention?: boolean;
  /**
   * How scoring reads logits (spec `logits=target|full`, see logits.ts's LogitsMode); default "target":
   * the target token's logit, the argmax and a max-shifted float32 normaliser, computed natively. "full"
   * reads the whole vocabulary and normalises in float64. Top-k scoring (scoreText) always reads in full.
   */
  logits?: LogitsMode;
  /** Reuse the KV state of shared prefixes (default true); off only for measuring. */
  prefixReuse?: boolean;
  /** For `hf:` models. */
  download?: HfDownloadOptions;
  /** Replaces `import("node-llama-cpp")` (tests). */
  importer?: Importer;
}

export interface ParsedLlamaCppSpec {
  /** Absolute path of a local file, or undefined for `hf:`. */
  file?: string;
  hf?: HfRef;
  options: Pick<
    LlamaCppOptions,
    "threads" | "ctx" | "maxLength" | "gpu" | "kv" | "flashAttention" | "logits"
  >;
}

const QUERY_KEYS = ["threads", "ctx", "max_length", "gpu", "kv", "flash_attn", "logits"];

function positiveInt(spec: string, key: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) {
    throw new UserError(`bad ${key}='${value}' in '${spec}'`, {
      field: "model",
      expected: "a positive integer",
    });
  }
  return n;
}

/** Parses `llamacpp:<path.gguf>[?k=v&...]`; relative paths resolve against `cwd`. */
export function parseLlamaCppSpec(spec: string, cwd = process.cwd()): ParsedLlamaCppSpec {
  if (!spec.startsWith("llamacpp:")) {
    throw new UserError(`not a llamacpp spec: '${spec}'`, {
      field: "model",
      expected: "llamacpp:<path.gguf>",
    });
  }
  let rest = spec.slice("llamacpp:".length);
  const options: ParsedLlamaCppSpec["options"] = {};
  const q = rest.lastIndexOf("?");
  if (q >= 0 && /^[a-z_]+=/.test(rest.slice(q + 1))) {
    for (const [key, value] of new URLSearchParams(rest.slice(q + 1))) {
      if (key === "threads") options.threads = positiveInt(spec, key, value);
      else if (key === "ctx") options.ctx = positiveInt(spec, key, value);
      else if (key === "max_length") options.maxLength = positiveInt(spec, key, value);
      else if (key === "gpu") {
        const gpus = ["auto", "false", "cuda", "vulkan", "metal"];
        if (!gpus.includes(value)) {
          throw new UserError(`bad gpu='${value}' in '${spec}'`, {
            field: "model",
            expected: gpus.join(", "),
          });
        }
        options.gpu = value === "false" ? false : (value as GpuOption);
      } else if (key === "kv") {
        if (value !== "f32" && value !== "f16") {
          throw new UserError(`bad kv='${value}' in '${spec}'`, { field: "model", expected: "f32 or f16" });
        }
        options.kv = value;
      } else if (key === "flash_attn") {
        if (!["0", "1", "true", "false"].includes(value)) {
          throw new UserError(`bad flash_attn='${value}' in '${spec}'`, {
            field: "model",
            expected: "0 or 1",
          });
        }
        options.flashAttention = value === "1" || value === "true";
      } else if (key === "logits") {
        if (value !== "target" && value !== "full") {
          throw new UserError(`bad logits='${value}' in '${spec}'`, {
            field: "model",
            expected: "target or full",
          });
        }
        options.logits = value;
      } else {
        throw new UserError(`unknown option '${key}' in '${spec}'`, {
          field: "model",
          hint: didYouMean(key, QUERY_KEYS),
        });
      }
    }
    rest = rest.slice(0, q);
  }
  if (rest.length === 0) {
    throw new UserError(`missing model file in '${spec}'`, {
      field: "model",
      expected: "llamacpp:<path.gguf> or llamacpp:hf:<owner>/<repo>/<file>.gguf",
    });
  }
  if (rest.startsWith("hf:")) return { hf: parseHfRef(rest), options };
  return { file: path.resolve(cwd, rest), options };
}

/** A GGUF file starts with these four bytes. */
const GGUF_MAGIC = "GGUF";

/**
 * Size plus hashes of the first and last MiB: identifies a model file without reading gigabytes.
 * Throws a UserError when the file does not start with the GGUF magic, before llama.cpp sees it.
 */
function fingerprint(file: string): string {
  const size = statSync(file).size;
  const h = createHash("sha256").update(String(size));
  const fd = openSync(file, "r");
  try {
    const chunk = Buffer.alloc(Math.min(size, 1 << 20));
    readSync(fd, chunk, 0, chunk.length, 0);
    if (chunk.subarray(0, 4).toString("latin1") !== GGUF_MAGIC) {
      const head = chunk.subarray(0, 8).toString("latin1");
      throw new UserError(
        `${file} is not a GGUF file (${size === 0 ? "it is empty" : `it starts with ${JSON.stringify(head)}`})`,
        {
          field: "model",
          expected: 'a GGUF model file (starting with "GGUF")',
          hint: "convert checkpoints with llama.cpp's convert_hf_to_gguf.py",
        },
      );
    }
    h.update(chunk);
    readSync(fd, chunk, 0, chunk.length, Math.max(0, size - chunk.length));
    h.update(chunk);
  } finally {
    closeSync(fd);
  }
  return h.digest("hex").slice(0, 16);
}

interface EngineEntry {
  engine: Promise<Engine>;
  users: number;
}

// One load per process per file and load options; providers share it and release it on close().
const engines = new Map<string, EngineEntry>();

/** Result of scoring one continuation, with the tokens it used. */
export interface LoglikelihoodDetail {
  logprob: number;
  isGreedy: boolean;
  /** Context tokens as fed to the model, BOS included. */
  contextTokens: number[];
  continuationTokens: number[];
  tokenLogprobs: number[];
  /** Context tokens dropped from the left to fit max_length + 1 (lm-eval's truncation); 0 when it fit. */
  truncatedTokens: number;
}

/** Requests whose input was cut from the left to fit the model's window, and the tokens dropped. */
export interface TruncationCount {
  requests: number;
  tokens: number;
}

export class LlamaCppProvider implements ModelProvider {
  readonly id: string;
  readonly spec: string;
  readonly capabilities: ReadonlySet<RequestKind> = new Set<RequestKind>([
    "loglikelihood",
    "loglikelihood_rolling",
    "generate_until",
  ]);
  private readonly parsed: ParsedLlamaCppSpec;
  private readonly options: LlamaCppOptions;
  private entryKey?: string;
  private enginePromise?: Promise<Engine>;
  private closed = false;
  private readonly truncated: TruncationCount = { requests: 0, tokens: 0 };

  constructor(spec: string, options: LlamaCppOptions = {}) {
    this.spec = spec;
    this.parsed = parseLlamaCppSpec(spec);
    this.options = { ...this.parsed.options, ...stripUndefined(options) };
    const o = this.options;
    let ident: string;
    if (this.parsed.file) {
      try {
        ident = `${path.basename(this.parsed.file)}:fp=${fingerprint(this.parsed.file)}`;
      } catch (e) {
        if (e instanceof UserError) throw e;
        throw new UserError(
          `cannot read model file ${this.parsed.file}: ${(e as NodeJS.ErrnoException).code ?? e}`,
          {
            field: "model",
            expected: "a GGUF file",
          },
        );
      }
    } else {
      const r = this.parsed.hf!;
      ident = `hf:${r.owner}/${r.repo}/${r.file}@${r.revision}`;
    }
    // Options that change results belong in the identity (threads and gpu change only float rounding).
    this.id = `llamacpp:${ident}:ctx=${o.ctx ?? "auto"}:max_length=${o.maxLength ?? "auto"}`;
    if (o.kv === "f16") this.id += ":kv=f16";
    if (o.flashAttention) this.id += ":flash_attn=1";
    // The two logit paths agree to ~1e-5 nats, not bit for bit: cached results must not mix.
    this.id += `:logits=${o.logits ?? "target"}`;
    if (o.maxLength !== undefined && o.ctx !== undefined && o.maxLength > o.ctx) {
      throw new UserError(`max_length=${o.maxLength} exceeds ctx=${o.ctx} in '${spec}'`, { field: "model" });
    }
  }

  /** Loads the model (once per process); later calls return the same engine. */
  engine(): Promise<Engine> {
    if (this.closed)
      return Promise.reject(new ProviderError("llamacpp: provider closed", { retryable: false }));
    this.enginePromise ??= (async () => {
      if (this.options.importer) await loadNodeLlamaCpp(this.options.importer);
      else await loadNodeLlamaCpp();
      const file = this.parsed.file ?? (await resolveHfModel(this.parsed.hf!, this.options.download));
      const o = this.options;
      const load = {
        threads: o.threads,
        ctx: o.ctx,
        minCtx: o.maxLength,
        gpu: o.gpu,
        kv: o.kv,
        flashAttention: o.flashAttention,
        prefixReuse: o.prefixReuse,
      };
      const key = JSON.stringify([file, load]);
      let entry = engines.get(key);
      if (!entry) {
        const p = Engine.load(file, load);
        entry = { engine: p, users: 0 };
        engines.set(key, entry);
        p.catch(() => engines.delete(key));
      }
      entry.users++;
      this.entryKey = key;
      return entry.engine;
    })();
    this.enginePromise.catch(() => {
      this.enginePromise = undefined;
    });
    return this.enginePromise;
  }

  /**
   * What was loaded: context size, threads and how they were chosen, BOS handling, chat template; and
   * `truncated`, the requests so far whose input was left-truncated to fit max_length (see truncation()).
   */
  async info(): Promise<EngineInfo & { maxLength: number; truncated: TruncationCount }> {
    const e = await this.engine();
    return { ...e.info, maxLength: this.maxLength(e), truncated: this.truncation() };
  }

  /**
   * How many requests so far were longer than the window and cut from the left, as lm-eval does: a
   * loglikelihood keeps the last max_length + 1 tokens of context + continuation, a generation keeps the
   * last max_length - max_gen_toks prompt tokens. Rolling log-likelihoods never truncate (they use windows).
   */
  truncation(): TruncationCount {
    return { ...this.truncated };
  }

  private logitsMode(): LogitsMode {
    return this.options.logits ?? "target";
  }

  private recordTruncation(tokens: number): void {
    this.truncated.requests++;
    this.truncated.tokens += tokens;
  }

  private maxLength(e: Engine): number {
    const m = this.options.maxLength ?? e.info.contextSize;
    if (m > e.info.contextSize) {
      throw new UserError(`max_length=${m} exceeds the context size ${e.info.contextSize}`, {
        field: "model",
      });
    }
    return m;
  }

  /** Text to tokens as the model tokenizes it (no BOS). */
  async tokenize(text: string): Promise<number[]> {
    return (await this.engine()).tokenize(text);
  }

  /** The context and continuation tokens of lm-eval's `_encode_pair`, BOS in front of the context. */
  async encodePair(
    context: string,
    continuation: string,
  ): Promise<{ context: number[]; continuation: number[] }> {
    const e = await this.engine();
    return this.encodePairWith(e, context, continuation);
  }

  private encodePairWith(
    e: Engine,
    context: string,
    continuation: string,
  ): { context: number[]; continuation: number[] } {
    const pair = encodePair((t) => e.tokenize(t), context, continuation);
    const ctx = e.info.addBos ? [e.info.bos!, ...pair.context] : pair.context;
    // lm-eval scores an empty context from the prefix token (BOS, else EOS).
    if (ctx.length === 0) ctx.push(e.info.bos ?? e.info.eos ?? 0);
    return { context: ctx, continuation: pair.continuation };
  }

  /** Loglikelihood with the tokens and per-token log-probabilities behind it. */
  async loglikelihoodDetailed(
    context: string,
    continuation: string,
    signal?: AbortSignal,
  ): Promise<LoglikelihoodDetail> {
    const e = await this.engine();
    const pair = this.encodePairWith(e, context, continuation);
    const maxLength = this.maxLength(e);
    if (pair.continuation.length === 0) {
      // lm-eval asserts a non-empty continuation (`_loglikelihood_tokens`); so does assay.
      throw new UserError(
        `llamacpp: empty continuation after context ${JSON.stringify(context.slice(-40))}: a log-likelihood needs at least one continuation token`,
        { field: "continuation", hint: "check the task's doc_to_target / doc_to_choice" },
      );
    }
    if (pair.continuation.length > maxLength) {
      throw new ProviderError(
        `llamacpp: continuation of ${pair.continuation.length} tokens exceeds max_length ${maxLength}`,
        { retryable: false },
      );
    }
    const { tokens, firstScored } = scoringInput(pair.context, pair.continuation, maxLength);
    const truncatedTokens = pair.context.length + pair.continuation.length - tokens.length;
    if (truncatedTokens > 0) this.recordTruncation(truncatedTokens);
    const scored = await e.exclusive(
      tokens,
      () => e.score(tokens, firstScored, 0, this.logitsMode()),
      signal,
    );
    return {
      logprob: sum(scored.map((s) => s.logprob)),
      isGreedy: scored.every((s) => s.greedy),
      contextTokens: pair.context,
      continuationTokens: pair.continuation,
      tokenLogprobs: scored.map((s) => s.logprob),
      truncatedTokens,
    };
  }

  /** Every token of `text` scored through lm-eval's disjoint rolling windows from `prefix`. */
  private async scoreRolling(
    e: Engine,
    tokens: number[],
    prefix: number,
    top: number,
    signal?: AbortSignal,
  ): Promise<ScoredToken[]> {
    const maxLength = this.maxLength(e);
    const out: ScoredToken[] = [];
    for (const w of rollingTokenWindows(tokens, prefix, maxLength).map(makeDisjointWindow)) {
      const input = scoringInput(w.context, w.continuation, maxLength);
      out.push(
        ...(await e.exclusive(
          input.tokens,
          () => e.score(input.tokens, input.firstScored, top, this.logitsMode()),
          signal,
        )),
      );
    }
    return out;
  }

  async serve(request: Request, signal: AbortSignal): Promise<ProviderResult> {
    const e = await this.engine();
    switch (request.kind) {
      case "loglikelihood": {
        const d = await this.loglikelihoodDetailed(request.context, request.continuation, signal);
        return {
          response: { kind: "loglikelihood", logprob: d.logprob, isGreedy: d.isGreedy },
          usage: { inputTokens: d.contextTokens.length + d.continuationTokens.length, outputTokens: 0 },
        };
      }
      case "loglikelihood_rolling": {
        const tokens = e.tokenize(request.text);
        const prefix = e.info.bos ?? e.info.eos ?? 0;
        const scored = await this.scoreRolling(e, tokens, prefix, 0, signal);
        return {
          response: { kind: "loglikelihood_rolling", logprob: sum(scored.map((s) => s.logprob)) },
          usage: { inputTokens: tokens.length + 1, outputTokens: 0 },
        };
      }
      case "generate_until": {
        const prompt =
          typeof request.prompt === "string"
            ? [...(e.info.addBos ? [e.info.bos!] : []), ...e.tokenize(request.prompt)]
            : e.chatTokens(request.prompt);
        const g = await e.exclusive(
          prompt,
          () => e.generate(prompt, request.params, this.maxLength(e), request.sampleIndex ?? 0, signal),
          signal,
        );
        if (g.truncatedTokens > 0) this.recordTruncation(g.truncatedTokens);
        return {
          response: { kind: "generate_until", text: g.text },
          usage: { inputTokens: g.promptTokens, outputTokens: g.outputTokens },
        };
      }
      default:
        throw new ProviderError(`llamacpp: unsupported request kind '${(request as Request).kind}'`, {
          retryable: false,
        });
    }
  }

  /**
   * Per-token log-probabilities of `text` from BOS (the first token gets null when the model adds no BOS),
   * for the OpenAI-compatible server's echo + logprobs. Texts longer than max_length use rolling windows.
   */
  async scoreText(text: string, topLogprobs: number, signal: AbortSignal): Promise<TokenScore[]> {
    const e = await this.engine();
    const tokens = e.tokenize(text);
    if (tokens.length === 0) return [];
    const fromBos = e.info.addBos;
    const scored = fromBos
      ? await this.scoreRolling(e, tokens, e.info.bos!, topLogprobs, signal)
      : await this.scoreRolling(e, tokens.slice(1), tokens[0], topLogprobs, signal);
    const out: TokenScore[] = [];
    let offset = 0;
    const piece = (t: number, i: number) => e.detokenize([t], tokens.slice(Math.max(0, i - 8), i));
    for (let i = 0; i < tokens.length; i++) {
      const s = fromBos ? scored[i] : i === 0 ? undefined : scored[i - 1];
      const token = piece(tokens[i], i);
      const top: Record<string, number> = {};
      for (const alt of s?.top ?? []) {
        const k = piece(alt.token, i);
        if (!(k in top)) top[k] = alt.logprob;
      }
      out.push({ token, offset, logprob: s ? s.logprob : null, top, greedy: s ? s.greedy : false });
      offset += token.length;
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const key = this.entryKey;
    if (!key || !this.enginePromise) return;
    const entry = engines.get(key);
    if (!entry) return;
    entry.users--;
    if (entry.users <= 0) {
      engines.delete(key);
      await (await entry.engine).dispose();
    }
  }
}

function sum(xs: number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Builds the provider from `llamacpp:<path.gguf>[?threads=N&ctx=N&max_length=N&gpu=...]`. */
export function createLlamaCppProvider(spec: string, opts: LlamaCppOptions = {}): LlamaCppProvider {
  return new LlamaCppProvider(spec, opts);
}
