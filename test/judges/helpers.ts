/** Judge clients for tests: the real provider for a spec, a scheduler on a fresh SQLite store. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Scheduler } from "../../src/engine/scheduler.js";
import { JudgeClient, type JudgeClientOptions } from "../../src/judges/client.js";
import { createProvider } from "../../src/models/registry.js";
import type { ModelProvider } from "../../src/models/types.js";
import { SqliteStore } from "../../src/store/sqlite.js";
import type { Store } from "../../src/store/types.js";

export interface TestJudge {
  client: JudgeClient;
  provider: ModelProvider;
  store: Store;
  scheduler: Scheduler;
  /** A second client on the same store (to see what the cache serves). */
  again(): JudgeClient;
  close(): Promise<void>;
}

export async function testJudge(
  spec: string,
  opts: JudgeClientOptions = {},
  store?: Store,
  provider?: ModelProvider,
): Promise<TestJudge> {
  const dir = mkdtempSync(path.join(tmpdir(), "assay-judge-"));
  const st = store ?? new SqliteStore(path.join(dir, "a.db"));
  const p = provider ?? (await createProvider(spec, { cacheDir: path.join(dir, "cache") }));
  const mk = () => new Scheduler(p, st, { maxRetries: 3, sleep: async () => {}, concurrency: 8 });
  const scheduler = mk();
  const client = new JudgeClient(p, scheduler, { seed: 1234, ...opts });
  return {
    client,
    provider: p,
    store: st,
    scheduler,
    again: () => new JudgeClient(p, mk(), { seed: 1234, ...opts }),
    async close() {
      await scheduler.flush();
      if (!provider) await p.close?.();
      if (!store) await st.close();
    },
  };
}
