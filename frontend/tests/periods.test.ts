import { describe, expect, it } from "vitest";
import { isLatest, isPeriod, periodLabel, periodStart, shiftPeriod } from "../src/lib/periods";

describe("periods", () => {
  it("moves by one period, keeping the day where it exists", () => {
    expect(shiftPeriod("day", "2026-03-01", -1)).toBe("2026-02-28");
    expect(shiftPeriod("week", "2026-03-10", 1)).toBe("2026-03-17");
    expect(shiftPeriod("month", "2026-03-31", -1)).toBe("2026-02-28");
    expect(shiftPeriod("month", "2026-01-15", -1)).toBe("2025-12-15");
    expect(shiftPeriod("month", "2025-12-15", 1)).toBe("2026-01-15");
    expect(shiftPeriod("year", "2024-02-29", 1)).toBe("2025-02-28");
    expect(shiftPeriod("all", "2026-03-10", 1)).toBe("2026-03-10");
  });

  it("names periods in words", () => {
    expect(periodLabel("week", "2026-03-11", "2026-03-09", "2026-03-15")).toBe("the week of 2026-03-09 – 2026-03-15");
    expect(periodLabel("month", "2026-03-11")).toBe("March 2026");
    expect(periodLabel("year", "2026-03-11")).toBe("2026");
    expect(periodLabel("all", "2026-03-11")).toBe("all time");
    expect(isPeriod("month")).toBe(true);
    expect(isPeriod("decade")).toBe(false);
  });

  it("knows where periods start and which one is the latest", () => {
    expect(periodStart("week", "2026-03-15")).toBe("2026-03-09");
    expect(periodStart("week", "2026-03-09")).toBe("2026-03-09");
    expect(periodStart("month", "2026-03-15")).toBe("2026-03-01");
    expect(isLatest("month", "2026-03-05", "2026-03-10")).toBe(true);
    expect(isLatest("month", "2026-02-28", "2026-03-10")).toBe(false);
    expect(isLatest("day", "2026-03-10", "2026-03-10")).toBe(true);
    expect(isLatest("all", "2026-03-10", "2026-03-10")).toBe(true);
  });
});
