/**
 * Contextual token embeddings from a server, for BERTScore: Hugging Face text-embeddings-inference
 * (`tei:<url>`: `/tokenize` and `/embed_all`) or llama.cpp's server started with `--embeddings
 * --pooling none` (`llama-server:<url>`: `/tokenize` and `/embedding`), which serves a local GGUF model.
 * Each text comes back as its token ids (special tokens included, as the model sees them), which of
 * them are special, and one vector per token.
 */
import { request } from "undici";
import type { EmbeddedText } from "../metrics/bertscore.js";
import { UserError } from "../util/errors.js";

export interface TokenEmbedder {
  /** The endpoint, as given. */
  readonly spec: string;
  /** Each text's token ids, special flags and vectors (see `EmbeddedText`). */
  embed(texts: readonly string[]): Promise<EmbeddedText[]>;
}

const PROTOCOLS = ["tei", "llama-server"] as const;
type Protocol = (typeof PROTOCOLS)[number];
const SPEC_HELP = "tei:<url> (text-embeddings-inference) or llama-server:<url> (llama.cpp, --pooling none)";

/** A token embedder for `tei:<url>` or `llama-server:<url>`; `field` names the option in errors. */
export function createTokenEmbedder(spec: string, field = "endpoint"): TokenEmbedder {
  const colon = spec.indexOf(":");
  const protocol = spec.slice(0, colon) as Protocol;
  const url = spec.slice(colon + 1).replace(/\/+$/, "");
  if (colon < 0 || !PROTOCOLS.includes(protocol) || !/^https?:\/\/[^/]/.test(url))
    throw new UserError(`invalid token-embeddings endpoint '${spec}'`, { field, expected: SPEC_HELP });
  const post = (path: string, body: unknown) => postJson(spec, `${url}${path}`, body, field);
  return protocol === "tei" ? teiEmbedder(spec, post) : llamaServerEmbedder(spec, post);
}

type Post = (path: string, body: unknown) => Promise<unknown>;

async function postJson(spec: string, url: string, body: unknown, field: string): Promise<unknown> {
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  } catch (e) {
    const code = (e as { code?: string }).code ?? (e as Error).message;
    throw new UserError(`cannot reach ${url} (${code})`, { field, expected: `a running server for ${spec}` });
  }
  const text = await res.body.text();
  if (res.statusCode < 200 || res.statusCode >= 300)
    throw new UserError(`${url} answered HTTP ${res.statusCode}: ${text.slice(0, 200)}`, {
      field,
      expected: `a server that serves ${spec}`,
    });
  try {
    return JSON.parse(text);
  } catch {
    throw new UserError(`${url} answered with something that is not JSON: ${text.slice(0, 80)}`, { field });
  }
}

/** Fails with the response field that does not have the expected shape. */
function badShape(url: string, what: string, expected: string): never {
  throw new UserError(`unexpected response from ${url}${what.replace(/^\/?/, "/")}: expected ${expected}`, {
    field: what,
  });
}

const isNumberRow = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === "number");

function vectorsOf(rows: unknown, n: number, url: string, what: string): Float32Array[] {
  if (!Array.isArray(rows) || !rows.every(isNumberRow)) badShape(url, what, "one array of numbers per token");
  if (rows.length !== n)
    badShape(
      url,
      what,
      `${n} token vectors, got ${rows.length} (a server that pools embeddings gives one per text)`,
    );
  const dim = rows[0]?.length;
  if (rows.some((r) => r.length !== dim)) badShape(url, what, "vectors of one dimension");
  return rows.map((r) => Float32Array.from(r));
}

function teiEmbedder(spec: string, post: Post): TokenEmbedder {
  const url = spec.slice(4);
  return {
    spec,
    async embed(texts) {
      if (texts.length === 0) return [];
      const inputs = [...texts];
      const [tokens, vectors] = await Promise.all([
        post("/tokenize", { inputs, add_special_tokens: true }),
        post("/embed_all", { inputs, truncate: false }),
      ]);
      if (!Array.isArray(tokens) || tokens.length !== texts.length)
        badShape(url, "/tokenize", `one token list per text (${texts.length})`);
      if (!Array.isArray(vectors) || vectors.length !== texts.length)
        badShape(url, "/embed_all", `one list of token vectors per text (${texts.length})`);
      return tokens.map((list: unknown, i) => {
        if (!Array.isArray(list)) badShape(url, `/tokenize[${i}]`, "a list of tokens");
        const ids = list.map((t: { id?: unknown }) => t?.id);
        if (!ids.every((id) => typeof id === "number")) badShape(url, `/tokenize[${i}].id`, "token ids");
        const special = list.map((t: { special?: unknown }) => t.special === true);
        return { ids, special, vectors: vectorsOf(vectors[i], ids.length, url, `/embed_all[${i}]`) };
      });
    },
  };
}

function llamaServerEmbedder(spec: string, post: Post): TokenEmbedder {
  const url = spec.slice("llama-server:".length);
  const tokenize = async (content: string, addSpecial: boolean): Promise<number[]> => {
    const r = (await post("/tokenize", { content, add_special: addSpecial })) as { tokens?: unknown };
    if (!isNumberRow(r?.tokens)) badShape(url, "/tokenize.tokens", "a list of token ids");
    return r.tokens;
  };
  return {
    spec,
    async embed(texts) {
      if (texts.length === 0) return [];
      const embedded = await post("/embedding", { content: [...texts] });
      if (!Array.isArray(embedded) || embedded.length !== texts.length)
        badShape(url, "/embedding", `one result per text (${texts.length})`);
      const byIndex = new Map<number, unknown>();
      for (const e of embedded as { index?: unknown; embedding?: unknown }[])
        byIndex.set(typeof e?.index === "number" ? e.index : byIndex.size, e?.embedding);
      return Promise.all(
        texts.map(async (text, i) => {
          // The tokens with and without the special ones tell which positions are special.
          const [ids, plain] = await Promise.all([tokenize(text, true), tokenize(text, false)]);
          const special = specialPositions(ids, plain);
          return { ids, special, vectors: vectorsOf(byIndex.get(i), ids.length, url, `/embedding[${i}]`) };
        }),
      );
    },
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

/**
 * Embeds `texts` in batches of `batchSize` requests' worth, each distinct text once, and returns the
 * embedded texts in input order. `onProgress(done, total)` follows the distinct texts, after each batch.
 */
export async function embedAll(
  embedder: TokenEmbedder,
  texts: readonly string[],
  batchSize: number,
  onProgress: (done: number, total: number) => void = () => {},
): Promise<EmbeddedText[]> {
  const distinct = [...new Set(texts)];
  const byText = new Map<string, EmbeddedText>();
  for (let start = 0; start < distinct.length; start += batchSize) {
    const batch = distinct.slice(start, start + batchSize);
    const embedded = await embedder.embed(batch);
    if (embedded.length !== batch.length)
      throw new UserError(`${embedder.spec} embedded ${embedded.length} of ${batch.length} texts`, {
        expected: "one result per text",
      });
    for (let i = 0; i < batch.length; i++) byText.set(batch[i], embedded[i]);
    onProgress(Math.min(start + batchSize, distinct.length), distinct.length);
  }
  return texts.map((t) => byText.get(t)!);
}
