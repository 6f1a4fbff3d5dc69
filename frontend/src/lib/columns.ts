// The Data table's columns, and which of them are shown (the column chooser, remembered per browser).

import type { Play } from "./api";
import { artistsText, formatDateTime, formatDuration, formatFeature, formatKey, formatNumber, formatPercent } from "./format";

export interface PlayColumn {
  id: string;
  label: string;
  /** Shown until the user chooses otherwise. */
  visible: boolean;
  /** Right-aligned numbers. */
  numeric: boolean;
  /** The cell as plain text (also used for the columns the page renders richer). */
  text: (play: Play) => string;
}

const feature = (id: keyof Play & string, label: string, visible = false): PlayColumn => ({
  id,
  label,
  visible,
  numeric: true,
  text: (p) => formatFeature(id, p[id] as number | null),
});

export const PLAY_COLUMNS: readonly PlayColumn[] = [
  { id: "played_at", label: "Played at", visible: true, numeric: false, text: (p) => formatDateTime(p.played_at) },
  { id: "text", label: "Post", visible: true, numeric: false, text: (p) => p.text ?? "" },
  { id: "track_name", label: "Track", visible: true, numeric: false, text: (p) => (p.matched ? (p.track_name ?? p.track_id ?? "") : "Not matched") },
  { id: "artist_names", label: "Artists", visible: true, numeric: false, text: (p) => (p.matched ? artistsText(p.artist_names) : "") },
  { id: "source", label: "Source", visible: true, numeric: false, text: (p) => p.source },
  {
    id: "match",
    label: "Match",
    visible: true,
    numeric: false,
    text: (p) =>
      p.match_method === "override"
        ? p.matched
          ? "corrected"
          : "corrected · not a song"
        : p.matched
          ? `${p.match_method ?? "matched"} · ${formatPercent(p.match_confidence)}`
          : "no match",
  },
  { id: "is_bot", label: "Bot", visible: false, numeric: false, text: (p) => (p.is_bot ? "bot" : "person") },
  { id: "album", label: "Album", visible: false, numeric: false, text: (p) => p.album ?? "" },
  { id: "release_date", label: "Released", visible: false, numeric: false, text: (p) => p.release_date ?? "" },
  { id: "popularity", label: "Popularity", visible: false, numeric: true, text: (p) => formatNumber(p.popularity) },
  feature("danceability", "Danceability", true),
  feature("energy", "Energy", true),
  feature("valence", "Valence"),
  feature("tempo", "Tempo"),
  { id: "duration_ms", label: "Duration", visible: true, numeric: true, text: (p) => formatDuration(p.duration_ms) },
  { id: "key", label: "Key", visible: false, numeric: false, text: (p) => formatKey(p.key, p.mode) },
  feature("loudness", "Loudness"),
  feature("speechiness", "Speechiness"),
  feature("acousticness", "Acousticness"),
  feature("instrumentalness", "Instrumentalness"),
  feature("liveness", "Liveness"),
  feature("time_signature", "Time signature"),
  { id: "features_source", label: "Features from", visible: false, numeric: false, text: (p) => p.features_source ?? "" },
  { id: "author_id", label: "Author", visible: false, numeric: false, text: (p) => p.author_id ?? "" },
  { id: "post_id", label: "Post id", visible: false, numeric: false, text: (p) => p.post_id },
];

export type Visibility = Record<string, boolean>;

export function defaultVisibility(): Visibility {
  return Object.fromEntries(PLAY_COLUMNS.map((c) => [c.id, c.visible]));
}

/** Visibility remembered as JSON; unknown ids dropped, missing ones at their default, never all hidden. */
export function parseVisibility(text: string | null): Visibility {
  const base = defaultVisibility();
  if (!text) return base;
  let stored: unknown;
  try {
    stored = JSON.parse(text);
  } catch {
    return base;
  }
  if (typeof stored !== "object" || stored === null || Array.isArray(stored)) return base;
  for (const [id, value] of Object.entries(stored as Record<string, unknown>)) {
    if (id in base && typeof value === "boolean") base[id] = value;
  }
  return Object.values(base).some(Boolean) ? base : defaultVisibility();
}

/** Show or hide one column; the last shown column cannot be hidden. */
export function setVisible(visibility: Visibility, id: string, visible: boolean): Visibility {
  if (!(id in visibility)) return visibility;
  const next = { ...visibility, [id]: visible };
  return Object.values(next).some(Boolean) ? next : visibility;
}
