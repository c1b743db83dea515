/**
 * Commits SQLite batches on a worker thread: the run's thread serializes rows (JSON) and the worker
 * only inserts them, so inserts don't stall request handling. Batches commit in order; each write
 * resolves when its transaction is committed.
 */
import { isMainThread, parentPort, type Worker, workerData } from "node:worker_threads";
import { startModuleWorker } from "../util/worker.js";
import { cacheRow, SqliteStore, sampleRow } from "./sqlite.js";
import type { BatchWriter, WriteBatch } from "./types.js";

interface WriteMessage {
  id: number;
  samples: unknown[][];
  cache: unknown[][];
}

export class WorkerBatchWriter implements BatchWriter {
  private worker: Worker;
  private nextId = 0;
  private pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private failure: Error | undefined;

  constructor(file: string) {
    this.worker = startModuleWorker(new URL("./writer_thread.js", import.meta.url), { file });
    this.worker.on("message", (m: { id: number; error?: string }) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.error) p?.reject(new Error(`store write failed: ${m.error}`));
      else p?.resolve();
    });
    this.worker.on("error", (e) => this.fail(e));
    this.worker.on("exit", (code) => {
      if (this.pending.size > 0) this.fail(new Error(`store writer thread exited with code ${code}`));
    });
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  write(batch: WriteBatch): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const now = Date.now();
    const msg: WriteMessage = {
      id: this.nextId++,
      samples: batch.samples.map(sampleRow),
      cache: batch.cache.map((c) => cacheRow(c, now)),
    };
    return new Promise((resolve, reject) => {
      this.pending.set(msg.id, { resolve, reject });
      this.worker.postMessage(msg);
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

if (!isMainThread && parentPort && workerData?.file) {
  const store = new SqliteStore(workerData.file as string);
  const port = parentPort;
  port.on("message", (m: WriteMessage) => {
    try {
      store.writeRows(m.samples, m.cache);
      port.postMessage({ id: m.id });
    } catch (e) {
      port.postMessage({ id: m.id, error: (e as Error).message });
    }
  });
}
