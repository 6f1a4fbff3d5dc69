// Pipeline status for the Home page: which diagram node a stage row belongs to, and its health.

import type { StageStatus } from "./api";

export type Health = "ok" | "warn" | "fail" | "running" | "none";

export const HEALTH_LABELS: Record<Health, string> = {
  ok: "OK",
  warn: "partial",
  fail: "failed",
  running: "running",
  none: "no run yet",
};

const STAGE_PREFIXES: [string, string][] = [
  ["extract", "extract"],
  ["clean", "clean"],
  ["enrich", "enrich"],
  ["load", "load"],
  ["aggregat", "aggregate"],
  ["spark", "aggregate"],
];

/** The diagram node of a pipeline_runs stage name ("extract", "extractor", "spark-aggregates", …). */
export function stageNode(stage: string): string | null {
  const name = stage.toLowerCase();
  for (const [prefix, node] of STAGE_PREFIXES) if (name.startsWith(prefix)) return node;
  return null;
}

export function healthOf(stage: StageStatus | undefined): Health {
  if (!stage || !stage.status || stage.status === "never") return "none";
  switch (stage.status) {
    case "ok":
      return (stage.errors ?? 0) > 0 ? "warn" : "ok";
    case "partial":
      return "warn";
    case "failed":
      return "fail";
    case "running":
      return "running";
    default:
      return "warn";
  }
}

/** The latest run per diagram node (a node may get rows from more than one stage name). */
export function latestByNode(stages: readonly StageStatus[]): Map<string, StageStatus> {
  const out = new Map<string, StageStatus>();
  for (const s of stages) {
    const node = stageNode(s.stage);
    if (!node) continue;
    const prev = out.get(node);
    if (!prev || (s.started_at ?? "") > (prev.started_at ?? "")) out.set(node, s);
  }
  return out;
}
