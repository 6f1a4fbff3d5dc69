// The Data page's filters: parsing them from the address, turning them into API query parameters,
// and resolving a relative time range ("last 24 h") into a fixed window once, so every page of a
// paged result belongs to the same query (the gateway's cursors are bound to their query).

import { buildUrl, type Params } from "./api";

export const RANGES = ["1h", "24h", "7d", "30d", "custom"] as const;
export type RangePreset = (typeof RANGES)[number];

export const RANGE_LABELS: Record<RangePreset, string> = {
  "1h": "Last hour",
  "24h": "Last 24 hours",
  "7d": "Last 7 days",
  "30d": "Last 30 days",
  custom: "Custom range",
};

const RANGE_MS: Record<Exclude<RangePreset, "custom">, number> = {
  "1h": 3_600_000,
  "24h": 86_400_000,
  "7d": 7 * 86_400_000,
  "30d": 30 * 86_400_000,
};

export const SOURCES = ["x", "mastodon", "bluesky", "sandbox"] as const;
export const MATCHED = ["any", "true", "false"] as const;
export type Matched = (typeof MATCHED)[number];
export const BOTS = ["include", "exclude", "only"] as const;
export type Bots = (typeof BOTS)[number];

export interface PlayFilters {
  range: RangePreset;
  /** Custom range bounds as RFC 3339 UTC; empty when not set. Used only when range is "custom". */
  start: string;
  end: string;
  artist: string;
  track: string;
  source: string;
  matched: Matched;
  bots: Bots;
}

export const DEFAULT_FILTERS: PlayFilters = {
  range: "24h",
  start: "",
  end: "",
  artist: "",
  track: "",
  source: "",
  matched: "any",
  bots: "include",
};

export interface Window {
  start: string;
  end: string;
}

function oneOf<T extends string>(value: string | null, allowed: readonly T[], fallback: T): T {
  return value !== null && (allowed as readonly string[]).includes(value) ? (value as T) : fallback;
}

/** A valid RFC 3339 instant in UTC ("2026-01-05T10:00:00Z"), or "" when the text is no date. */
export function toUtcIso(text: string | null | undefined): string {
  if (!text) return "";
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) return "";
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Filters from the address's query; anything unknown or malformed falls back to the default. */
export function parseFilters(params: URLSearchParams): PlayFilters {
  const start = toUtcIso(params.get("start"));
  const end = toUtcIso(params.get("end"));
  let range = oneOf(params.get("range"), RANGES, DEFAULT_FILTERS.range);
  if (!params.get("range") && (start || end)) range = "custom";
  return {
    range,
    start: range === "custom" ? start : "",
    end: range === "custom" ? end : "",
    artist: (params.get("artist") ?? "").trim(),
    track: (params.get("track") ?? "").trim(),
    source: oneOf<string>(params.get("source"), SOURCES, ""),
    matched: oneOf(params.get("matched"), MATCHED, "any"),
    bots: oneOf(params.get("bots"), BOTS, "include"),
  };
}

/** The address query for filters: only what differs from the defaults, so links stay short. */
export function filtersToParams(filters: PlayFilters): URLSearchParams {
  const out = new URLSearchParams();
  if (filters.range !== DEFAULT_FILTERS.range) out.set("range", filters.range);
  if (filters.range === "custom") {
    if (filters.start) out.set("start", filters.start);
    if (filters.end) out.set("end", filters.end);
  }
  if (filters.artist.trim()) out.set("artist", filters.artist.trim());
  if (filters.track.trim()) out.set("track", filters.track.trim());
  if (filters.source) out.set("source", filters.source);
  if (filters.matched !== "any") out.set("matched", filters.matched);
  if (filters.bots !== "include") out.set("bots", filters.bots);
  return out;
}

/**
 * The fixed time window of a filter at `now`. A preset counts back from now; a custom range keeps
 * its bounds, and a missing bound is filled from the other (24 h apart) or from now.
 */
export function resolveWindow(filters: PlayFilters, now: Date): Window {
  const nowIso = toUtcIso(now.toISOString());
  if (filters.range !== "custom") {
    return { start: toUtcIso(new Date(now.getTime() - RANGE_MS[filters.range]).toISOString()), end: nowIso };
  }
  const end = filters.end || (filters.start ? toUtcIso(new Date(Date.parse(filters.start) + RANGE_MS["24h"]).toISOString()) : nowIso);
  const start = filters.start || toUtcIso(new Date(Date.parse(end) - RANGE_MS["24h"]).toISOString());
  return { start, end };
}

/** Words for what is wrong with a filter, or null when it can be sent. */
export function validateFilters(filters: PlayFilters, window: Window): string | null {
  if (Date.parse(window.start) >= Date.parse(window.end)) return "The start of the time range must be before its end.";
  if (filters.artist.length > 200 || filters.track.length > 200) return "Artist and track filters are limited to 200 characters.";
  return null;
}

/** The filter part of the gateway query (shared by /api/plays and /api/plays/export). */
export function filterQuery(filters: PlayFilters, window: Window): Params {
  return {
    start: window.start,
    end: window.end,
    artist: filters.artist.trim(),
    track: filters.track.trim(),
    source: filters.source,
    matched: filters.matched === "any" ? "" : filters.matched,
    bots: filters.bots === "include" ? "" : filters.bots,
  };
}

/** Query parameters of one page of /api/plays. */
export function playsQuery(filters: PlayFilters, window: Window, limit: number, cursor: string | null): Params {
  return { ...filterQuery(filters, window), limit, cursor };
}

/** The download link for the filtered range (CSV with the enriched columns, or JSON lines). */
export function exportUrl(filters: PlayFilters, window: Window, format: "csv" | "json" = "csv"): string {
  return buildUrl("/api/plays/export", { format, ...filterQuery(filters, window) });
}

/** "YYYY-MM-DDTHH:MM" in local time, the value an <input type="datetime-local"> takes. */
export function toLocalInput(iso: string): string {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const pad = (n: number): string => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}
