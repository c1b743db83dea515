/**
 * A loopback server speaking text-embeddings-inference's (`/tokenize`, `/embed_all`) and llama.cpp
 * server's (`/tokenize`, `/embedding`) token-embedding protocols over a fixed toy model: whitespace
 * tokens, ids in order of first sight, and a contextual vector per token (the word's own direction
 * plus a little of its neighbours'), with [CLS]/[SEP] (TEI) or BOS (llama.cpp) as special tokens.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export const CLS = 101;
export const SEP = 102;
export const BOS = 1;
const DIM = 6;

export interface ToyModel {
  ids(text: string): number[];
  vectors(ids: readonly number[]): number[][];
}

export function toyModel(): ToyModel {
  const vocab = new Map<string, number>();
  const base = (id: number): number[] =>
    Array.from(
      { length: DIM },
      (_, k) =>
        Math.sin(id * 12.9898 + k * 78.233) * 43758.5453 -
        Math.floor(Math.sin(id * 12.9898 + k * 78.233) * 43758.5453) -
        0.5,
    );
  return {
    ids: (text) =>
      text
        .split(/\s+/)
        .filter(Boolean)
        .map((w) => {
          if (!vocab.has(w)) vocab.set(w, 1000 + vocab.size);
          return vocab.get(w)!;
        }),
    vectors: (ids) =>
      ids.map((id, i) => {
        const own = base(id);
        const prev = i > 0 ? base(ids[i - 1]) : own;
        const next = i + 1 < ids.length ? base(ids[i + 1]) : own;
        return own.map((x, k) => x + 0.25 * prev[k] + 0.1 * next[k]);
      }),
  };
}

export interface EmbeddingsServer {
  url: string;
  model: ToyModel;
  /** Requests received, as "METHOD path". */
  requests: string[];
  close(): Promise<void>;
}

/**
 * `pooled`: answer /embedding with one vector per text, as llama.cpp does without `--pooling none`.
 * `failFirst`: answer the first N requests with HTTP 503 (to see the scheduler retry).
 */
export async function startEmbeddingsServer(
  opts: { pooled?: boolean; failFirst?: number } = {},
): Promise<EmbeddingsServer> {
  const model = toyModel();
  const requests: string[] = [];
  const tei = (text: string) => [CLS, ...model.ids(text), SEP];
  const llama = (text: string, special: boolean) => [...(special ? [BOS] : []), ...model.ids(text)];
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    requests.push(`${req.method} ${req.url}`);
    let raw = "";
    for await (const chunk of req) raw += chunk;
    if (requests.length <= (opts.failFirst ?? 0)) {
      res.writeHead(503);
      res.end("warming up");
      return;
    }
    const body = JSON.parse(raw);
    const send = (value: unknown) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(value));
    };
    switch (req.url) {
      case "/embed_all":
        return send((body.inputs as string[]).map((t) => model.vectors(tei(t))));
      case "/embedding":
        return send(
          [body.content as string | string[]].flat().map((t, index) => {
            const rows = model.vectors(llama(t, true));
            return { index, embedding: opts.pooled ? [rows[0]] : rows };
          }),
        );
      case "/tokenize":
        if (Array.isArray(body.inputs))
          return send(
            (body.inputs as string[]).map((t) =>
              tei(t).map((id) => ({ id, text: String(id), special: id === CLS || id === SEP })),
            ),
          );
        return send({ tokens: llama(body.content, body.add_special === true) });
      default:
        res.writeHead(404);
        res.end("not found");
    }
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      res.writeHead(500);
      res.end(String(e));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    model,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
