/**
 * Runs untrusted programs (generated code) under bubblewrap: each run in its own process tree with
 * fresh user, PID, network, IPC and UTS namespaces (no network at all), a read-only view of the system's
 * /usr and nothing else of the host filesystem, a throwaway working directory, rlimits on memory,
 * processes, CPU and file size, and a wall-time limit after which the whole tree is killed.
 * When bubblewrap is missing or cannot create namespaces, nothing runs: the caller gets a UserError.
 */
import { spawn, spawnSync } from "node:child_process";
import { chownSync, existsSync, lstatSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import path from "node:path";
import { UserError } from "../util/errors.js";

export interface SandboxLimits {
  /** Wall time in milliseconds before the sandbox is killed. */
  timeoutMs: number;
  /** Address-space limit in bytes. */
  memoryBytes: number;
  /** Processes the sandboxed program may have at once. */
  maxProcesses: number;
  /** Largest file it may write, in bytes. */
  maxFileBytes: number;
}

export const DEFAULT_LIMITS: SandboxLimits = {
  timeoutMs: 3000, // HF code_eval's default per program
  memoryBytes: 1024 * 1024 * 1024,
  maxProcesses: 32,
  maxFileBytes: 16 * 1024 * 1024,
};

export type SandboxStatus = "passed" | "failed" | "timeout";

export interface SandboxResult {
  status: SandboxStatus;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The tail of stdout and stderr, for failure reports. */
  output: string;
  wallMs: number;
}

const BWRAP_CANDIDATES = ["/usr/bin/bwrap", "/bin/bwrap", "/usr/local/bin/bwrap"];

/** The bwrap binary: $ASSAY_BWRAP, else the first one on a standard path or $PATH. */
function findBwrap(): string | undefined {
  const env = process.env.ASSAY_BWRAP;
  if (env !== undefined) return env && existsSync(env) ? env : undefined;
  for (const c of BWRAP_CANDIDATES) if (existsSync(c)) return c;
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const p = path.join(dir, "bwrap");
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

const PYTHON_CANDIDATES = ["/usr/bin/python3", "/usr/local/bin/python3"];

/** The interpreter must live under /usr (the only host tree the sandbox sees). */
function findPython(): string | undefined {
  const env = process.env.ASSAY_SANDBOX_PYTHON;
  if (env) return existsSync(env) ? env : undefined;
  return PYTHON_CANDIDATES.find((p) => existsSync(p));
}

/** Root-level entries mapped into the sandbox: /usr read-only, and /bin, /lib... as the host has them. */
function rootMounts(): string[] {
  const args = ["--ro-bind", "/usr", "/usr"];
  for (const name of ["bin", "sbin", "lib", "lib32", "lib64", "libx32"]) {
    const p = `/${name}`;
    if (!existsSync(p)) continue;
    const st = lstatSync(p);
    if (st.isSymbolicLink()) args.push("--symlink", readlinkSync(p), p);
    else if (st.isDirectory()) args.push("--ro-bind", p, p);
  }
  return args;
}

/**
 * Root is exempt from RLIMIT_NPROC, so a fork bomb would not be contained: as root, sandboxes run as
 * the unprivileged `nobody` (65534), whose rlimits the kernel enforces.
 */
const SANDBOX_ID = 65534;
const asUser = (): { uid?: number; gid?: number } =>
  process.getuid?.() === 0 ? { uid: SANDBOX_ID, gid: SANDBOX_ID } : {};

let checked: { bwrap: string; python: string; key: string } | undefined;

const INSTALL_HINT =
  "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) on a system that allows user namespaces; " +
  "assay never runs generated code unsandboxed";

/** Finds bwrap and python and checks that a sandbox can start; throws a UserError when not. */
export function checkSandbox(): { bwrap: string; python: string } {
  const key = `${process.env.ASSAY_BWRAP}|${process.env.ASSAY_SANDBOX_PYTHON}`;
  if (checked?.key === key) return checked;
  const bwrap = findBwrap();
  if (!bwrap)
    throw new UserError(
      "refusing to execute generated code: the sandbox tool bubblewrap (bwrap) is not installed",
      {
        field: "sandbox",
        hint: INSTALL_HINT,
      },
    );
  const python = findPython();
  if (!python)
    throw new UserError("refusing to execute generated code: no python3 under /usr for the sandbox", {
      field: "sandbox",
      expected: "/usr/bin/python3 (or ASSAY_SANDBOX_PYTHON)",
    });
  const probe = spawnSync(bwrap, [...baseArgs(), "--", python, "-c", "print(1)"], {
    encoding: "utf8",
    timeout: 10_000,
    env: {},
    ...asUser(),
  });
  if (probe.status !== 0 || probe.stdout.trim() !== "1")
    throw new UserError(
      `refusing to execute generated code: bubblewrap cannot start a sandbox here (${(probe.stderr || probe.error?.message || `exit ${probe.status}`).trim().split("\n")[0]})`,
      { field: "sandbox", hint: INSTALL_HINT },
    );
  checked = { bwrap, python, key };
  return checked;
}

function baseArgs(): string[] {
  return [
    // Every namespace; the user namespace is required (not "-try") so rlimits bind even when run as root.
    "--unshare-all",
    "--unshare-user",
    "--die-with-parent",
    "--new-session",
    "--cap-drop",
    "ALL",
    "--clearenv",
    "--setenv",
    "PATH",
    "/usr/bin:/bin",
    "--setenv",
    "HOME",
    "/work",
    "--setenv",
    "PYTHONDONTWRITEBYTECODE",
    "1",
    ...rootMounts(),
    "--setenv",
    "TMPDIR",
    "/work",
    "--proc",
    "/proc",
    "--dev",
    "/dev",
  ];
}

/**
 * Sets the rlimits inside the sandbox, then runs the program as __main__. The limits are set by the
 * sandboxed process on itself, so a program cannot raise them again.
 */
const LAUNCHER = `
import resource, runpy, sys
as_, nproc, fsize, cpu = (int(x) for x in sys.argv[1:5])
resource.setrlimit(resource.RLIMIT_AS, (as_, as_))
resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
sys.argv = ["program.py"]
runpy.run_path("/work/program.py", run_name="__main__")
`;

// At most one sandbox per core: generated code is CPU-bound, and a small machine must stay usable.
let running = 0;
const waiting: Array<() => void> = [];
const slots = () => Number(process.env.ASSAY_SANDBOX_JOBS) || Math.max(1, availableParallelism());

async function acquire(): Promise<void> {
  if (running < slots()) {
    running++;
    return;
  }
  await new Promise<void>((r) => waiting.push(r));
}

function release(): void {
  const next = waiting.shift();
  if (next) next();
  else running--;
}

/** Runs a Python program in a fresh sandbox. Passed means exit status 0 within the limits. */
export async function runPythonSandboxed(
  program: string,
  limits: Partial<SandboxLimits> = {},
): Promise<SandboxResult> {
  const { bwrap, python } = checkSandbox();
  const lim = { ...DEFAULT_LIMITS, ...limits };
  await acquire();
  const work = mkdtempSync(path.join(tmpdir(), "assay-sbx-"));
  try {
    writeFileSync(path.join(work, "program.py"), program);
    writeFileSync(path.join(work, "launcher.py"), LAUNCHER);
    const user = asUser();
    if (user.uid !== undefined) chownSync(work, user.uid, user.gid ?? user.uid);
    const cpuSeconds = Math.max(1, Math.ceil(lim.timeoutMs / 1000) + 1);
    const args = [
      ...baseArgs(),
      "--bind",
      work,
      "/work",
      "--chdir",
      "/work",
      "--remount-ro",
      "/",
      "--",
      python,
      "-I", // isolated: no user site-packages, no PYTHON* variables
      "/work/launcher.py",
      String(lim.memoryBytes),
      String(lim.maxProcesses),
      String(lim.maxFileBytes),
      String(cpuSeconds),
    ];
    return await new Promise<SandboxResult>((resolve) => {
      const started = performance.now();
      const child = spawn(bwrap, args, {
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
        env: {},
        ...user,
      });
      let output = "";
      const keep = (d: Buffer) => {
        output = (output + d.toString("utf8")).slice(-4000);
      };
      child.stdout.on("data", keep);
      child.stderr.on("data", keep);
      let timedOut = false;
      // Killing bwrap's process group ends the sandbox's PID namespace, and with it every process inside.
      const timer = setTimeout(() => {
        timedOut = true;
        try {
          if (child.pid) process.kill(-child.pid, "SIGKILL");
        } catch {
          child.kill("SIGKILL");
        }
      }, lim.timeoutMs);
      const finish = (exitCode: number | null, signal: NodeJS.Signals | null) => {
        clearTimeout(timer);
        resolve({
          status: timedOut ? "timeout" : exitCode === 0 ? "passed" : "failed",
          exitCode,
          signal,
          output,
          wallMs: performance.now() - started,
        });
      };
      child.on("error", (e) => {
        output += String(e.message);
        finish(null, null);
      });
      child.on("close", finish);
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
    release();
  }
}
