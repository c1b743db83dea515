/**
 * Contextual token embeddings from a server, for BERTScore: Hugging Face text-embeddings-inference
 * (`tei:<url>`: `/tokenize` and `/embed_all`) or llama.cpp's server started with `--embeddings
 * --pooling none` (`llama-server:<url>`: `/tokenize` and `/embedding`), which serves a local GGUF model.
 * Each is a provider of `token_embeddings` requests, so the scheduler owns concurrency, retries,
 * timeouts and deduplication as for any model call; a text comes back as its token ids (special tokens
 * included, as the model sees them), which of them are special, and one vector per token.
 */
import { request } from "undici";
import { UserError } from "../util/errors.js";
import { networkError } from "./http_errors.js";
import { apiErrorMessage, parseRetryAfter } from "./openai.js";
import {
  type ModelProvider,
  ProviderError,
  type ProviderResult,
  type Request,
  type RequestKind,
} from "./types.js";

const PROTOCOLS = ["tei", "llama-server"] as const;
type Protocol = (typeof PROTOCOLS)[number];
const TOKEN_EMBEDDINGS_SPEC_HELP =
  "tei:<url> (text-embeddings-inference) or llama-server:<url> (llama.cpp, --pooling none)";

type Post = (path: string, body: unknown, signal: AbortSignal) => Promise<unknown>;
type Embedded = { ids: number[]; special: boolean[]; vectors: number[][] };

/** A provider of `token_embeddings` for `tei:<url>` or `llama-server:<url>`; `field` names the option in errors. */
export function createTokenEmbeddingsProvider(spec: string, field = "endpoint"): ModelProvider {
  const colon = spec.indexOf(":");
  const protocol = spec.slice(0, colon) as Protocol;
  const url = spec.slice(colon + 1).replace(/\/+$/, "");
  if (colon < 0 || !PROTOCOLS.includes(protocol) || !/^https?:\/\/[^/]/.test(url))
    throw new UserError(`invalid token-embeddings endpoint '${spec}'`, {
      field,
      expected: TOKEN_EMBEDDINGS_SPEC_HELP,
    });
  const post: Post = (path, body, signal) => postJson(protocol, `${url}${path}`, body, signal);
  const embed = protocol === "tei" ? teiEmbed(url, post) : llamaServerEmbed(url, post);
  return {
    id: `${protocol}:${url}`,
    spec,
    capabilities: new Set<RequestKind>(["token_embeddings"]),
    async serve(req: Request, signal: AbortSignal): Promise<ProviderResult> {
      if (req.kind !== "token_embeddings")
        throw new ProviderError(`${protocol}: serves token embeddings only, not ${req.kind}`, {
          retryable: false,
        });
      const e = await embed(req.text, signal);
      return {
        response: { kind: "token_embeddings", ...e },
        usage: { inputTokens: e.ids.length, outputTokens: 0 },
      };
    },
  };
}

/** POSTs JSON; 429 and 5xx are retryable (the scheduler retries, after Retry-After), other statuses are not. */
async function postJson(provider: string, url: string, body: unknown, signal: AbortSignal): Promise<unknown> {
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal,
    });
  } catch (e) {
    throw networkError(provider, url, e, signal);
  }
  const text = await res.body.text();
  const status = res.statusCode;
  if (status < 200 || status >= 300) {
    const retryable = status === 429 || status >= 500;
    const h = res.headers;
    throw new ProviderError(`${provider} ${url}: HTTP ${status}: ${apiErrorMessage(text)}`, {
      retryable,
      status,
      retryAfterMs: retryable ? parseRetryAfter(h["retry-after"], h["retry-after-ms"]) : undefined,
    });
  }
  try {
    return JSON.parse(text);
  } catch {
    throw badShape(url, "", `JSON, got ${JSON.stringify(text.slice(0, 80))}`);
  }
}

/** The error for a response field without the expected shape (not retryable: the server is wrong). */
function badShape(url: string, what: string, expected: string): ProviderError {
  return new ProviderError(`unexpected response from ${url}${what}: expected ${expected}`, {
    retryable: false,
  });
}

const isNumberRow = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === "number");

function vectorsOf(rows: unknown, n: number, url: string, what: string): number[][] {
  if (!Array.isArray(rows) || !rows.every(isNumberRow))
    throw badShape(url, what, "one array of numbers per token");
  if (rows.length !== n)
    throw badShape(
      url,
      what,
      `${n} token vectors, got ${rows.length} (a server that pools embeddings gives one per text)`,
    );
  const dim = rows[0]?.length;
  if (rows.some((r) => r.length !== dim)) throw badShape(url, what, "vectors of one dimension");
  return rows;
}

function teiEmbed(url: string, post: Post) {
  return async (text: string, signal: AbortSignal): Promise<Embedded> => {
    const [tokens, vectors] = await Promise.all([
      post("/tokenize", { inputs: [text], add_special_tokens: true }, signal),
      post("/embed_all", { inputs: [text], truncate: false }, signal),
    ]);
    const list = Array.isArray(tokens) ? tokens[0] : undefined;
    if (!Array.isArray(list)) throw badShape(url, "/tokenize", "a list of tokens per text");
    const ids = list.map((t: { id?: unknown }) => t?.id);
    if (!ids.every((id) => typeof id === "number")) throw badShape(url, "/tokenize[0].id", "token ids");
    const special = list.map((t: { special?: unknown }) => t.special === true);
    const rows = Array.isArray(vectors) ? vectors[0] : undefined;
    return { ids, special, vectors: vectorsOf(rows, ids.length, url, "/embed_all[0]") };
  };
}

function llamaServerEmbed(url: string, post: Post) {
  const tokenize = async (content: string, addSpecial: boolean, signal: AbortSignal): Promise<number[]> => {
    const r = (await post("/tokenize", { content, add_special: addSpecial }, signal)) as { tokens?: unknown };
    if (!isNumberRow(r?.tokens)) throw badShape(url, "/tokenize.tokens", "a list of token ids");
    return r.tokens;
  };
  return async (text: string, signal: AbortSignal): Promise<Embedded> => {
    // The tokens with and without the special ones tell which positions are special.
    const [embedded, ids, plain] = await Promise.all([
      post("/embedding", { content: text }, signal),
      tokenize(text, true, signal),
      tokenize(text, false, signal),
    ]);
    const first = Array.isArray(embedded) ? (embedded[0] as { embedding?: unknown }) : undefined;
    return {
      ids,
      special: specialPositions(ids, plain),
      vectors: vectorsOf(first?.embedding, ids.length, url, "/embedding[0].embedding"),
    };
  };
}

/**
 * Which positions of `withSpecial` are special, given the same text's tokens without special tokens:
 * those outside the first place where `plain` occurs whole (specials are added around the text).
 */
export function specialPositions(withSpecial: readonly number[], plain: readonly number[]): boolean[] {
  for (let p = 0; p + plain.length <= withSpecial.length; p++) {
    let k = 0;
    while (k < plain.length && withSpecial[p + k] === plain[k]) k++;
    if (k === plain.length) return withSpecial.map((_, i) => i < p || i >= p + plain.length);
  }
  return withSpecial.map(() => false);
}
