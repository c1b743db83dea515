import type { Command } from "commander";
import { readJsonl } from "../../data/jsonl.js";
import { alignColumns, fmtNum, printable } from "../../report/format.js";
import {
  type AgreementCounts,
  type AlphaLevel,
  agreementHumanHuman,
  cohenKappa,
  fleissKappa,
  krippendorffAlpha,
  type Label,
  sortedLabels,
} from "../../stats/agreement.js";
import { didYouMean, UserError } from "../../util/errors.js";
import { printJson } from "../context.js";

const LEVELS: AlphaLevel[] = ["nominal", "ordinal", "interval", "ratio"];

export interface AgreementReport {
  file: string;
  items: number;
  raters: string[];
  ratings: number;
  labels: Label[];
  level: AlphaLevel;
  tieLabels: Label[] | null;
  percentAgreement: { withTies: AgreementCounts; withoutTies: AgreementCounts | null };
  cohen: Array<{ a: string; b: string; n: number; kappa: number | null }>;
  fleiss: { ratersPerItem: number; fleiss: number; randolph: number } | { skipped: string };
  krippendorff: { level: AlphaLevel; alpha: number | null; nPairable: number; D_o: number; D_e: number };
}

const isLabel = (v: unknown): v is Label =>
  typeof v === "string" || (typeof v === "number" && Number.isFinite(v));
const isId = (v: unknown): v is string | number =>
  (typeof v === "string" && v !== "") || (typeof v === "number" && Number.isFinite(v));

/** Maps `--labels` entries onto the labels as typed in the data (2 in the data matches "2" on the command line). */
function labelList(text: string, seen: Map<string, Label>): Label[] {
  const entries = text.split(",").map((s) => s.trim());
  if (entries.some((e) => e === ""))
    throw new UserError(`invalid value '${text}'`, { field: "--labels", expected: "a,b,c" });
  if (new Set(entries).size !== entries.length)
    throw new UserError(`duplicate label in '${text}'`, { field: "--labels", expected: "distinct labels" });
  return entries.map((e) => seen.get(e) ?? (e !== "" && Number.isFinite(Number(e)) ? Number(e) : e));
}

export async function agreementReport(
  file: string,
  opts: { level?: string; labels?: string; tieLabels?: string } = {},
): Promise<AgreementReport> {
  const level = (opts.level ?? "nominal") as AlphaLevel;
  if (!LEVELS.includes(level))
    throw new UserError(`unknown level '${opts.level}'`, {
      field: "--level",
      expected: LEVELS.join(", "),
      hint: didYouMean(String(opts.level), LEVELS),
    });
  const itemIndex = new Map<string, number>();
  const raterSet = new Set<string>();
  // item → rater → {label, line}
  const cells: Array<Map<string, { label: Label | null; line: number }>> = [];
  const firstLine = new Map<string, number>();
  const seen = new Map<string, Label>();
  let ratings = 0;
  for await (const { line, value } of readJsonl(file)) {
    const where = { file, line };
    for (const f of ["item", "rater"] as const)
      if (!isId(value[f]))
        throw new UserError(
          value[f] === undefined ? "missing field" : `invalid value ${JSON.stringify(value[f])}`,
          {
            ...where,
            field: f,
            expected: "a string or number id",
          },
        );
    const label = value.label;
    if (!("label" in value))
      throw new UserError("missing field", {
        ...where,
        field: "label",
        expected: "a string or number label (null = missing)",
      });
    if (label !== null && !isLabel(label))
      throw new UserError(`invalid value ${JSON.stringify(label)}`, {
        ...where,
        field: "label",
        expected: "a string or number label (null = missing)",
      });
    if (label !== null && (level === "interval" || level === "ratio") && typeof label !== "number")
      throw new UserError(`invalid value ${JSON.stringify(label)}`, {
        ...where,
        field: "label",
        expected: `a number (--level ${level})`,
      });
    if (label !== null && level === "ratio" && (label as number) < 0)
      throw new UserError(`invalid value ${label}`, {
        ...where,
        field: "label",
        expected: "a number ≥ 0 (--level ratio)",
      });
    const item = String(value.item);
    const rater = String(value.rater);
    let i = itemIndex.get(item);
    if (i === undefined) {
      itemIndex.set(item, (i = cells.length));
      cells.push(new Map());
    }
    const prev = cells[i].get(rater);
    if (prev)
      throw new UserError(`rater '${rater}' rated item '${item}' twice (first on line ${prev.line})`, {
        ...where,
        field: "rater",
        expected: "one label per (item, rater)",
      });
    cells[i].set(rater, { label: label as Label | null, line });
    raterSet.add(rater);
    if (label !== null) {
      ratings++;
      const key = String(label);
      if (!seen.has(key)) seen.set(key, label as Label);
      if (!firstLine.has(key)) firstLine.set(key, line);
    }
  }
  if (ratings === 0)
    throw new UserError("no ratings in file", { file, expected: "JSONL lines {item, rater, label}" });
  const raters = [...raterSet].sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  if (raters.length < 2)
    throw new UserError(`only one rater ('${raters[0]}')`, {
      file,
      field: "rater",
      expected: "two or more raters",
    });

  let labels: Label[];
  if (opts.labels !== undefined) {
    labels = labelList(opts.labels, seen);
    const listed = new Set(labels.map(String));
    for (const [key, l] of seen)
      if (!listed.has(key))
        throw new UserError(`label ${JSON.stringify(l)} is not in --labels`, {
          file,
          line: firstLine.get(key),
          field: "label",
          expected: labels.map((x) => JSON.stringify(x)).join(", "),
        });
  } else {
    if (level === "ordinal" && [...seen.values()].some((l) => typeof l === "string"))
      throw new UserError("ordinal agreement on text labels needs their order", {
        field: "--labels",
        expected: `the labels from low to high, e.g. --labels ${sortedLabels(seen.values()).join(",")}`,
      });
    labels = sortedLabels(seen.values());
  }

  const units: Array<Array<Label | null>> = cells.map((c) => raters.map((r) => c.get(r)?.label ?? null));
  const votes = units.map((u) => u.filter((v): v is Label => v !== null));

  const tieLabels = opts.tieLabels === undefined ? null : labelList(opts.tieLabels, seen);
  const withTies = agreementHumanHuman(votes, { tieLabels: tieLabels ?? [] });
  const withoutTies = tieLabels ? agreementHumanHuman(votes, { tieLabels, excludeTies: true }) : null;

  const cohen: AgreementReport["cohen"] = [];
  for (let i = 0; i < raters.length; i++)
    for (let j = i + 1; j < raters.length; j++) {
      const y1: Label[] = [];
      const y2: Label[] = [];
      for (const u of units)
        if (u[i] !== null && u[j] !== null) {
          y1.push(u[i]!);
          y2.push(u[j]!);
        }
      const k = y1.length > 0 ? cohenKappa(y1, y2, { labels }) : Number.NaN;
      cohen.push({ a: raters[i], b: raters[j], n: y1.length, kappa: Number.isFinite(k) ? k : null });
    }

  const counts = new Set(votes.map((v) => v.length));
  let fleiss: AgreementReport["fleiss"];
  if (counts.size === 1 && votes[0].length >= 2)
    fleiss = {
      ratersPerItem: votes[0].length,
      fleiss: fleissKappa(votes, { method: "fleiss", categories: labels }),
      randolph: fleissKappa(votes, { method: "randolph", categories: labels }),
    };
  else {
    const sizes = [...counts].sort((a, b) => a - b);
    fleiss = {
      skipped:
        counts.size === 1
          ? "every item has a single rating"
          : `items have different numbers of ratings (${sizes[0]}–${sizes[sizes.length - 1]}); Fleiss' kappa needs the same number per item`,
    };
  }

  const a = krippendorffAlpha(units, { level, valueDomain: level === "ordinal" ? labels : undefined });
  return {
    file,
    items: cells.length,
    raters,
    ratings,
    labels,
    level,
    tieLabels,
    percentAgreement: { withTies, withoutTies },
    cohen,
    fleiss,
    krippendorff: {
      level,
      alpha: Number.isFinite(a.alpha) ? a.alpha : null,
      nPairable: a.n_pairable,
      D_o: a.D_o,
      D_e: a.D_e,
    },
  };
}

const rate = (c: AgreementCounts) => `${fmtNum(c.rate)} (${c.agree}/${c.total})`;
const val = (x: number | null) => (x === null ? "undefined" : fmtNum(x));

export function agreementText(r: AgreementReport): string {
  const out: string[] = [];
  out.push(
    `${r.items} items, ${r.raters.length} raters, ${r.ratings} ratings; labels ${r.labels.map((l) => printable(String(l))).join(", ")}`,
    "",
  );
  if (r.tieLabels) {
    out.push(`percent agreement (rater pairs per item), ties = ${r.tieLabels.join(", ")}:`);
    out.push(`  with ties     ${rate(r.percentAgreement.withTies)}`);
    out.push(`  without ties  ${rate(r.percentAgreement.withoutTies!)}`);
  } else out.push(`percent agreement (rater pairs per item): ${rate(r.percentAgreement.withTies)}`);
  out.push("", "Cohen's kappa per rater pair:");
  out.push(
    ...alignColumns(
      ["rater a", "rater b", "items", "kappa"],
      r.cohen.map((c) => [printable(c.a), printable(c.b), String(c.n), val(c.kappa)]),
      [false, false, true, true],
    ).map((l) => `  ${l}`),
  );
  out.push("");
  if ("skipped" in r.fleiss) out.push(`Fleiss' kappa: not computed: ${r.fleiss.skipped}`);
  else
    out.push(
      `Fleiss' kappa (${r.fleiss.ratersPerItem} raters per item): ${fmtNum(r.fleiss.fleiss)} (fleiss), ${fmtNum(r.fleiss.randolph)} (randolph, free-marginal)`,
    );
  const k = r.krippendorff;
  out.push(
    `Krippendorff's alpha (${k.level}): ${val(k.alpha)}${k.alpha === null ? " (no expected disagreement: a single value)" : ""} on ${k.nPairable} pairable values`,
  );
  return `${out.join("\n")}\n`;
}

export function register(program: Command): void {
  program
    .command("agree")
    .description(
      "inter-rater agreement: percent agreement, Cohen's kappa per pair, Fleiss' kappa, Krippendorff's alpha",
    )
    .argument(
      "<annotations>",
      "JSONL (or .jsonl.gz), one rating per line: {item, rater, label}; label null = missing",
    )
    .option("--level <level>", "Krippendorff's alpha level: nominal, ordinal, interval, ratio", "nominal")
    .option("--labels <a,b,c>", "all labels, in order (the rank order for --level ordinal)")
    .option("--tie-labels <x,y>", "labels meaning a tie: any two agree; adds agreement without ties")
    .option("--json", "print JSON")
    .action(
      async (file: string, opts: { level: string; labels?: string; tieLabels?: string; json?: boolean }) => {
        const r = await agreementReport(file, opts);
        if (opts.json) printJson(r);
        else process.stdout.write(agreementText(r));
      },
    );
}
