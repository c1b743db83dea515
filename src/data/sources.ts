/**
 * Where a hub dataset's split comes from: a local copy under the data directory (`--data-dir` or
 * ASSAY_DATA_DIR), the download cache, or the Hugging Face Hub (its parquet export, fetched once into
 * the cache with HF_TOKEN when set).
 */
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { UserError, type Where } from "../util/errors.js";
import { DATA_FILE_RE, loadDocs } from "./dataset.js";
import type { LocalSpec } from "./formats.js";

let dataDirOverride: string | undefined;

/** Sets the data directory for this process (the `--data-dir` option); wins over ASSAY_DATA_DIR. */
export function setDataDir(dir: string | undefined): void {
  dataDirOverride = dir === undefined ? undefined : path.resolve(dir);
}

export function dataDir(): string | undefined {
  const d = dataDirOverride ?? process.env.ASSAY_DATA_DIR;
  return d ? path.resolve(d) : undefined;
}

/** Downloaded hub splits live here: $ASSAY_CACHE_DIR/datasets, else $XDG_CACHE_HOME or ~/.cache/assay. */
export function hubCacheDir(): string {
  const base =
    process.env.ASSAY_CACHE_DIR ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), ".cache"), "assay");
  return path.join(path.resolve(base), "datasets");
}

export interface HubSplit {
  repo: string;
  config: string | null | undefined;
  split: string;
}

export interface ResolvedSplit {
  file: string;
  /** Set for a local copy: the reader that turns its format into the hub schema. */
  local?: LocalSpec;
  origin: "data-dir" | "cache" | "hub";
}

const configDir = (c: string | null | undefined) => c ?? "default";

/** Split files in a hub-like tree: `<root>/<repo>/<config>/<split>[-shard].<ext>` (the hub repo layout too). */
function findSplitFiles(root: string, s: HubSplit): string[] {
  const dirs = [
    path.join(root, s.repo, configDir(s.config)),
    path.join(root, s.repo, "data"),
    path.join(root, s.repo),
  ];
  for (const dir of dirs) {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) continue;
    const files = readdirSync(dir)
      .filter((f) => DATA_FILE_RE.test(f) && (f.startsWith(`${s.split}.`) || f.startsWith(`${s.split}-`)))
      .sort()
      .map((f) => path.join(dir, f));
    if (files.length > 0) return files;
  }
  return [];
}

/** One file for a split: a single shard as is, several shards combined into one JSONL in the cache. */
async function singleFile(files: string[], s: HubSplit): Promise<string> {
  if (files.length === 1) return files[0];
  const dir = path.join(hubCacheDir(), "combined", s.repo, configDir(s.config));
  const out = path.join(dir, `${s.split}.jsonl`);
  const newest = Math.max(...files.map((f) => statSync(f).mtimeMs));
  if (existsSync(out) && statSync(out).mtimeMs >= newest) return out;
  mkdirSync(dir, { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  const w = createWriteStream(tmp);
  for (const f of files) for (const d of await loadDocs(f)) w.write(`${JSON.stringify(d)}\n`);
  await new Promise<void>((resolve, reject) => w.end((e?: Error | null) => (e ? reject(e) : resolve())));
  renameSync(tmp, out);
  return out;
}

/** Fills `{dataset_name}` (and `{split}`) in a local path. */
const fill = (p: string, s: HubSplit) =>
  p.replaceAll("{dataset_name}", s.config ?? "").replaceAll("{split}", s.split);

/** The data-dir copy of a split, if any: the task's `assay.local` file, else a hub-like layout. */
export async function findInDataDir(
  s: HubSplit,
  local: LocalSpec | undefined,
  dir = dataDir(),
): Promise<ResolvedSplit | undefined> {
  if (!dir) return undefined;
  if (local) {
    const file = path.resolve(dir, fill(local.path, s));
    if (existsSync(file))
      return {
        file,
        local: {
          ...local,
          path: file,
          ...(local.labels ? { labels: path.resolve(dir, fill(local.labels, s)) } : {}),
        },
        origin: "data-dir",
      };
  }
  const files = findSplitFiles(dir, s);
  return files.length > 0 ? { file: await singleFile(files, s), origin: "data-dir" } : undefined;
}

/** What `findInDataDir` looks for, for error messages. */
export function dataDirCandidates(s: HubSplit, local: LocalSpec | undefined, dir: string): string[] {
  return [
    ...(local ? [path.resolve(dir, fill(local.path, s))] : []),
    path.join(dir, s.repo, configDir(s.config), `${s.split}.{parquet,jsonl,json,csv}`),
  ];
}

/** A split already in the download cache. */
export async function findInCache(s: HubSplit): Promise<ResolvedSplit | undefined> {
  const files = findSplitFiles(hubCacheDir(), s);
  return files.length > 0 ? { file: await singleFile(files, s), origin: "cache" } : undefined;
}

const hubEndpoint = () => (process.env.HF_ENDPOINT ?? "https://huggingface.co").replace(/\/+$/, "");

function authHeaders(): Record<string, string> {
  const token = process.env.HF_TOKEN ?? process.env.HUGGING_FACE_HUB_TOKEN;
  return token ? { authorization: `Bearer ${token}` } : {};
}

function describe(s: HubSplit): string {
  return `${s.repo}${s.config ? ` (${s.config})` : ""} split '${s.split}'`;
}

async function hubFetch(url: string, s: HubSplit, where: Where): Promise<Response> {
  const timeoutMs = Number(process.env.ASSAY_HUB_TIMEOUT_MS ?? 60_000);
  let res: Response;
  try {
    res = await fetch(url, {
      headers: authHeaders(),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: "follow",
    });
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const cause =
      err.name === "TimeoutError"
        ? `no answer in ${timeoutMs / 1000} s`
        : (err.cause?.code ?? err.cause?.message ?? err.message);
    throw new UserError(
      `cannot reach the Hugging Face Hub (${hubEndpoint()}) to download ${describe(s)}: ${cause}. Offline? Point --data-dir (or ASSAY_DATA_DIR) at a local copy of the data`,
      where,
    );
  }
  if (res.status === 401 || res.status === 403)
    throw new UserError(`the Hugging Face Hub refused access to ${describe(s)} (HTTP ${res.status})`, {
      ...where,
      hint: process.env.HF_TOKEN
        ? "HF_TOKEN lacks access to this dataset"
        : "set HF_TOKEN to a token with access, or use --data-dir",
    });
  if (res.status === 404)
    throw new UserError(`${describe(s)} not found on the Hugging Face Hub`, {
      ...where,
      expected: "an existing dataset, config and split",
    });
  if (!res.ok)
    throw new UserError(`the Hugging Face Hub answered HTTP ${res.status} for ${describe(s)}`, {
      ...where,
      hint: "try again later, or use --data-dir with a local copy",
    });
  return res;
}

/** Downloads a split's parquet files from the hub's parquet export into the cache. */
export async function downloadSplit(s: HubSplit, where: Where): Promise<ResolvedSplit> {
  const config = configDir(s.config);
  const listUrl = `${hubEndpoint()}/api/datasets/${s.repo}/parquet/${encodeURIComponent(config)}/${encodeURIComponent(s.split)}`;
  const urls = (await (await hubFetch(listUrl, s, where)).json()) as unknown;
  if (!Array.isArray(urls) || urls.length === 0 || urls.some((u) => typeof u !== "string"))
    throw new UserError(`the Hugging Face Hub listed no parquet files for ${describe(s)}`, where);
  const dir = path.join(hubCacheDir(), s.repo, config);
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < urls.length; i++) {
    const res = await hubFetch(urls[i] as string, s, where);
    const name =
      urls.length === 1 ? `${s.split}.parquet` : `${s.split}-${String(i).padStart(5, "0")}.parquet`;
    const file = path.join(dir, name);
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, Buffer.from(await res.arrayBuffer()));
    renameSync(tmp, file);
    files.push(file);
  }
  return { file: await singleFile(files, s), origin: "hub" };
}

/**
 * A hub split's file: the data directory when one is set (and nothing else: a set data directory that
 * lacks the split is an error), else the cache, else a download.
 */
export async function resolveHubSplit(
  s: HubSplit,
  local: LocalSpec | undefined,
  where: Where,
  opts: { download?: boolean } = {},
): Promise<ResolvedSplit | undefined> {
  const dir = dataDir();
  if (dir) {
    const found = await findInDataDir(s, local, dir);
    if (found) return found;
    throw new UserError(`no local copy of ${describe(s)} in the data directory ${dir}`, {
      ...where,
      expected: `one of: ${dataDirCandidates(s, local, dir).join(", ")}`,
      hint: "unset --data-dir / ASSAY_DATA_DIR to download from the Hugging Face Hub",
    });
  }
  const cached = await findInCache(s);
  if (cached) return cached;
  if (opts.download === false) return undefined;
  return downloadSplit(s, where);
}
