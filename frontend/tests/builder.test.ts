import { describe, expect, it } from "vitest";
import {
  type BuilderState,
  builderToParams,
  chartSpec,
  DEFAULT_BUILDER,
  isEmptySelection,
  parseBuilder,
  parseQuantity,
  requestedMetrics,
  setGroupBy,
  setLine,
  setQuantity,
  setSort,
  shortLabel,
  statsQuery,
  toggleBar,
  toggleOrder,
} from "../src/lib/builder";

describe("bars and the line never share a metric", () => {
  it("making the line's metric a bar removes the line", () => {
    let s = setLine(DEFAULT_BUILDER, "energy");
    expect(s.line).toBe("energy");
    s = toggleBar(s, "energy", true);
    expect(s.bars).toEqual(["plays", "energy"]);
    expect(s.line).toBeNull();
  });

  it("making a bar's metric the line removes it from the bars", () => {
    const s = setLine(toggleBar(DEFAULT_BUILDER, "valence", true), "plays");
    expect(s.bars).toEqual(["valence"]);
    expect(s.line).toBe("plays");
  });

  it("keeps bars in the metric order however they were picked, without duplicates", () => {
    let s = toggleBar({ ...DEFAULT_BUILDER, bars: [] }, "tempo", true);
    s = toggleBar(s, "plays", true);
    s = toggleBar(s, "tempo", true);
    expect(s.bars).toEqual(["plays", "tempo"]);
    expect(toggleBar(s, "plays", false).bars).toEqual(["tempo"]);
  });

  it("switches a metric from bars to the line and back", () => {
    let s = setLine(DEFAULT_BUILDER, "plays");
    expect(s.bars).toEqual([]);
    expect(isEmptySelection(s)).toBe(false);
    s = toggleBar(s, "plays", true);
    expect(s).toMatchObject({ bars: ["plays"], line: null });
    expect(isEmptySelection(toggleBar(s, "plays", false))).toBe(true);
  });

  it("parsing an address that names the same metric twice keeps it as the line only", () => {
    const s = parseBuilder(new URLSearchParams("group=artist&bars=plays,energy,bogus&line=energy&n=15&sort=label&order=asc"));
    expect(s).toEqual({ groupBy: "artist", bars: ["plays"], line: "energy", quantity: 15, sort: "label", order: "asc" });
    expect(parseBuilder(builderToParams(s))).toEqual(s);
  });
});

describe("quantity, sort and grouping", () => {
  it("accepts only 5, 10, 15 and 20", () => {
    expect([5, 10, 15, 20].map((n) => parseQuantity(n))).toEqual([5, 10, 15, 20]);
    expect(parseQuantity(7)).toBeNull();
    expect(parseQuantity("abc")).toBeNull();
    expect(parseQuantity(null)).toBeNull();
    expect(setQuantity(DEFAULT_BUILDER, 20).quantity).toBe(20);
    expect(setQuantity(DEFAULT_BUILDER, 50)).toBe(DEFAULT_BUILDER);
    expect(parseBuilder(new URLSearchParams("n=3")).quantity).toBe(10);
  });

  it("sorts by a field and flips the direction", () => {
    const s = setSort(DEFAULT_BUILDER, "tempo", "asc");
    expect(s).toMatchObject({ sort: "tempo", order: "asc" });
    expect(toggleOrder(s).order).toBe("desc");
    expect(setGroupBy(s, "day").groupBy).toBe("day");
  });

  it("asks the gateway for drawn metrics and the sort metric, over a window of days", () => {
    const s: BuilderState = { groupBy: "day", bars: ["danceability"], line: "plays", quantity: 5, sort: "tempo", order: "asc" };
    expect(requestedMetrics(s)).toEqual(["plays", "danceability", "tempo"]);
    expect(statsQuery(s, { start: "2026-03-04", end: "2026-03-10" })).toEqual({
      group_by: "day",
      metrics: "plays,danceability,tempo",
      sort: "tempo",
      order: "asc",
      limit: 5,
      start: "2026-03-04",
      end: "2026-03-10",
    });
    expect(requestedMetrics({ ...s, sort: "label" })).toEqual(["plays", "danceability"]);
  });
});

describe("chartSpec", () => {
  const stats = {
    group_by: "track" as const,
    metrics: ["plays", "energy", "valence"],
    items: [
      { key: "t1", label: "Queen – Bohemian Rhapsody (Remastered 2011)", plays: 12, energy: 0.4, valence: 0.22 },
      { key: "t2", label: null, plays: 7, energy: null, valence: 0.9 },
      { key: "t3", label: "ABBA – Dancing Queen", plays: 3, energy: 0.8, valence: 0.7 },
    ],
  };

  it("draws bars first then the one line, with the gateway's values and gaps as null", () => {
    const s: BuilderState = { ...DEFAULT_BUILDER, bars: ["plays", "energy"], line: "valence" };
    const spec = chartSpec(s, stats);
    expect(spec.series.map((x) => `${x.kind}:${x.metric}`)).toEqual(["bar:plays", "bar:energy", "line:valence"]);
    expect(spec.series[1]!.values).toEqual([0.4, null, 0.8]);
    expect(spec.fullLabels).toEqual(["Queen – Bohemian Rhapsody (Remastered 2011)", "t2", "ABBA – Dancing Queen"]);
    expect(spec.labels[0]).toBe("Queen – Bohemian…");
  });

  it("draws no more groups than the quantity", () => {
    const spec = chartSpec({ ...DEFAULT_BUILDER, quantity: 5 }, { ...stats, items: [...stats.items, ...stats.items, ...stats.items] });
    expect(spec.labels).toHaveLength(5);
  });

  it("shortens labels by characters, not bytes", () => {
    expect(shortLabel("Sigur Rós – Hoppípolla", 12)).toBe("Sigur Rós –…");
    expect(shortLabel("short", 12)).toBe("short");
  });
});
