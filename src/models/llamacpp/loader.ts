/**
 * Lazy loading of node-llama-cpp, an optional peer dependency: users who only call remote APIs never
 * install its native binaries. Everything here runs offline: prebuilt binaries only, no source builds,
 * no downloads.
 */
import { UserError } from "../../util/errors.js";

export type NodeLlamaCpp = typeof import("node-llama-cpp");
export type Llama = Awaited<ReturnType<NodeLlamaCpp["getLlama"]>>;
export type Importer = () => Promise<NodeLlamaCpp>;

export const INSTALL_COMMAND = "npm install node-llama-cpp";
export const INSTALL_MESSAGE = `llamacpp: models need the optional package node-llama-cpp, which is not installed; install it with \`${INSTALL_COMMAND}\``;

const defaultImporter: Importer = () => import("node-llama-cpp");

/** True when `e` says the package itself could not be resolved (not a failure inside it). */
function isMissingPackage(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  if (err?.code !== "ERR_MODULE_NOT_FOUND" && err?.code !== "MODULE_NOT_FOUND") return false;
  return /node-llama-cpp/.test(err.message ?? "");
}

let cached: Promise<NodeLlamaCpp> | undefined;

/** Imports node-llama-cpp, or throws a UserError that says how to install it. `importer` is for tests. */
export async function loadNodeLlamaCpp(importer?: Importer): Promise<NodeLlamaCpp> {
  const load = async () => {
    try {
      return await (importer ?? defaultImporter)();
    } catch (e) {
      if (isMissingPackage(e)) throw new UserError(INSTALL_MESSAGE);
      throw new UserError(`llamacpp: node-llama-cpp failed to load: ${(e as Error).message}`, {
        hint: `reinstall it with \`${INSTALL_COMMAND}\``,
      });
    }
  };
  if (importer) return load();
  cached ??= load().catch((e) => {
    cached = undefined;
    throw e;
  });
  return cached;
}

export type GpuOption = "auto" | false | "cuda" | "vulkan" | "metal";

const llamas = new Map<string, Promise<Llama>>();

/**
 * One llama.cpp backend per process and GPU choice. `build: "never"` and `skipDownload` make a missing
 * prebuilt binary an error instead of a download-and-compile at run time.
 */
export function getLlamaBackend(gpu: GpuOption = "auto"): Promise<Llama> {
  const key = String(gpu);
  let p = llamas.get(key);
  if (!p) {
    p = (async () => {
      const nlc = await loadNodeLlamaCpp();
      try {
        return await nlc.getLlama({
          gpu,
          build: "never",
          skipDownload: true,
          progressLogs: false,
          logLevel: nlc.LlamaLogLevel.error,
          // No cap here: each context sets its own thread count.
          maxThreads: 0,
        });
      } catch (e) {
        throw new UserError(`llamacpp: no usable llama.cpp binary: ${(e as Error).message}`, {
          hint: `node-llama-cpp ships prebuilt binaries for common platforms; reinstall with \`${INSTALL_COMMAND}\` or build one with \`npx --no node-llama-cpp source download\``,
        });
      }
    })();
    p.catch(() => llamas.delete(key));
    llamas.set(key, p);
  }
  return p;
}
