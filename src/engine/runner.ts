/**
 * Runs one task against one model: plan → schedule → score → store, streaming.
 * A run's id is derived from its configuration, so re-running the identical command resumes it,
 * and `--resume <id>` continues a crashed or interrupted run with nothing done twice.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { DEFAULT_METRICS, type MetricDef, validateMetricConfig } from "../metrics/registry.js";
import type { ModelProvider, Usage } from "../models/types.js";
import { emptyRunStats } from "../store/run_stats.js";
import type { RunConfig, RunRecord, Store } from "../store/types.js";
import { canonicalJson, type MetricConfig } from "../tasks/config.js";
import { compileFilters } from "../tasks/filters.js";
import { scoreSampleAsync, serveDoc } from "../tasks/output_types.js";
import type { Task } from "../tasks/task.js";
import { UserError } from "../util/errors.js";
import { RunAggregator } from "./aggregate.js";
import { EmbeddingScorer } from "./embedding_scores.js";
import { LatencyHistogram } from "./latency.js";
import { Scheduler, type SchedulerOptions } from "./scheduler.js";
import { WriteBatcher } from "./write_batcher.js";

export const ASSAY_VERSION = "0.1.0";

export interface RunProgress {
  runId: string;
  task: string;
  model: string;
  done: number;
  total: number;
  errors: number;
  cacheHits: number;
  retries: number;
}

export interface RunTaskOptions {
  task: Task;
  provider: ModelProvider;
  store: Store;
  limit?: number;
  seed?: number;
  scheduler?: Partial<SchedulerOptions>;
  /** Start a new run even if an identical one exists. */
  fresh?: boolean;
  /** Continue this run id (its stored configuration must match). */
  runId?: string;
  signal?: AbortSignal;
  onProgress?: (p: RunProgress) => void;
  /** USD cost of a request's usage; 0 when unknown. */
  costOf?: (usage: Usage) => number;
}

async function fileHash(file: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest("hex").slice(0, 16);
}

/** The metrics a task reports, validated against the registry and its output type. */
export function taskMetrics(task: Task): {
  configs: MetricConfig[];
  defs: Map<string, MetricDef>;
  keys: string[];
} {
  const configs: MetricConfig[] =
    task.config.metric_list ?? DEFAULT_METRICS[task.outputType].map((metric) => ({ metric }));
  const where = task.where("metric_list");
  const filterNames =
    task.outputType === "generate_until"
      ? (task.config.filter_list ?? [{ name: "none" }]).map((f) => f.name)
      : ["none"];
  const defs = new Map<string, MetricDef>();
  for (const m of configs) {
    const def = validateMetricConfig(m, where);
    if (!def.outputTypes.includes(task.outputType))
      throw new UserError(`metric '${m.metric}' does not apply to output_type ${task.outputType}`, {
        ...where,
        field: "metric_list",
        expected: `one of: ${[...DEFAULT_METRICS[task.outputType]].join(", ")}, ...`,
      });
    const resolved = m.higher_is_better === undefined ? def : { ...def, higherIsBetter: m.higher_is_better };
    for (const f of filterNames) defs.set(`${m.metric},${f}`, resolved);
  }
  return { configs, defs, keys: [...defs.keys()] };
}

/** Plans the run record (without writing it). */
export async function planRun(opts: RunTaskOptions): Promise<{ run: RunRecord; fresh: boolean }> {
  const { task, provider } = opts;
  await task.prepare(); // hub datasets: data directory, cache or download
  const evalFile = task.evalFile();
  const files = new Set([evalFile, ...(task.numFewshot > 0 ? [task.fewshotFile()] : [])]);
  const dataHashes: Record<string, string> = {};
  for (const f of files) dataHashes[f] = await fileHash(f);
  const { keys } = taskMetrics(task);
  const available = await task.countDocs();
  const config: RunConfig = {
    taskFile: task.file,
    taskConfig: task.config,
    dataHashes,
    ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
    docsAvailable: available,
    numFewshot: task.numFewshot,
    seed: opts.seed ?? 1234,
    metricKeys: keys,
  };
  // The identity leaves out where the task file lies and what follows from the hashed data.
  const identity = { ...config, taskFile: undefined, docsAvailable: undefined };
  const configHash = createHash("sha256")
    .update(canonicalJson({ config: identity, model: provider.id, version: 1 }))
    .digest("hex");
  let id = opts.runId ?? `${task.name}-${configHash.slice(0, 10)}`;
  if (opts.fresh && !opts.runId) id += `-${Date.now().toString(36)}`;
  const total = opts.limit !== undefined ? Math.min(opts.limit, available) : available;
  const now = new Date().toISOString();
  return {
    fresh: !!opts.fresh,
    run: {
      id,
      task: task.name,
      model: provider.spec,
      modelId: provider.id,
      config,
      configHash,
      status: "running",
      createdAt: now,
      updatedAt: now,
      versions: { assay: ASSAY_VERSION, node: process.version },
      total,
      stats: emptyRunStats(),
      aggregates: {},
    },
  };
}

/** Runs (or resumes) a task; returns the stored run record when done. */
export async function runTask(opts: RunTaskOptions): Promise<RunRecord> {
  const { task, provider, store } = opts;
  const { run: planned } = await planRun(opts);
  const existing = await store.getRun(planned.id);
  if (existing && existing.configHash !== planned.configHash)
    throw new UserError(`run ${planned.id} was made with a different configuration`, {
      field: "--resume",
      hint: "the task, its data, the model or the options changed; start a new run instead",
    });
  if (existing?.status === "completed") return existing;
  const run = existing ?? planned;
  if (!existing) await store.createRun(run);
  else await store.updateRun(run.id, { status: "running", updatedAt: new Date().toISOString() });

  const { configs, defs } = taskMetrics(task);
  const filters = compileFilters(task.config.filter_list, { file: task.file, line: undefined });
  const completed = await store.completedDocIds(run.id);
  const stats = { ...emptyRunStats(), ...run.stats };
  const latency = LatencyHistogram.from(stats.latencyHistogram);
  const writes = new WriteBatcher(store, { background: true });
  const scheduler = new Scheduler(provider, store, opts.scheduler, latency, writes);
  const embedding = EmbeddingScorer.for(task, configs, opts.scheduler ?? {});
  const started = performance.now();
  const costOf = opts.costOf ?? (() => 0);

  let done = completed.size;
  let failure: unknown;
  const progress = () =>
    opts.onProgress?.({
      runId: run.id,
      task: task.name,
      model: provider.spec,
      done,
      total: run.total,
      errors: scheduler.counters.errors,
      cacheHits: stats.cacheHits + scheduler.counters.cacheHits,
      retries: stats.retries + scheduler.counters.retries,
    });

  const processDoc = async (docId: number, doc: Record<string, unknown>, prompt: string) => {
    const { requests, served } = await serveDoc(task, doc, prompt, configs, (r) => scheduler.serveAll(r));
    const { scores, filtered } = await scoreSampleAsync(
      task,
      doc,
      served.map((s) => s.response),
      configs,
      filters,
    );
    if (embedding && filtered) Object.assign(scores, await embedding.score(task, doc, filtered));
    let inputTokens = 0;
    let outputTokens = 0;
    let latencyMs = 0;
    let cost = 0;
    let cached = 0;
    for (const s of served) {
      if (s.cached) {
        cached++;
        continue;
      }
      inputTokens += s.usage.inputTokens;
      outputTokens += s.usage.outputTokens;
      latencyMs += s.latencyMs;
      cost += costOf(s.usage);
    }
    stats.inputTokens += inputTokens;
    stats.outputTokens += outputTokens;
    stats.cost += cost;
    writes.addSample({
      runId: run.id,
      docId,
      doc,
      prompt,
      target: task.docToTarget(doc),
      requests,
      responses: served.map((s) => s.response),
      ...(filtered ? { filtered } : {}),
      scores,
      latencyMs,
      inputTokens,
      outputTokens,
      cost,
      cached,
    });
    done++;
  };

  // Bounded window of samples in flight: memory does not grow with the dataset.
  const window = Math.max(2, scheduler.admit * 2);
  let inFlight = 0;
  let wake: (() => void) | undefined;
  const settled = () => {
    inFlight--;
    wake?.();
  };
  const progressTimer = setInterval(progress, 200);
  try {
    const fewshot = await task.fewshotState();
    for await (const { docId, doc } of task.streamDocs()) {
      if (docId >= run.total) break;
      // Every doc's prompt is built in order, so the seeded few-shot sampler matches an uninterrupted run.
      const prompt = task.prompt(doc, fewshot);
      if (completed.has(docId)) continue;
      if (failure !== undefined || opts.signal?.aborted) break;
      // When the window is full, refill in bulk once half of it has drained, so cache lookups and
      // writes batch across samples instead of going one by one.
      if (inFlight >= window) while (inFlight > window / 2) await new Promise<void>((r) => (wake = r));
      await writes.waitForRoom();
      inFlight++;
      processDoc(docId, doc, prompt)
        .catch((e) => {
          failure ??= e;
        })
        .finally(settled);
    }
    while (inFlight > 0) await new Promise<void>((r) => (wake = r));
  } catch (e) {
    failure ??= e;
    while (inFlight > 0) await new Promise<void>((r) => (wake = r));
  } finally {
    clearInterval(progressTimer);
    await writes.close();
    progress();
  }

  const c = scheduler.counters;
  Object.assign(stats, {
    requests: stats.requests + c.requests,
    cacheHits: stats.cacheHits + c.cacheHits,
    deduplicated: stats.deduplicated + c.deduplicated,
    retries: stats.retries + c.retries,
    errors: stats.errors + c.errors,
    latencyHistogram: latency.toJSON(),
    elapsedMs: stats.elapsedMs + (performance.now() - started),
  });
  const updatedAt = new Date().toISOString();
  if (failure !== undefined || opts.signal?.aborted) {
    const message =
      failure instanceof Error ? failure.message : failure !== undefined ? String(failure) : "interrupted";
    await store.updateRun(run.id, {
      status: failure !== undefined ? "failed" : "interrupted",
      stats,
      updatedAt,
      error: message,
    });
    if (failure instanceof UserError) throw failure;
    if (failure !== undefined)
      throw new UserError(`run ${run.id} stopped: ${message}`, {
        hint: `completed samples are stored; continue with: assay run --resume ${run.id}`,
      });
    return { ...run, status: "interrupted", stats };
  }

  const aggregator = new RunAggregator(defs, run.config.seed);
  for await (const s of store.iterateScores(run.id)) aggregator.add(s.scores);
  const aggregates = aggregator.result();
  await store.updateRun(run.id, { status: "completed", stats, aggregates, updatedAt, error: undefined });
  return { ...run, status: "completed", stats, aggregates, updatedAt };
}
