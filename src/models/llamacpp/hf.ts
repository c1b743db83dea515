/**
 * `hf:owner/repo/path/file.gguf`: a GGUF file from the Hugging Face Hub, downloaded once into a local
 * cache (`$ASSAY_MODEL_CACHE`, default `~/.cache/assay/models`). A cached file is used without network.
 */
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { UserError } from "../../util/errors.js";

export interface HfRef {
  owner: string;
  repo: string;
  /** Path of the file inside the repository. */
  file: string;
  /** Branch, tag or commit (`hf:owner/repo/file.gguf@rev`); default `main`. */
  revision: string;
}

export interface HfDownloadOptions {
  /** Cache directory; default `$ASSAY_MODEL_CACHE`, then `~/.cache/assay/models`. */
  cacheDir?: string;
  /** Default `$HF_TOKEN`. */
  token?: string;
  /** Hub address; default `$HF_ENDPOINT`, then https://huggingface.co. */
  endpoint?: string;
  /** Gives up when no response arrives within this many milliseconds (default 30 s). */
  timeoutMs?: number;
  env?: Record<string, string | undefined>;
}

export function parseHfRef(ref: string): HfRef {
  const body = ref.startsWith("hf:") ? ref.slice(3) : ref;
  const at = body.lastIndexOf("@");
  const main = at > 0 ? body.slice(0, at) : body;
  const revision = at > 0 ? body.slice(at + 1) : "main";
  const parts = main.split("/").filter((p) => p.length > 0);
  if (parts.length < 3 || !main.toLowerCase().endsWith(".gguf") || parts.includes("..")) {
    throw new UserError(`bad Hugging Face model reference '${ref}'`, {
      field: "model",
      expected: "llamacpp:hf:<owner>/<repo>/<file>.gguf[@revision]",
    });
  }
  return { owner: parts[0], repo: parts[1], file: parts.slice(2).join("/"), revision };
}

export function modelCacheDir(env: Record<string, string | undefined> = process.env): string {
  return env.ASSAY_MODEL_CACHE || path.join(os.homedir(), ".cache", "assay", "models");
}

/** Where the file of `ref` lives in the cache. */
export function hfCachePath(ref: HfRef, cacheDir: string): string {
  return path.join(cacheDir, "hf", ref.owner, ref.repo, ref.revision, ...ref.file.split("/"));
}

/** The local path of `ref`, downloading it first when it is not cached. */
export async function resolveHfModel(ref: HfRef, opts: HfDownloadOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const dest = hfCachePath(ref, opts.cacheDir ?? modelCacheDir(env));
  if (existsSync(dest)) return dest;
  const endpoint = (opts.endpoint ?? env.HF_ENDPOINT ?? "https://huggingface.co").replace(/\/+$/, "");
  const url = `${endpoint}/${ref.owner}/${ref.repo}/resolve/${encodeURIComponent(ref.revision)}/${ref.file
    .split("/")
    .map(encodeURIComponent)
    .join("/")}`;
  const token = opts.token ?? env.HF_TOKEN;
  const name = `hf:${ref.owner}/${ref.repo}/${ref.file}`;
  const offlineHint = `download it yourself and use llamacpp:<path.gguf>, or place it at ${dest}`;
  const timeoutMs = opts.timeoutMs ?? 30_000;

  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  let res: Response;
  try {
    res = await fetch(url, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      redirect: "follow",
      signal: ac.signal,
    });
  } catch (e) {
    clearTimeout(timer);
    const cause = ac.signal.aborted
      ? `no response within ${timeoutMs} ms`
      : ((e as { cause?: { code?: string; message?: string } }).cause?.code ??
        (e as { cause?: Error }).cause?.message ??
        (e as Error).message);
    throw new UserError(`cannot download ${name} from ${endpoint} (offline or unreachable: ${cause})`, {
      field: "model",
      hint: offlineHint,
    });
  }
  clearTimeout(timer);
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    const why =
      res.status === 401 || res.status === 403
        ? token
          ? "access denied with the given HF_TOKEN"
          : "access denied; set HF_TOKEN for gated or private repositories"
        : res.status === 404
          ? "no such repository, revision or file"
          : `HTTP ${res.status}`;
    throw new UserError(`cannot download ${name}: ${why}`, { field: "model", hint: offlineHint });
  }
  mkdirSync(path.dirname(dest), { recursive: true });
  // Write beside the destination and rename, so an interrupted download never looks cached.
  const part = `${dest}.${process.pid}.part`;
  try {
    await pipeline(Readable.fromWeb(res.body as any), createWriteStream(part));
    renameSync(part, dest);
  } catch (e) {
    rmSync(part, { force: true });
    throw new UserError(`download of ${name} failed: ${(e as Error).message}`, {
      field: "model",
      hint: offlineHint,
    });
  }
  return dest;
}
