/** `assay judge single`: single-answer grading from a JSONL file with a prompt or a rubric. */
import { readFileSync } from "node:fs";
import { parseDocument } from "yaml";
import { readJsonlAll } from "../../../data/jsonl.js";
import { parseStats, scoreHumanAgreement } from "../../../judges/bias.js";
import { panelScores } from "../../../judges/panel.js";
import {
  type Rubric,
  RubricJudge,
  type ScoreMethod,
  SingleAnswerJudge,
  validateRubric,
} from "../../../judges/single.js";
import { alignColumns } from "../../../report/format.js";
import { UserError } from "../../../util/errors.js";
import { printJson } from "../../context.js";
import {
  type CommonOptions,
  checkFields,
  finish,
  jsonl,
  loadPrompt,
  num,
  parseLine,
  pct,
  requireJudges,
  stringFields,
  withModels,
  writeOutputs,
} from "./shared.js";

export interface SingleOptions extends CommonOptions {
  prompt?: string;
  judgePrompts?: string;
  rubric?: string;
  rubricMode: "per-criterion" | "joint";
  method: ScoreMethod;
  samples: number;
  aggregate: "mean" | "majority";
}

/** A rubric file (YAML or JSON); errors carry the line of the offending entry. */
export function loadRubric(file: string): Rubric {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new UserError(`cannot read rubric: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      file,
    });
  }
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0)
    throw new UserError(`malformed rubric: ${doc.errors[0].message.split("\n")[0]}`, {
      file,
      line: doc.errors[0].linePos?.[0]?.line,
      expected: "YAML or JSON",
    });
  try {
    return validateRubric(doc.toJS(), { file });
  } catch (e) {
    if (!(e instanceof UserError) || e.where.field === undefined) throw e;
    // Point at the line of the field named in the error (or of its criterion when the field is absent).
    const m = /^criteria\[(\d+)\](?:\.(\w+))?/.exec(e.where.field);
    const paths: Array<Array<string | number>> = m
      ? [m[2] ? ["criteria", Number(m[1]), m[2]] : [], ["criteria", Number(m[1])]]
      : [[e.where.field]];
    let offset: number | undefined;
    for (const p of paths) {
      const node = p.length > 0 ? (doc.getIn(p, true) as { range?: number[] } | undefined) : undefined;
      offset ??= node?.range?.[0];
    }
    const line = offset === undefined ? undefined : text.slice(0, offset).split("\n").length;
    throw new UserError(e.message, { ...e.where, file, ...(line !== undefined ? { line } : {}) });
  }
}

export async function single(file: string, opts: SingleOptions): Promise<void> {
  const judges = requireJudges(opts);
  const rubric = opts.rubric ? loadRubric(opts.rubric) : undefined;
  const rows: Array<{ id: string; vars: Record<string, string>; human: number | null; line: number }> = [];
  for (const { line, value } of await readJsonlAll(file)) {
    const where = { file, line };
    const vars = stringFields(value, where, ["question", "answer"]);
    const h = value.human;
    if (h !== undefined && h !== null && !(typeof h === "number" && Number.isFinite(h)))
      throw new UserError(`invalid human score ${JSON.stringify(h)}`, {
        ...where,
        field: "human",
        expected: "a number or null",
      });
    rows.push({
      id: value.id === undefined ? String(line) : String(value.id),
      vars,
      human: (h as number | undefined) ?? null,
      line,
    });
  }
  if (rows.length === 0) throw new UserError("no answers", { file, expected: "one JSON object per line" });
  const hasRef = rows.every((r) => r.vars.reference !== undefined);
  const promptName = opts.prompt ?? (rubric ? undefined : hasRef ? "assay-single-ref-v1" : "assay-single-v1");
  const prompt = promptName ? await loadPrompt(promptName, opts.judgePrompts) : undefined;
  // Rubric prompts fill criterion fields themselves.
  const provided = ["criteria", "json_example", "criterion", "criterion_name", "min", "max"];
  for (const r of rows) {
    if (prompt) checkFields(prompt, r.vars, { file, line: r.line }, provided);
    else if (rubric && hasRef !== (r.vars.reference !== undefined))
      throw new UserError("missing field", {
        file,
        line: r.line,
        field: "reference",
        expected: "a reference on every item or none",
      });
  }
  await withModels(opts, async (models) => {
    const perJudge: Array<{
      judge: string;
      scores: Array<number | null>;
      records: unknown[];
      parse: ReturnType<typeof parseStats>;
    }> = [];
    for (const spec of judges) {
      const client = await models.judge(spec);
      const common = { method: opts.method, samples: opts.samples, aggregate: opts.aggregate };
      if (rubric) {
        const rj = new RubricJudge(client, rubric, {
          ...common,
          mode: opts.rubricMode,
          prompt,
          reference: hasRef,
        });
        const res = await Promise.all(rows.map((r) => rj.grade(r.vars)));
        perJudge.push({
          judge: spec,
          scores: res.map((r) => r.overall),
          records: res.map((r, i) => ({ id: rows[i].id, judge: spec, ...r })),
          parse: parseStats(
            res.map((r) => ({ ok: r.ok, attempts: Object.values(r.judgments).flatMap((j) => j.attempts) })),
          ),
        });
      } else {
        const sj = new SingleAnswerJudge(client, prompt!, common);
        const res = await Promise.all(rows.map((r) => sj.grade(r.vars)));
        perJudge.push({
          judge: spec,
          scores: res.map((r) => r.score),
          records: res.map((r, i) => ({ id: rows[i].id, judge: spec, ...r })),
          parse: parseStats(res),
        });
      }
    }
    const humans = rows.map((r) => r.human);
    const summary = {
      file,
      prompt: prompt?.name,
      rubric: rubric?.name,
      method: opts.method,
      judges: perJudge.map((p) => {
        const valid = p.scores.filter((s): s is number => s !== null);
        return {
          judge: p.judge,
          mean: valid.length === 0 ? null : valid.reduce((a, b) => a + b, 0) / valid.length,
          n: valid.length,
          parse: p.parse,
          ...(humans.some((h) => h !== null) ? { human: scoreHumanAgreement(p.scores, humans) } : {}),
        };
      }),
      ...(perJudge.length > 1
        ? {
            panel: panelScores(
              judges,
              perJudge.map((p) => p.scores),
              opts.aggregate,
            ).disagreement,
          }
        : {}),
    };
    if (opts.outputDir)
      writeOutputs(opts.outputDir, {
        "judgments.jsonl": jsonl(perJudge.flatMap((p) => p.records)),
        "summary.json": `${JSON.stringify(summary, null, 2)}\n`,
      });
    if (opts.json) printJson(summary);
    else {
      const header = ["judge", "mean", "n", "failed", "spearman vs human"];
      const trows = summary.judges.map((j) => [
        j.judge,
        num(j.mean),
        String(j.n),
        `${j.parse.failed} (${pct(j.parse.failureRate)})`,
        num(j.human?.spearman),
      ]);
      const out = alignColumns(
        header,
        trows,
        header.map((_, i) => i > 0),
      );
      for (const j of summary.judges) out.push(parseLine(`parse (${j.judge})`, j.parse));
      if (summary.panel)
        out.push(
          `panel: scores differ on ${summary.panel.itemsDisagreeing} of ${summary.panel.itemsCompared} items (mean spread ${num(summary.panel.meanSpread)}); Krippendorff's alpha (interval) ${num(summary.panel.krippendorffAlpha)}`,
        );
      process.stdout.write(`${out.join("\n")}\n`);
    }
    const failed = summary.judges.reduce((a, j) => a + j.parse.failed, 0);
    const total = summary.judges.reduce((a, j) => a + j.parse.judgments, 0);
    finish(failed, total);
  });
}
