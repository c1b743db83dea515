/** SQLite store: one file (default `.assay/assay.db`), WAL mode, versioned migrations. */
import { mkdirSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import type { Request } from "../models/types.js";
import { UserError } from "../util/errors.js";
import type { BatchWriter, CachedResponse, RunRecord, SampleRecord, Store, WriteBatch } from "./types.js";
import { WorkerBatchWriter } from "./writer_thread.js";

/** Column values of a samples row, in insert order (done on the caller's thread). */
export function sampleRow(s: SampleRecord): unknown[] {
  return [
    s.runId,
    s.docId,
    JSON.stringify(s.doc),
    s.prompt,
    JSON.stringify(s.target),
    compactRequests(s.requests, s.prompt),
    JSON.stringify(s.responses),
    s.filtered ? JSON.stringify(s.filtered) : null,
    JSON.stringify(s.scores),
    s.latencyMs,
    s.inputTokens,
    s.outputTokens,
    s.cost,
    s.cached,
  ];
}

export function cacheRow(e: { key: string; value: CachedResponse }, now: number): unknown[] {
  return [e.key, JSON.stringify(e.value.response), JSON.stringify(e.value.usage), now];
}

const inThreadWriter = (store: SqliteStore): BatchWriter => ({
  write: (batch) => store.writeBatch(batch),
  close: async () => {},
});

/** Migration i brings the schema from version i to i + 1. Never edit a shipped migration. */
const MIGRATIONS: string[] = [
  `CREATE TABLE runs (
     id TEXT PRIMARY KEY,
     task TEXT NOT NULL,
     model TEXT NOT NULL,
     model_id TEXT NOT NULL,
     config TEXT NOT NULL,
     config_hash TEXT NOT NULL,
     status TEXT NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     versions TEXT NOT NULL,
     total INTEGER NOT NULL,
     stats TEXT NOT NULL,
     aggregates TEXT NOT NULL,
     error TEXT
   );
   CREATE TABLE samples (
     run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
     doc_id INTEGER NOT NULL,
     doc TEXT NOT NULL,
     prompt TEXT NOT NULL,
     target TEXT NOT NULL,
     requests TEXT NOT NULL,
     responses TEXT NOT NULL,
     filtered TEXT,
     scores TEXT NOT NULL,
     latency_ms REAL NOT NULL,
     input_tokens INTEGER NOT NULL,
     output_tokens INTEGER NOT NULL,
     cost REAL NOT NULL,
     cached INTEGER NOT NULL,
     PRIMARY KEY (run_id, doc_id)
   ) WITHOUT ROWID;
   CREATE TABLE cache (
     key TEXT PRIMARY KEY,
     response TEXT NOT NULL,
     usage TEXT NOT NULL,
     created_at INTEGER NOT NULL
   ) WITHOUT ROWID;`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

type Row = Record<string, any>;

/** Requests usually repeat the sample's prompt; store them without it (`@prompt` marks where it goes). */
function compactRequests(requests: Request[], prompt: string): string {
  return JSON.stringify(
    requests.map((r) =>
      r.kind === "generate_until" && r.prompt === prompt
        ? { ...r, prompt: undefined, "@prompt": 1 }
        : r.kind === "loglikelihood" && r.context === prompt && prompt !== ""
          ? { ...r, context: undefined, "@prompt": 1 }
          : r,
    ),
  );
}

function expandRequests(json: string, prompt: string): Request[] {
  return (JSON.parse(json) as Array<Record<string, unknown>>).map((r) => {
    if (!r["@prompt"]) return r as unknown as Request;
    const { "@prompt": _, ...rest } = r;
    return (rest.kind === "generate_until"
      ? { ...rest, prompt }
      : { ...rest, context: prompt }) as unknown as Request;
  });
}

const runFromRow = (r: Row): RunRecord => ({
  id: r.id,
  task: r.task,
  model: r.model,
  modelId: r.model_id,
  config: JSON.parse(r.config),
  configHash: r.config_hash,
  status: r.status,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  versions: JSON.parse(r.versions),
  total: r.total,
  stats: JSON.parse(r.stats),
  aggregates: JSON.parse(r.aggregates),
  ...(r.error ? { error: r.error } : {}),
});

const sampleFromRow = (r: Row): SampleRecord => ({
  runId: r.run_id,
  docId: r.doc_id,
  doc: JSON.parse(r.doc),
  prompt: r.prompt,
  target: JSON.parse(r.target),
  requests: expandRequests(r.requests, r.prompt),
  responses: JSON.parse(r.responses),
  ...(r.filtered ? { filtered: JSON.parse(r.filtered) } : {}),
  scores: JSON.parse(r.scores),
  latencyMs: r.latency_ms,
  inputTokens: r.input_tokens,
  outputTokens: r.output_tokens,
  cost: r.cost,
  cached: r.cached,
});

const RUN_COLUMNS: Record<string, string> = {
  task: "task",
  model: "model",
  modelId: "model_id",
  config: "config",
  configHash: "config_hash",
  status: "status",
  createdAt: "created_at",
  updatedAt: "updated_at",
  versions: "versions",
  total: "total",
  stats: "stats",
  aggregates: "aggregates",
  error: "error",
};

export class SqliteStore implements Store {
  readonly location: string;
  private db: Database.Database;
  private stmts: Record<string, Database.Statement>;
  private writeRowsTx: (samples: unknown[][], cache: unknown[][]) => void;

  constructor(file: string) {
    this.location = file;
    if (file !== ":memory:") mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    try {
      this.db = new Database(file);
      this.db.pragma("journal_mode = WAL");
      this.db.pragma("synchronous = NORMAL");
      this.db.pragma("foreign_keys = ON");
      this.db.pragma("busy_timeout = 5000");
      this.migrate();
    } catch (e) {
      throw new UserError(`cannot open store: ${(e as Error).message}`, {
        file,
        expected: "an assay SQLite database (or a path where one can be created)",
      });
    }
    const db = this.db;
    this.stmts = {
      insertRun: db.prepare(
        `INSERT INTO runs (id, task, model, model_id, config, config_hash, status, created_at, updated_at, versions, total, stats, aggregates, error)
         VALUES (@id, @task, @model, @model_id, @config, @config_hash, @status, @created_at, @updated_at, @versions, @total, @stats, @aggregates, @error)`,
      ),
      getRun: db.prepare("SELECT * FROM runs WHERE id = ?"),
      findRuns: db.prepare("SELECT * FROM runs WHERE id LIKE ? || '%' ORDER BY created_at"),
      listRuns: db.prepare("SELECT * FROM runs ORDER BY created_at, id"),
      docIds: db.prepare("SELECT doc_id FROM samples WHERE run_id = ?").pluck(),
      countSamples: db.prepare("SELECT count(*) FROM samples WHERE run_id = ?").pluck(),
      insertSample: db.prepare(
        `INSERT OR REPLACE INTO samples (run_id, doc_id, doc, prompt, target, requests, responses, filtered, scores, latency_ms, input_tokens, output_tokens, cost, cached)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      iterate: db.prepare("SELECT * FROM samples WHERE run_id = ? ORDER BY doc_id"),
      iterateScores: db.prepare("SELECT doc_id, scores FROM samples WHERE run_id = ? ORDER BY doc_id").raw(),
      getSample: db.prepare("SELECT * FROM samples WHERE run_id = ? AND doc_id = ?"),
      getCached: db.prepare("SELECT response, usage FROM cache WHERE key = ?"),
      // One statement for a whole batch of keys: far cheaper than a call per key.
      getCachedMany: db
        .prepare("SELECT key, response, usage FROM cache WHERE key IN (SELECT value FROM json_each(?))")
        .raw(),
      putCached: db.prepare(
        "INSERT OR IGNORE INTO cache (key, response, usage, created_at) VALUES (?, ?, ?, ?)",
      ),
    };
    const insertRows = (samples: unknown[][], cache: unknown[][]) => {
      for (const r of cache) this.stmts.putCached.run(...r);
      for (const r of samples) this.stmts.insertSample.run(...r);
    };
    this.writeRowsTx = db.transaction(insertRows);
  }

  private migrate(): void {
    const current = this.db.pragma("user_version", { simple: true }) as number;
    if (current > SCHEMA_VERSION)
      throw new Error(
        `database schema version ${current} is newer than this assay (${SCHEMA_VERSION}); upgrade assay`,
      );
    for (let v = current; v < SCHEMA_VERSION; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  async createRun(run: RunRecord): Promise<void> {
    this.stmts.insertRun.run({
      id: run.id,
      task: run.task,
      model: run.model,
      model_id: run.modelId,
      config: JSON.stringify(run.config),
      config_hash: run.configHash,
      status: run.status,
      created_at: run.createdAt,
      updated_at: run.updatedAt,
      versions: JSON.stringify(run.versions),
      total: run.total,
      stats: JSON.stringify(run.stats),
      aggregates: JSON.stringify(run.aggregates),
      error: run.error ?? null,
    });
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const r = this.stmts.getRun.get(id) as Row | undefined;
    return r ? runFromRow(r) : undefined;
  }

  async findRuns(prefix: string): Promise<RunRecord[]> {
    return (this.stmts.findRuns.all(prefix) as Row[]).map(runFromRow);
  }

  async listRuns(): Promise<RunRecord[]> {
    return (this.stmts.listRuns.all() as Row[]).map(runFromRow);
  }

  async updateRun(id: string, patch: Partial<Omit<RunRecord, "id">>): Promise<void> {
    const sets: string[] = [];
    const values: unknown[] = [];
    for (const [k, v] of Object.entries(patch)) {
      const col = RUN_COLUMNS[k];
      if (!col) continue;
      sets.push(`${col} = ?`);
      values.push(v !== null && typeof v === "object" ? JSON.stringify(v) : (v ?? null));
    }
    if (sets.length === 0) return;
    this.db.prepare(`UPDATE runs SET ${sets.join(", ")} WHERE id = ?`).run(...values, id);
  }

  async completedDocIds(runId: string): Promise<Set<number>> {
    return new Set(this.stmts.docIds.all(runId) as number[]);
  }

  async countSamples(runId: string): Promise<number> {
    return this.stmts.countSamples.get(runId) as number;
  }

  /** Inserts rows already serialized by `sampleRow` / `cacheRow`, in one transaction. */
  writeRows(samples: unknown[][], cache: unknown[][]): void {
    this.writeRowsTx(samples, cache);
  }

  openBatchWriter(): BatchWriter {
    return this.location === ":memory:" ? inThreadWriter(this) : new WorkerBatchWriter(this.location);
  }

  async writeBatch(batch: WriteBatch): Promise<void> {
    if (batch.samples.length > 0 || batch.cache.length > 0) {
      const now = Date.now();
      this.writeRows(
        batch.samples.map(sampleRow),
        batch.cache.map((c) => cacheRow(c, now)),
      );
    }
  }

  async *iterateScores(
    runId: string,
  ): AsyncIterable<{ docId: number; scores: Record<string, number | number[]> }> {
    for (const [docId, scores] of this.stmts.iterateScores.iterate(runId) as IterableIterator<
      [number, string]
    >)
      yield { docId, scores: JSON.parse(scores) };
  }

  async *iterateSamples(runId: string): AsyncIterable<SampleRecord> {
    for (const r of this.stmts.iterate.iterate(runId) as IterableIterator<Row>) yield sampleFromRow(r);
  }

  async getSample(runId: string, docId: number): Promise<SampleRecord | undefined> {
    const r = this.stmts.getSample.get(runId, docId) as Row | undefined;
    return r ? sampleFromRow(r) : undefined;
  }

  async getCached(keys: string[]): Promise<Map<string, CachedResponse>> {
    const out = new Map<string, CachedResponse>();
    if (keys.length === 1) {
      const r = this.stmts.getCached.get(keys[0]) as Row | undefined;
      if (r) out.set(keys[0], { response: JSON.parse(r.response), usage: JSON.parse(r.usage) });
      return out;
    }
    for (const [key, response, usage] of this.stmts.getCachedMany.all(JSON.stringify(keys)) as string[][])
      out.set(key, { response: JSON.parse(response), usage: JSON.parse(usage) });
    return out;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

/** Opens the store at `location` (a file path), default `.assay/assay.db` in the working directory. */
export function openStore(location?: string): Store {
  return new SqliteStore(location ?? process.env.ASSAY_STORE ?? path.join(".assay", "assay.db"));
}
