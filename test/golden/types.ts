/** One line of a golden case file. Fields vary by area; see ../shared/golden/<area>/README.md. */
export type GoldenCase = Record<string, any> & { id: string; expected: unknown };

export interface GoldenContext {
  /** Absolute path of the case file. */
  file: string;
  /** Directory of the case file; relative paths inside cases resolve against it. */
  dir: string;
  /** Scratch space shared by the cases of one file (e.g. a loaded model, running totals). */
  state: Map<string, unknown>;
}

/** Returns null when the case agrees with the reference, or a short description of the mismatch. */
export type GoldenChecker = (c: GoldenCase, ctx: GoldenContext) => string | null | Promise<string | null>;

/** Optional check over a whole file once all its cases ran (e.g. totals); counts as one more case. */
export type GoldenFileCheck = (ctx: GoldenContext) => string | null | Promise<string | null>;

export interface CheckerModule {
  /** Keyed by the case's `metric` or `stat` field (or the kind the runner derives, see run.ts). */
  checkers: Record<string, GoldenChecker>;
  fileChecks?: Record<string, GoldenFileCheck>;
}
