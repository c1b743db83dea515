/** lm-eval response filters (`filter_list`): regex extraction, take_first and friends. */
import { didYouMean, UserError } from "../util/errors.js";
import type { FilterConfig, FilterStep } from "./config.js";
import { pythonRegex } from "./jinja.js";

/** One filter step maps the list of a sample's responses to a new list. */
type Step = (resps: string[]) => string[];

function regexStep(step: FilterStep): Step {
  const pattern = (step.regex_pattern as string | undefined) ?? "#### (\\-?[0-9\\.\\,]+)";
  const groupSelect = (step.group_select as number | undefined) ?? 0;
  const fallback = (step.fallback as string | undefined) ?? "[invalid]";
  const re = pythonRegex(pattern, "g");
  // Python re.findall: whole matches without groups, the group with one, tuples with several.
  return (resps) =>
    resps.map((resp) => {
      const matches = [...resp.matchAll(re)].map((m) =>
        m.length === 1 ? m[0] : m.length === 2 ? m[1] : m.slice(1),
      );
      if (matches.length === 0) return fallback;
      const idx = groupSelect < 0 ? matches.length + groupSelect : groupSelect;
      let match = matches[idx];
      if (match === undefined) return fallback;
      if (Array.isArray(match)) match = match.find((g) => g) ?? "";
      return (match ?? "").trim();
    });
}

const STEPS: Record<string, (step: FilterStep) => Step> = {
  regex: regexStep,
  take_first: () => (resps) => resps.slice(0, 1),
  take_first_k: (s) => (resps) => resps.slice(0, Number(s.k ?? 1)),
  lowercase: () => (resps) => resps.map((r) => r.toLowerCase()),
  uppercase: () => (resps) => resps.map((r) => r.toUpperCase()),
  remove_whitespace: () => (resps) => resps.map((r) => r.replace(/^ +/, "")),
  strip: () => (resps) => resps.map((r) => r.trim()),
  majority_vote: () => (resps) => {
    const counts = new Map<string, number>();
    for (const r of resps) counts.set(r, (counts.get(r) ?? 0) + 1);
    let best = resps[0];
    for (const [r, c] of counts) if (c > (counts.get(best) ?? 0)) best = r;
    return [best];
  },
};

export interface CompiledFilter {
  name: string;
  apply(resps: string[]): string[];
}

/** The default pipeline when a task has no filter_list: named "none", takes the first response. */
export const NO_FILTER: CompiledFilter = { name: "none", apply: (r) => r.slice(0, 1) };

export function compileFilters(
  list: FilterConfig[] | undefined,
  where: { file: string; line?: number },
): CompiledFilter[] {
  if (!list || list.length === 0) return [NO_FILTER];
  return list.map((f) => {
    const steps = f.filter.map((s) => {
      const make = STEPS[s.function];
      if (!make)
        throw new UserError(`unknown filter function '${s.function}'`, {
          ...where,
          field: "filter_list",
          expected: Object.keys(STEPS).join(", "),
          hint: didYouMean(String(s.function), Object.keys(STEPS)),
        });
      return make(s);
    });
    return { name: f.name, apply: (resps) => steps.reduce((r, step) => step(r), resps) };
  });
}
