/**
 * The repository interface every store implements (SQLite now, PostgreSQL later).
 * The CLI, engine, reports and web app read and write only through it.
 */
import type { Request, Response, Usage } from "../models/types.js";

export type RunStatus = "running" | "completed" | "failed" | "interrupted";

/** Operational counters of a run; kept across resumes. */
export interface RunStats {
  requests: number;
  cacheHits: number;
  deduplicated: number;
  retries: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  cost: number;
  /** Sparse log-bucket histogram of request latencies (ms), see engine/latency.ts. */
  latencyHistogram: Record<string, number>;
  /** Wall time spent running, summed over resumes. */
  elapsedMs: number;
}

export interface AggregateValue {
  value: number;
  stderr: number;
  ciLow: number;
  ciHigh: number;
  n: number;
  /** How the stderr was obtained: `mean` (sample stderr) or `bootstrap`. */
  method: "mean" | "bootstrap";
  higherIsBetter: boolean;
}

export interface RunRecord {
  id: string;
  task: string;
  /** The model spec as written, e.g. `ngram:data.txt`. */
  model: string;
  /** Provider identity used in cache keys. */
  modelId: string;
  /** Everything needed to reproduce the run: task config, options, seeds. */
  config: RunConfig;
  configHash: string;
  status: RunStatus;
  createdAt: string;
  updatedAt: string;
  versions: Record<string, string>;
  /** Number of samples the run will have. */
  total: number;
  stats: RunStats;
  /** Keyed `metric,filter`. */
  aggregates: Record<string, AggregateValue>;
  error?: string;
}

export interface RunConfig {
  taskFile: string;
  taskConfig: unknown;
  /** Content hashes of the data files, so a changed dataset is a different run. */
  dataHashes: Record<string, string>;
  limit?: number;
  /** Documents in the evaluation split before `limit` (not part of the run's identity). */
  docsAvailable?: number;
  numFewshot: number;
  seed: number;
  /** Names under which samples were scored (`metric,filter`). */
  metricKeys: string[];
}

export interface SampleRecord {
  runId: string;
  docId: number;
  doc: unknown;
  prompt: string;
  target: unknown;
  requests: Request[];
  responses: Response[];
  filtered?: Record<string, string[]>;
  scores: Record<string, number | number[]>;
  latencyMs: number;
  inputTokens: number;
  outputTokens: number;
  cost: number;
  /** Number of this sample's requests served from the cache. */
  cached: number;
}

export interface CachedResponse {
  response: Response;
  usage: Usage;
}

export interface Store {
  readonly location: string;
  createRun(run: RunRecord): Promise<void>;
  getRun(id: string): Promise<RunRecord | undefined>;
  /** Runs whose id starts with `prefix` (for short ids on the command line). */
  findRuns(prefix: string): Promise<RunRecord[]>;
  listRuns(): Promise<RunRecord[]>;
  updateRun(id: string, patch: Partial<Omit<RunRecord, "id">>): Promise<void>;
  /** doc_ids already stored for a run (completed samples). */
  completedDocIds(runId: string): Promise<Set<number>>;
  countSamples(runId: string): Promise<number>;
  /** Writes samples and cache entries in one transaction. */
  writeBatch(batch: WriteBatch): Promise<void>;
  /**
   * A writer for a run's stream of batches. SQLite commits them on a writer thread so that inserts
   * don't compete with request handling; batches are committed in order.
   */
  openBatchWriter(): BatchWriter;
  /** Streams a run's samples in doc_id order without loading them all. */
  iterateSamples(runId: string): AsyncIterable<SampleRecord>;
  /** Streams only doc ids and per-sample scores (what aggregation needs), in doc_id order. */
  iterateScores(runId: string): AsyncIterable<{ docId: number; scores: Record<string, number | number[]> }>;
  getSample(runId: string, docId: number): Promise<SampleRecord | undefined>;
  getCached(keys: string[]): Promise<Map<string, CachedResponse>>;
  close(): Promise<void>;
}

export interface WriteBatch {
  samples: SampleRecord[];
  cache: Array<{ key: string; value: CachedResponse }>;
}

export interface BatchWriter {
  /** Resolves once the batch is committed. */
  write(batch: WriteBatch): Promise<void>;
  close(): Promise<void>;
}
