/**
 * Progress output: a bar with rate, ETA, errors and cache hits on a TTY; otherwise a quiet
 * structured log line every few seconds on stderr; nothing with --json.
 */
import cliProgress from "cli-progress";
import type { RunProgress } from "../engine/runner.js";

export interface ProgressReporter {
  update(p: RunProgress): void;
  stop(): void;
}

export function createProgress(mode: "tty" | "log" | "silent"): ProgressReporter {
  if (mode === "silent") return { update() {}, stop() {} };
  if (mode === "log") {
    let last = 0;
    let lastDone = -1;
    return {
      update(p) {
        const now = Date.now();
        if ((now - last < 5000 && p.done < p.total) || p.done === lastDone) return;
        last = now;
        lastDone = p.done;
        process.stderr.write(
          `${JSON.stringify({ event: "progress", run: p.runId, done: p.done, total: p.total, errors: p.errors, cache_hits: p.cacheHits, retries: p.retries })}\n`,
        );
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      format:
        "{task} |{bar}| {value}/{total} | {speed}/s | ETA {eta_formatted} | errors {errors} | cache {cacheHits} | retries {retries}",
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let t0 = Date.now();
  let done0 = 0;
  return {
    update(p) {
      const payload = {
        task: p.task,
        errors: p.errors,
        cacheHits: p.cacheHits,
        retries: p.retries,
        speed: 0,
      };
      if (!started) {
        started = true;
        t0 = Date.now();
        done0 = p.done;
        bar.start(p.total, p.done, payload);
      }
      const secs = (Date.now() - t0) / 1000;
      payload.speed = secs > 0 ? Math.round((p.done - done0) / secs) : 0;
      bar.update(p.done, payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

export function progressMode(json: boolean): "tty" | "log" | "silent" {
  if (json) return "silent";
  return process.stderr.isTTY ? "tty" : "log";
}
