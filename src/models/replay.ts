/**
 * `replay:<file.jsonl>[,<file.jsonl>...]`: a provider that answers from outputs recorded earlier, so that
 * outputs produced elsewhere (another harness, a hosted model, a human) can be evaluated or judged.
 *
 * Each non-empty line of a recording file is one JSON object:
 *
 * - generation: `{"prompt": <string or chat messages>, "output": "...", "sample_index"?: n, "id"?: ...}`,
 *   or `{"prompt_sha256": "<hex>", "output": "..."}` where the hash is sha256 of the prompt string, or of
 *   `JSON.stringify(messages)` with each message written as `{"role","content"}` (see `promptSha256`);
 * - loglikelihood: `{"context": "...", "continuation": "...", "logprob": n, "is_greedy"?: bool}`;
 * - rolling loglikelihood: `{"text": "...", "logprob": n}`.
 *
 * Matching. Requests carry no sample or item id (see `Request` in types.ts), so a generation request is
 * matched on its exact prompt (a string prompt only matches a string record, chat messages only the same
 * messages). An `id` in a record is kept as a label for messages; to key recordings by item, put the id
 * into the prompt (a judge prompt template with `{id}` does this). A request with a sample index first
 * matches the record with that `sample_index`, then a record without one; a request without a sample
 * index matches a record without one, then `sample_index` 0. Generation parameters are not matched, but
 * the request's stop sequences cut the recorded output, as a live model's would be cut.
 *
 * The provider id is `replay:<sha256 of the files' contents>`, so cached responses are tied to the
 * recordings, not to the file names. Recorded answers cost nothing and report zero tokens.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { UserError } from "../util/errors.js";
import { cutAtStop } from "./openai.js";
import {
  type ChatMessage,
  type ModelProvider,
  ProviderError,
  type ProviderResult,
  type Request,
  type RequestKind,
} from "./types.js";

const EXPECTED_RECORD =
  'a recording: {"prompt": <string or chat messages>, "output": "..."} (optional "sample_index", "id"), ' +
  '{"prompt_sha256": "<hex>", "output": "..."}, {"context", "continuation", "logprob", "is_greedy"} ' +
  'or {"text", "logprob"}';

const ROLES = new Set(["system", "user", "assistant"]);

/** The text a prompt is hashed and matched by: the string itself, or the messages as `{role, content}` JSON. */
export function promptText(prompt: string | readonly ChatMessage[]): string {
  return typeof prompt === "string"
    ? prompt
    : JSON.stringify(prompt.map((m) => ({ role: m.role, content: m.content })));
}

/** The `prompt_sha256` of a prompt, hex. */
export function promptSha256(prompt: string | readonly ChatMessage[]): string {
  return createHash("sha256").update(promptText(prompt)).digest("hex");
}

interface Recorded<T> {
  value: T;
  /** `file:line` of the record. */
  at: string;
}

interface Recordings {
  /** Generation outputs by `<prompt sha256>#<sample index>`, or `<prompt sha256>#` without an index. */
  gen: Map<string, Recorded<string>>;
  ll: Map<string, Recorded<{ logprob: number; isGreedy: boolean }>>;
  rolling: Map<string, Recorded<number>>;
}

function genKey(prompt: string | readonly ChatMessage[] | { sha: string }, sampleIndex: number | undefined) {
  const sha = typeof prompt === "object" && "sha" in prompt ? prompt.sha : promptSha256(prompt);
  return `${sha}#${sampleIndex ?? ""}`;
}

function put<T>(
  map: Map<string, Recorded<T>>,
  key: string,
  rec: Recorded<T>,
  same: (a: T, b: T) => boolean,
  where: { file: string; line: number },
  what: string,
) {
  const prev = map.get(key);
  if (prev === undefined) map.set(key, rec);
  else if (!same(prev.value, rec.value))
    throw new UserError(
      `conflicting recording: ${what} is already recorded at ${prev.at} with another value`,
      {
        ...where,
        expected: 'one recorded answer per request (give sampled answers distinct "sample_index" values)',
      },
    );
}

function parseMessages(v: unknown[], where: { file: string; line: number }): ChatMessage[] {
  return v.map((m, i) => {
    const o = m as Record<string, unknown> | null;
    if (
      o === null ||
      typeof o !== "object" ||
      typeof o.role !== "string" ||
      !ROLES.has(o.role) ||
      typeof o.content !== "string"
    )
      throw new UserError(`invalid chat message ${i}: ${JSON.stringify(m)?.slice(0, 60)}`, {
        ...where,
        field: "prompt",
        expected: 'a string, or chat messages [{"role": "system"|"user"|"assistant", "content": "..."}]',
      });
    return { role: o.role as ChatMessage["role"], content: o.content };
  });
}

function addRecord(rec: Record<string, unknown>, where: { file: string; line: number }, into: Recordings) {
  const at = `${where.file}:${where.line}`;
  const fieldError = (field: string, expected: string) =>
    new UserError(
      rec[field] === undefined
        ? "missing field"
        : `invalid value ${JSON.stringify(rec[field])?.slice(0, 60)}`,
      { ...where, field, expected },
    );
  const num = (field: string) => {
    const v = rec[field];
    if (typeof v !== "number" || Number.isNaN(v) || v > 0)
      throw fieldError(field, "a log-probability: a number ≤ 0");
    return v;
  };

  if ("prompt" in rec || "prompt_sha256" in rec || "output" in rec) {
    if (typeof rec.output !== "string") throw fieldError("output", "the recorded output text, a string");
    let idx: number | undefined;
    if (rec.sample_index !== undefined && rec.sample_index !== null) {
      const s = rec.sample_index;
      if (typeof s !== "number" || !Number.isInteger(s) || s < 0)
        throw fieldError("sample_index", "a non-negative integer");
      idx = s;
    }
    let prompt: string | ChatMessage[] | { sha: string };
    let label: string;
    if ("prompt" in rec) {
      const p = rec.prompt;
      if (typeof p === "string") prompt = p;
      else if (Array.isArray(p) && p.length > 0) prompt = parseMessages(p, where);
      else throw fieldError("prompt", 'a string, or chat messages [{"role", "content"}, ...]');
      label = `prompt ${preview(promptText(prompt))}`;
    } else if ("prompt_sha256" in rec) {
      const h = rec.prompt_sha256;
      if (typeof h !== "string" || !/^[0-9a-fA-F]{64}$/.test(h))
        throw fieldError("prompt_sha256", "64 hex digits: the sha256 of the prompt");
      prompt = { sha: h.toLowerCase() };
      label = `prompt_sha256 ${h}`;
    } else if ("id" in rec)
      throw new UserError(
        `record ${JSON.stringify(rec.id)?.slice(0, 40)} has an id but no prompt: requests carry no item id, so replay matches on the prompt`,
        {
          ...where,
          field: "prompt",
          expected:
            'the prompt the output answers ("prompt" or "prompt_sha256"); put the id into the prompt to key by item',
        },
      );
    else throw fieldError("prompt", 'a string, or chat messages [{"role", "content"}, ...]');
    if (idx !== undefined) label += ` sample ${idx}`;
    put(into.gen, genKey(prompt, idx), { value: rec.output, at }, (a, b) => a === b, where, label);
    return;
  }
  if ("context" in rec || "continuation" in rec) {
    if (typeof rec.context !== "string") throw fieldError("context", "a string");
    if (typeof rec.continuation !== "string") throw fieldError("continuation", "a string");
    const logprob = num("logprob");
    if (rec.is_greedy !== undefined && typeof rec.is_greedy !== "boolean")
      throw fieldError("is_greedy", "true or false");
    const value = { logprob, isGreedy: rec.is_greedy === true };
    put(
      into.ll,
      llKey(rec.context, rec.continuation),
      { value, at },
      (a, b) => a.logprob === b.logprob && a.isGreedy === b.isGreedy,
      where,
      `continuation ${preview(rec.continuation)} of context ${preview(rec.context)}`,
    );
    return;
  }
  if ("text" in rec) {
    if (typeof rec.text !== "string") throw fieldError("text", "a string");
    const logprob = num("logprob");
    put(
      into.rolling,
      sha(rec.text),
      { value: logprob, at },
      (a, b) => a === b,
      where,
      `text ${preview(rec.text)}`,
    );
    return;
  }
  throw new UserError(`unrecognised record with keys ${Object.keys(rec).join(", ") || "(none)"}`, {
    ...where,
    expected: EXPECTED_RECORD,
  });
}

function sha(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function llKey(context: string, continuation: string): string {
  return createHash("sha256").update(context).update("\u0000").update(continuation).digest("hex");
}

/** A short quoted preview of a text for messages. */
function preview(text: string, max = 80): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max - 1)}…` : text);
}

/** Loads the recordings of `files` (throws UserError with file:line on bad input). */
export function loadRecordings(files: readonly string[]): { recordings: Recordings; sha: string } {
  const recordings: Recordings = { gen: new Map(), ll: new Map(), rolling: new Map() };
  const h = createHash("sha256");
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new UserError(
        code === "ENOENT" ? "recording file not found" : `cannot read: ${(e as Error).message}`,
        { file, field: "--model", expected: "replay:<file.jsonl>[,<file.jsonl>...] naming readable files" },
      );
    }
    h.update(createHash("sha256").update(text).digest());
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const raw = lines[i].trim();
      if (raw.length === 0) continue;
      const where = { file, line: i + 1 };
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch (e) {
        throw new UserError(`invalid JSON: ${(e as Error).message}`, { ...where, expected: EXPECTED_RECORD });
      }
      if (value === null || typeof value !== "object" || Array.isArray(value))
        throw new UserError(`not a JSON object: ${raw.slice(0, 40)}`, {
          ...where,
          expected: EXPECTED_RECORD,
        });
      addRecord(value as Record<string, unknown>, where, recordings);
    }
  }
  const total = recordings.gen.size + recordings.ll.size + recordings.rolling.size;
  if (total === 0)
    throw new UserError("no recordings", {
      file: files.join(", "),
      expected: `one JSON object per line, ${EXPECTED_RECORD}`,
    });
  return { recordings, sha: h.digest("hex") };
}

export class ReplayProvider implements ModelProvider {
  readonly id: string;
  readonly capabilities: ReadonlySet<RequestKind>;
  private readonly rec: Recordings;

  constructor(
    readonly spec: string,
    readonly files: readonly string[],
  ) {
    const { recordings, sha } = loadRecordings(files);
    this.rec = recordings;
    this.id = `replay:${sha}`;
    const caps = new Set<RequestKind>();
    if (recordings.gen.size > 0) caps.add("generate_until");
    if (recordings.ll.size > 0) caps.add("loglikelihood");
    if (recordings.rolling.size > 0) caps.add("loglikelihood_rolling");
    this.capabilities = caps;
  }

  async serve(request: Request, _signal: AbortSignal): Promise<ProviderResult> {
    const usage = { inputTokens: 0, outputTokens: 0 };
    switch (request.kind) {
      case "generate_until": {
        const sha = promptSha256(request.prompt);
        const idx = request.sampleIndex;
        const found =
          this.rec.gen.get(`${sha}#${idx ?? ""}`) ??
          (idx === undefined ? this.rec.gen.get(`${sha}#0`) : this.rec.gen.get(`${sha}#`));
        if (found === undefined)
          throw this.missing(
            `prompt ${preview(promptText(request.prompt))}${idx !== undefined ? ` (sample ${idx})` : ""}`,
          );
        const text =
          request.params.until.length > 0 ? cutAtStop(found.value, request.params.until) : found.value;
        return { response: { kind: "generate_until", text }, usage };
      }
      case "loglikelihood": {
        const found = this.rec.ll.get(llKey(request.context, request.continuation));
        if (found === undefined)
          throw this.missing(
            `continuation ${preview(request.continuation)} of context ${preview(request.context)}`,
          );
        return {
          response: { kind: "loglikelihood", logprob: found.value.logprob, isGreedy: found.value.isGreedy },
          usage,
        };
      }
      case "loglikelihood_rolling": {
        const found = this.rec.rolling.get(sha(request.text));
        if (found === undefined) throw this.missing(`text ${preview(request.text)}`);
        return { response: { kind: "loglikelihood_rolling", logprob: found.value }, usage };
      }
      case "token_embeddings":
        throw new ProviderError("replay: recordings hold no token embeddings", { retryable: false });
    }
  }

  private missing(what: string): ProviderError {
    return new ProviderError(`replay: no recording for ${what} in ${this.files.join(", ")}`, {
      retryable: false,
    });
  }
}

/** `replay:<file.jsonl>[,<file.jsonl>...]` → provider. */
export async function createReplayProvider(spec: string): Promise<ReplayProvider> {
  const rest = spec.slice(spec.indexOf(":") + 1);
  const files = rest
    .split(",")
    .map((f) => f.trim())
    .filter((f) => f.length > 0);
  if (files.length === 0)
    throw new UserError(`no recording files in '${spec}'`, {
      field: "--model",
      expected: "replay:<file.jsonl>[,<file.jsonl>...]",
    });
  return new ReplayProvider(spec, files);
}
