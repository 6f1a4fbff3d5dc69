import { describe, expect, it } from "vitest";
import type { StageStatus } from "../src/lib/api";
import { healthOf, latestByNode, stageNode } from "../src/lib/status";

const run = (stage: string, status: string, started_at: string | null, errors = 0): StageStatus => ({
  stage,
  status,
  started_at,
  finished_at: started_at,
  items_in: 10,
  items_out: 9,
  errors,
  duration_s: 1.5,
  age_s: 60,
});

describe("pipeline status", () => {
  it("maps stage names to the diagram's nodes", () => {
    expect(stageNode("extract")).toBe("extract");
    expect(stageNode("loader")).toBe("load");
    expect(stageNode("aggregate")).toBe("aggregate");
    expect(stageNode("spark-aggregates")).toBe("aggregate");
    expect(stageNode("migrate")).toBeNull();
  });

  it("tells health from the status and the error count", () => {
    expect(healthOf(run("load", "ok", "2026-03-01T00:00:00Z"))).toBe("ok");
    expect(healthOf(run("load", "ok", "2026-03-01T00:00:00Z", 2))).toBe("warn");
    expect(healthOf(run("load", "partial", "2026-03-01T00:00:00Z"))).toBe("warn");
    expect(healthOf(run("load", "failed", "2026-03-01T00:00:00Z"))).toBe("fail");
    expect(healthOf(run("load", "running", "2026-03-01T00:00:00Z"))).toBe("running");
    expect(healthOf(run("load", "never", null))).toBe("none");
    expect(healthOf(undefined)).toBe("none");
  });

  it("keeps the latest run per node", () => {
    const m = latestByNode([run("load", "failed", "2026-03-01T00:00:00Z"), run("loader", "ok", "2026-03-02T00:00:00Z"), run("clean", "ok", null)]);
    expect(m.get("load")?.status).toBe("ok");
    expect(m.get("clean")?.status).toBe("ok");
    expect(m.has("extract")).toBe(false);
  });
});
