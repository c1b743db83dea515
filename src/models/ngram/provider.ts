/** Serves assay requests from an in-process byte-level n-gram model (1 token = 1 byte). */
import { createHash } from "node:crypto";
import {
  type ChatMessage,
  type ModelProvider,
  ProviderError,
  type ProviderResult,
  type Request,
  type RequestKind,
  type TokenScore,
} from "../types.js";
import type { NgramModel } from "./model.js";
import { combineSeeds } from "./sampling.js";

const ROLE_LABELS: Record<ChatMessage["role"], string> = {
  system: "System",
  user: "User",
  assistant: "Assistant",
};

/**
 * Chat template of the ngram model: one `Role: content` line per message (System, User,
 * Assistant), then `Assistant:` to prompt the reply. E.g. `User: 2+2?\nAssistant:`.
 */
export function renderChatPrompt(messages: readonly ChatMessage[]): string {
  return `${messages.map((m) => `${ROLE_LABELS[m.role] ?? m.role}: ${m.content}\n`).join("")}Assistant:`;
}

const utf8Length = (s: string) => Buffer.byteLength(s, "utf8");

export interface NgramProviderOptions {
  /** The spec the user wrote (default: the id). */
  spec?: string;
  /** Hash of the training data and options; default: a hash of the serialized model. */
  dataHash?: string;
  /** Where the model came from, for logs. */
  source?: "trained" | "cache" | "memory";
  /** Disk cache file of the model, when there is one. */
  cacheFile?: string;
}

export class NgramProvider implements ModelProvider {
  readonly id: string;
  readonly spec: string;
  readonly capabilities: ReadonlySet<RequestKind> = new Set<RequestKind>([
    "loglikelihood",
    "loglikelihood_rolling",
    "generate_until",
  ]);
  readonly model: NgramModel;
  readonly source: "trained" | "cache" | "memory";
  readonly cacheFile?: string;

  constructor(model: NgramModel, opts: NgramProviderOptions = {}) {
    this.model = model;
    const hash = opts.dataHash ?? createHash("sha256").update(model.serialize()).digest("hex").slice(0, 16);
    this.id = `ngram:order=${model.order}:data=${hash}`;
    this.spec = opts.spec ?? this.id;
    this.source = opts.source ?? "memory";
    this.cacheFile = opts.cacheFile;
  }

  async serve(request: Request, signal: AbortSignal): Promise<ProviderResult> {
    if (signal.aborted) throw new ProviderError("request aborted", { retryable: false });
    switch (request.kind) {
      case "loglikelihood": {
        const { logprob, isGreedy } = this.model.logprob(request.context, request.continuation);
        return {
          response: { kind: "loglikelihood", logprob, isGreedy },
          usage: {
            inputTokens: utf8Length(request.context) + utf8Length(request.continuation),
            outputTokens: 0,
          },
        };
      }
      case "loglikelihood_rolling":
        return {
          response: { kind: "loglikelihood_rolling", logprob: this.model.rollingLogprob(request.text) },
          usage: { inputTokens: utf8Length(request.text), outputTokens: 0 },
        };
      case "generate_until": {
        const { params } = request;
        const prompt = typeof request.prompt === "string" ? request.prompt : renderChatPrompt(request.prompt);
        if (!Number.isInteger(params.max_gen_toks) || params.max_gen_toks < 0) {
          throw new ProviderError(`max_gen_toks must be a non-negative integer, got ${params.max_gen_toks}`, {
            retryable: false,
          });
        }
        if (!(params.temperature >= 0)) {
          throw new ProviderError(`temperature must be >= 0, got ${params.temperature}`, {
            retryable: false,
          });
        }
        if (params.top_p !== undefined && !(params.top_p > 0 && params.top_p <= 1)) {
          throw new ProviderError(`top_p must be in (0, 1], got ${params.top_p}`, { retryable: false });
        }
        const out = this.model.generate(prompt, {
          maxTokens: params.max_gen_toks,
          until: params.until,
          temperature: params.temperature,
          topP: params.top_p,
          // Each sample of a request gets its own stream, reproducible from (seed, sampleIndex).
          seed: combineSeeds(params.seed ?? 0, request.sampleIndex ?? 0),
        });
        return {
          response: { kind: "generate_until", text: out.text },
          usage: { inputTokens: utf8Length(prompt), outputTokens: out.generatedBytes },
        };
      }
      default:
        throw new ProviderError(`unsupported request kind '${(request as { kind: string }).kind}'`, {
          retryable: false,
        });
    }
  }

  /**
   * One token per byte, scored from the start of the text. ASCII bytes are their own token text;
   * other bytes are written `bytes:\xNN` (as OpenAI does for partial characters). `offset` is the
   * UTF-16 index of the character the byte belongs to.
   */
  async scoreText(text: string, topLogprobs: number, signal: AbortSignal): Promise<TokenScore[]> {
    if (signal.aborted) throw new ProviderError("request aborted", { retryable: false });
    const bytes = Buffer.from(text, "utf8");
    const offsets = new Int32Array(bytes.length);
    let b = 0;
    for (let i = 0; i < text.length; ) {
      const cp = text.codePointAt(i)!;
      const len = utf8Length(String.fromCodePoint(cp));
      offsets.fill(i, b, b + len);
      b += len;
      i += cp > 0xffff ? 2 : 1;
    }
    return this.model.scoreBytes(bytes, Math.max(0, Math.floor(topLogprobs))).map((s, k) => ({
      token: byteToken(s.byte),
      offset: offsets[k],
      logprob: s.logprob,
      top: Object.fromEntries(s.top.map(([w, lp]) => [byteToken(w), lp])),
      greedy: s.greedy,
    }));
  }
}

function byteToken(b: number): string {
  return b < 0x80 ? String.fromCharCode(b) : `bytes:\\x${b.toString(16).padStart(2, "0")}`;
}
