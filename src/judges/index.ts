/** LLM-as-judge: single-answer, rubric and pairwise judges, panels, bias diagnostics and MT-Bench. */
export * from "./bias.js";
export * from "./client.js";
export * from "./mtbench.js";
export * from "./mtbench_data.js";
export * from "./mtbench_summary.js";
export * from "./pairwise.js";
export * from "./panel.js";
export * from "./parse.js";
export * from "./prompts.js";
export * from "./single.js";
