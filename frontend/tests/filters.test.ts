import { describe, expect, it } from "vitest";
import {
  DEFAULT_FILTERS,
  exportUrl,
  filtersToParams,
  type PlayFilters,
  parseFilters,
  playsQuery,
  resolveWindow,
  toUtcIso,
  validateFilters,
} from "../src/lib/filters";

const NOW = new Date("2026-03-10T12:30:00.000Z");

describe("parseFilters", () => {
  it("gives the defaults (last 24 h, everything included) for an empty query", () => {
    expect(parseFilters(new URLSearchParams())).toEqual(DEFAULT_FILTERS);
  });

  it("reads every filter and trims text", () => {
    const f = parseFilters(new URLSearchParams("range=7d&artist=%20Queen%20&track=Bohemian&source=mastodon&matched=false&bots=exclude"));
    expect(f).toEqual({ ...DEFAULT_FILTERS, range: "7d", artist: "Queen", track: "Bohemian", source: "mastodon", matched: "false", bots: "exclude" });
  });

  it("falls back to defaults for values outside the allowed sets", () => {
    const f = parseFilters(new URLSearchParams("range=5y&source=myspace&matched=maybe&bots=all"));
    expect(f.range).toBe("24h");
    expect(f.source).toBe("");
    expect(f.matched).toBe("any");
    expect(f.bots).toBe("include");
  });

  it("treats start/end without a range as a custom range, normalised to UTC", () => {
    const f = parseFilters(new URLSearchParams("start=2026-03-01T10:00:00%2B02:00&end=2026-03-02T00:00:00Z"));
    expect(f.range).toBe("custom");
    expect(f.start).toBe("2026-03-01T08:00:00Z");
    expect(f.end).toBe("2026-03-02T00:00:00Z");
  });

  it("drops malformed custom bounds", () => {
    const f = parseFilters(new URLSearchParams("range=custom&start=yesterday"));
    expect(f.start).toBe("");
  });

  it("round-trips through the address query, keeping only non-defaults", () => {
    const f: PlayFilters = { ...DEFAULT_FILTERS, range: "custom", start: "2026-03-01T00:00:00Z", end: "2026-03-02T00:00:00Z", artist: "ABBA", bots: "only" };
    const params = filtersToParams(f);
    expect(params.toString()).toBe("range=custom&start=2026-03-01T00%3A00%3A00Z&end=2026-03-02T00%3A00%3A00Z&artist=ABBA&bots=only");
    expect(parseFilters(params)).toEqual(f);
    expect(filtersToParams(DEFAULT_FILTERS).toString()).toBe("");
  });
});

describe("resolveWindow", () => {
  it("fixes a preset to absolute bounds counted back from now", () => {
    expect(resolveWindow({ ...DEFAULT_FILTERS, range: "1h" }, NOW)).toEqual({ start: "2026-03-10T11:30:00Z", end: "2026-03-10T12:30:00Z" });
    expect(resolveWindow({ ...DEFAULT_FILTERS, range: "7d" }, NOW)).toEqual({ start: "2026-03-03T12:30:00Z", end: "2026-03-10T12:30:00Z" });
  });

  it("keeps custom bounds and fills a missing one 24 h from the other", () => {
    const custom = { ...DEFAULT_FILTERS, range: "custom" as const };
    expect(resolveWindow({ ...custom, start: "2026-03-01T00:00:00Z", end: "2026-03-05T00:00:00Z" }, NOW)).toEqual({
      start: "2026-03-01T00:00:00Z",
      end: "2026-03-05T00:00:00Z",
    });
    expect(resolveWindow({ ...custom, start: "2026-03-01T00:00:00Z" }, NOW)).toEqual({ start: "2026-03-01T00:00:00Z", end: "2026-03-02T00:00:00Z" });
    expect(resolveWindow({ ...custom, end: "2026-03-05T00:00:00Z" }, NOW)).toEqual({ start: "2026-03-04T00:00:00Z", end: "2026-03-05T00:00:00Z" });
  });
});

describe("validateFilters", () => {
  it("refuses a range whose start is not before its end, in words", () => {
    const f = { ...DEFAULT_FILTERS, range: "custom" as const };
    expect(validateFilters(f, { start: "2026-03-05T00:00:00Z", end: "2026-03-01T00:00:00Z" })).toMatch(/start .* before its end/);
    expect(validateFilters(f, { start: "2026-03-01T00:00:00Z", end: "2026-03-05T00:00:00Z" })).toBeNull();
  });
});

describe("gateway queries", () => {
  const window = { start: "2026-03-09T12:30:00Z", end: "2026-03-10T12:30:00Z" };

  it("sends only the filters that narrow, plus limit and cursor", () => {
    expect(playsQuery(DEFAULT_FILTERS, window, 50, null)).toEqual({
      start: window.start,
      end: window.end,
      artist: "",
      track: "",
      source: "",
      matched: "",
      bots: "",
      limit: 50,
      cursor: null,
    });
    const q = playsQuery({ ...DEFAULT_FILTERS, artist: " Queen ", matched: "true", bots: "exclude", source: "bluesky" }, window, 25, "abc");
    expect(q).toMatchObject({ artist: "Queen", matched: "true", bots: "exclude", source: "bluesky", limit: 25, cursor: "abc" });
  });

  it("builds the export link with the same filters and window but no paging", () => {
    const url = exportUrl({ ...DEFAULT_FILTERS, artist: "Daft Punk", matched: "false" }, window);
    expect(url.startsWith("/api/plays/export?")).toBe(true);
    const params = new URLSearchParams(url.split("?")[1]);
    expect(Object.fromEntries(params)).toEqual({ format: "csv", start: window.start, end: window.end, artist: "Daft Punk", matched: "false" });
    expect(exportUrl(DEFAULT_FILTERS, window, "json")).toContain("format=json");
  });
});

describe("toUtcIso", () => {
  it("normalises to UTC seconds and rejects non-dates", () => {
    expect(toUtcIso("2026-03-01T12:00:00.123+01:00")).toBe("2026-03-01T11:00:00Z");
    expect(toUtcIso("nope")).toBe("");
    expect(toUtcIso("")).toBe("");
  });
});
