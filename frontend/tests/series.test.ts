import { describe, expect, it } from "vitest";
import { binDigits, binLabels, fillDays } from "../src/lib/series";

describe("fillDays", () => {
  it("fills missing days with zero, oldest first, summing duplicates", () => {
    expect(
      fillDays([
        { day: "2026-03-03", plays: 2 },
        { day: "2026-02-28", plays: 1 },
        { day: "2026-03-03", plays: 1 },
      ]),
    ).toEqual([
      { day: "2026-02-28", plays: 1 },
      { day: "2026-03-01", plays: 0 },
      { day: "2026-03-02", plays: 0 },
      { day: "2026-03-03", plays: 3 },
    ]);
    expect(fillDays([])).toEqual([]);
    expect(fillDays([{ day: "garbage", plays: 5 }])).toEqual([]);
  });
});

describe("histogram labels", () => {
  it("uses the digits the bin width needs", () => {
    const unit = [
      { lo: 0, hi: 0.05, count: 1 },
      { lo: 0.05, hi: 0.1, count: 2 },
    ];
    expect(binLabels(unit, binDigits(unit))).toEqual(["0.00–0.05", "0.05–0.10"]);
    const tempo = [{ lo: 0, hi: 12.5, count: 1 }];
    expect(binLabels(tempo, binDigits(tempo))).toEqual(["0–13"]);
  });
});
