/**
 * Requests are plain, hashable data: the unit of model work. Providers serve them.
 * The engine's scheduler owns concurrency, retries, timeouts and caching; providers never retry.
 */
export type RequestKind = "loglikelihood" | "loglikelihood_rolling" | "generate_until" | "token_embeddings";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface GenerationParams {
  /** Stop sequences; the output is cut before the first one found. */
  until: string[];
  /** Maximum number of new tokens. */
  max_gen_toks: number;
  /** 0 means greedy. */
  temperature: number;
  top_p?: number;
  /** Seed for sampled generation (temperature > 0). */
  seed?: number;
}

export type Request =
  | { kind: "loglikelihood"; context: string; continuation: string }
  | { kind: "loglikelihood_rolling"; text: string }
  | {
      kind: "generate_until";
      /** Plain prompt (completions) or chat messages (chat completions). */
      prompt: string | ChatMessage[];
      params: GenerationParams;
      /** Index of the sample when the same sampled request is drawn several times. */
      sampleIndex?: number;
    }
  /** Contextual embeddings of every token of `text` (for BERTScore), from an embeddings server. */
  | { kind: "token_embeddings"; text: string };

export type Response =
  | {
      kind: "loglikelihood";
      /** Sum of continuation token log-probabilities (natural log). */
      logprob: number;
      /** True when every continuation token is the argmax. */
      isGreedy: boolean;
    }
  | { kind: "loglikelihood_rolling"; logprob: number }
  | { kind: "generate_until"; text: string }
  | {
      kind: "token_embeddings";
      /** Token ids, special tokens ([CLS], [SEP], BOS) included as the model sees them. */
      ids: number[];
      /** Which tokens are special (BERTScore weighs them 0). */
      special: boolean[];
      /** One vector per token. */
      vectors: number[][];
    };

export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

export interface ProviderResult {
  response: Response;
  usage: Usage;
}

export interface ModelProvider {
  /** Stable identity used in cache keys, e.g. `ngram:order=5:data=<sha>`, `openai:http://host/v1:gpt-x`. */
  readonly id: string;
  /** The spec the user wrote, e.g. `ngram:examples/data.txt`. */
  readonly spec: string;
  readonly capabilities: ReadonlySet<RequestKind>;
  /** Serve one request. Throw ProviderError on failure; never retry here. */
  serve(request: Request, signal: AbortSignal): Promise<ProviderResult>;
  /**
   * Per-token log-probabilities of `text` scored from the start (optional). Lets the
   * OpenAI-compatible server answer completions with echo + logprobs.
   */
  scoreText?(text: string, topLogprobs: number, signal: AbortSignal): Promise<TokenScore[]>;
  /** USD cost of a request's usage, when the provider has a price for its model. */
  costFor?(usage: Usage): number | undefined;
  /**
   * Caps the provider's requests on the wire at `n` (the scheduler's concurrency). Returns true when
   * the provider queues beyond that itself, cheaper than the scheduler would: the scheduler then hands
   * it up to 2n at once, so a freed slot is refilled without waiting for the caller's thread.
   */
  limitInFlight?(n: number): boolean;
  /** Resolves once the provider can take requests (e.g. its HTTP thread is up); timeouts start after. */
  ready?(): Promise<void>;
  close?(): Promise<void>;
}

/** A failure talking to a model. `retryable` tells the scheduler whether to try again. */
export class ProviderError extends Error {
  readonly retryable: boolean;
  readonly status?: number;
  /** Server's Retry-After, in milliseconds. */
  readonly retryAfterMs?: number;
  constructor(message: string, opts: { retryable: boolean; status?: number; retryAfterMs?: number }) {
    super(message);
    this.name = "ProviderError";
    this.retryable = opts.retryable;
    this.status = opts.status;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/** One token of a scored text, as OpenAI's completions `logprobs` reports it. */
export interface TokenScore {
  token: string;
  /** Character offset of the token in the text. */
  offset: number;
  /** null for the first token when the model has no start context. */
  logprob: number | null;
  /** The `topLogprobs` most likely tokens at this position. */
  top: Record<string, number>;
  /** True when this token was the argmax. */
  greedy: boolean;
}
