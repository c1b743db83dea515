/** Starts a worker thread from a module of this package, compiled (.js) or from TypeScript sources (tests). */
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";

/** `moduleUrl` is the `.js` URL of the worker module (e.g. `new URL("./x.js", import.meta.url)`). */
export function startModuleWorker(moduleUrl: URL, workerData: unknown): Worker {
  const js = fileURLToPath(moduleUrl);
  if (existsSync(js)) return new Worker(js, { workerData });
  // Running from sources: load the .ts twin through tsx.
  const ts = pathToFileURL(js.replace(/\.js$/, ".ts")).href;
  return new Worker(
    `import("tsx/esm/api").then((m) => { m.register(); return import(${JSON.stringify(ts)}); })`,
    { eval: true, workerData },
  );
}
