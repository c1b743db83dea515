/** Number formatting and grouping shared by the text, Markdown and HTML reports. */
import type { AggregateValue, RunRecord } from "../store/types.js";

/** A metric value: fixed decimals in the usual range, exponent notation outside it. */
export function fmtNum(x: number, digits = 4): string {
  if (x === undefined || x === null || Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-4 || a >= 1e6)) return x.toExponential(2);
  if (a >= 1000) return x.toFixed(1);
  if (a >= 100) return x.toFixed(2);
  return x.toFixed(digits);
}

/** A difference, always signed so that "+0.0000" and "-0.0000" still show direction. */
export function fmtSigned(x: number, digits = 4): string {
  const s = fmtNum(x, digits);
  return Number.isFinite(x) && x >= 0 && !s.startsWith("-") ? `+${s}` : s;
}

export function fmtCI(lo: number, hi: number, digits = 4): string {
  return `[${fmtNum(lo, digits)}, ${fmtNum(hi, digits)}]`;
}

export function fmtP(p: number): string {
  if (p === undefined || p === null || Number.isNaN(p)) return "nan";
  if (p < 0.001) return "<0.001";
  return p.toFixed(3);
}

/** Integer with thousands separators, independent of the process locale. */
export function fmtInt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const s = Math.round(Math.abs(n)).toString();
  return (n < 0 ? "-" : "") + s.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** Latency in ms; the histogram has 1% resolution, so three significant digits are honest. */
export function fmtMs(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return "–";
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 1) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

export function fmtCost(usd: number): string {
  if (!Number.isFinite(usd)) return "–";
  return `$${usd.toFixed(usd !== 0 && Math.abs(usd) < 1 ? 4 : 2)}`;
}

export function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return "–";
  if (s < 60) return `${s.toFixed(1)} s`;
  const total = Math.round(s);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  return h > 0 ? `${h}h ${String(m).padStart(2, "0")}m` : `${m}m ${String(sec).padStart(2, "0")}s`;
}

/** `acc,none` → {metric: "acc", filter: "none"}; a key without a comma has filter "none". */
export function splitKey(key: string): { metric: string; filter: string } {
  const i = key.indexOf(",");
  return i < 0 ? { metric: key, filter: "none" } : { metric: key.slice(0, i), filter: key.slice(i + 1) };
}

/** Aggregate keys in the order the task declared them, then any others the run holds. */
export function aggregateKeys(run: RunRecord): string[] {
  const aggs = run.aggregates ?? {};
  const declared = (run.config?.metricKeys ?? []).filter((k) => k in aggs);
  const seen = new Set(declared);
  return [...declared, ...Object.keys(aggs).filter((k) => !seen.has(k))];
}

export function aggregateEntries(run: RunRecord): Array<[string, AggregateValue]> {
  return aggregateKeys(run).map((k) => [k, run.aggregates[k]]);
}

/** Runs grouped by task, in first-appearance order. */
export function groupByTask(runs: RunRecord[]): Map<string, RunRecord[]> {
  const out = new Map<string, RunRecord[]>();
  for (const r of runs) {
    const list = out.get(r.task);
    if (list) list.push(r);
    else out.set(r.task, [r]);
  }
  return out;
}

/** Replaces control characters (ANSI escapes, newlines) so user strings cannot garble a terminal. */
export function printable(s: string): string {
  let out = "";
  for (const ch of String(s)) {
    const c = ch.codePointAt(0)!;
    if (c < 0x20 || (c >= 0x7f && c < 0xa0)) {
      out += ch === "\n" ? "\\n" : ch === "\t" ? "\\t" : `\\x${c.toString(16).padStart(2, "0")}`;
    } else out += ch;
  }
  return out;
}

/** Display width in code points (close enough for aligning ASCII-heavy tables). */
export const width = (s: string): number => [...s].length;

/** Aligns rows into columns; `right[i]` right-aligns column i (numbers). */
export function alignColumns(header: string[], rows: string[][], right: boolean[], gap = "  "): string[] {
  const widths = header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ""))));
  const pad = (s: string, i: number) => {
    const fill = " ".repeat(widths[i] - width(s));
    return right[i] ? fill + s : s + fill;
  };
  const line = (r: string[]) =>
    r
      .map((c, i) => pad(c ?? "", i))
      .join(gap)
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join(gap), ...rows.map(line)];
}
