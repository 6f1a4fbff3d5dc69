import { describe, expect, it } from "vitest";
import {
  artistsText,
  formatAge,
  formatDateTime,
  formatDuration,
  formatFeature,
  formatKey,
  formatNumber,
  formatPercent,
  isDay,
  safeHref,
  shiftDay,
  spotifyTrackUrl,
  utcDay,
} from "../src/lib/format";

describe("format", () => {
  it("says how long ago in words", () => {
    expect(formatAge(null)).toBe("never");
    expect(formatAge(2)).toBe("just now");
    expect(formatAge(45)).toBe("45 s ago");
    expect(formatAge(12 * 60 + 5)).toBe("12 min ago");
    expect(formatAge(3 * 3600)).toBe("3 h ago");
    expect(formatAge(5 * 86400)).toBe("5 days ago");
  });

  it("formats durations, shares and numbers, with a dash for missing values", () => {
    expect(formatDuration(354_947)).toBe("5:55");
    expect(formatDuration(null)).toBe("—");
    expect(formatPercent(0.8349)).toBe("83 %");
    expect(formatPercent(null)).toBe("—");
    expect(formatNumber(12345)).toBe("12,345");
    expect(formatNumber(Number.NaN)).toBe("—");
  });

  it("names keys and features in their units", () => {
    expect(formatKey(9, 0)).toBe("A minor");
    expect(formatKey(0, 1)).toBe("C major");
    expect(formatKey(-1, 1)).toBe("—");
    expect(formatFeature("tempo", 118.04)).toBe("118 BPM");
    expect(formatFeature("loudness", -5.432)).toBe("-5.4 dB");
    expect(formatFeature("energy", 0.456)).toBe("0.46");
    expect(formatFeature("time_signature", 4)).toBe("4/4");
  });

  it("shows times in UTC and works with UTC days", () => {
    expect(formatDateTime("2026-03-01T23:59:30.000Z")).toBe("2026-03-01 23:59 UTC");
    expect(formatDateTime(null)).toBe("—");
    expect(utcDay(new Date("2026-03-01T23:59:30Z"))).toBe("2026-03-01");
    expect(shiftDay("2026-03-01", -1)).toBe("2026-02-28");
    expect(shiftDay("2024-02-28", 1)).toBe("2024-02-29");
    expect(isDay("2026-03-01")).toBe(true);
    expect(isDay("2026-3-1")).toBe(false);
    expect(isDay(null)).toBe(false);
  });

  it("joins artists and names a missing one", () => {
    expect(artistsText(["Simon", "Garfunkel"])).toBe("Simon, Garfunkel");
    expect(artistsText([])).toBe("Unknown artist");
  });
});

describe("links from data", () => {
  it("lets only http(s) links through", () => {
    expect(safeHref("https://mastodon.social/@a/1")).toBe("https://mastodon.social/@a/1");
    expect(safeHref("javascript:alert(1)")).toBeNull();
    expect(safeHref("JaVaScRiPt:alert(1)")).toBeNull();
    expect(safeHref("data:text/html,<script>alert(1)</script>")).toBeNull();
    expect(safeHref("not a url")).toBeNull();
    expect(safeHref(null)).toBeNull();
  });

  it("links Spotify only for real-looking Spotify ids", () => {
    expect(spotifyTrackUrl("4uLU6hMCjMI75M1A2tKUQC")).toBe("https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC");
    expect(spotifyTrackUrl("../../evil")).toBeNull();
  });
});
