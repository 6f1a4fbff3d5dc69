// Formatting for people: numbers, shares, ages, durations, dates, audio features.

export function formatNumber(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A share in 0..1 as a percentage. */
export function formatPercent(share: number | null | undefined, digits = 0): string {
  if (share === null || share === undefined || !Number.isFinite(share)) return "—";
  return `${(share * 100).toFixed(digits)} %`;
}

/** How long ago, in words: "just now", "45 s ago", "12 min ago", "3 h ago", "2 days ago". */
export function formatAge(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "never";
  const s = Math.max(0, Math.round(seconds));
  if (s < 5) return "just now";
  if (s < 60) return `${s} s ago`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min ago`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.floor(h / 24)} days ago`;
}

/** A track length "m:ss" from milliseconds. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return "—";
  const total = Math.round(ms / 1000);
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, "0")}`;
}

/** A run's duration in seconds, short. */
export function formatSeconds(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  return `${Math.round(seconds / 60)} min`;
}

/** "2026-01-05 14:03 UTC" from an RFC 3339 instant. */
export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  const d = new Date(ms).toISOString();
  return `${d.slice(0, 10)} ${d.slice(11, 16)} UTC`;
}

export function artistsText(names: readonly string[] | null | undefined): string {
  return names && names.length ? names.join(", ") : "Unknown artist";
}

const PITCHES = ["C", "C♯/D♭", "D", "D♯/E♭", "E", "F", "F♯/G♭", "G", "G♯/A♭", "A", "A♯/B♭", "B"];

/** Pitch class and mode in words: key 9, mode 0 → "A minor". */
export function formatKey(key: number | null | undefined, mode?: number | null): string {
  if (key === null || key === undefined || key < 0 || key > 11) return "—";
  const pitch = PITCHES[key] ?? "—";
  if (mode === 1) return `${pitch} major`;
  if (mode === 0) return `${pitch} minor`;
  return pitch;
}

/** An audio feature's value in its own unit. */
export function formatFeature(name: string, value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  switch (name) {
    case "tempo":
      return `${value.toFixed(0)} BPM`;
    case "loudness":
      return `${value.toFixed(1)} dB`;
    case "key":
      return formatKey(value);
    case "mode":
      return value === 1 ? "major" : "minor";
    case "time_signature":
      return `${value}/4`;
    case "plays":
    case "listeners":
    case "popularity":
      return formatNumber(value);
    default:
      return value.toFixed(2);
  }
}

/** The UTC day "YYYY-MM-DD" of an instant. */
export function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** A day moved by `delta` days. */
export function shiftDay(day: string, delta: number): string {
  const ms = Date.parse(`${day}T00:00:00Z`);
  return utcDay(new Date(ms + delta * 86_400_000));
}

export function isDay(text: string | null | undefined): text is string {
  return !!text && /^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(Date.parse(`${text}T00:00:00Z`));
}

/** The URL when it is a plain web link (http or https), else null: never a javascript: or data: link. */
export function safeHref(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
  } catch {
    return null;
  }
}

/** A Spotify web link for a Spotify track id (22 base-62 characters), else null. */
export function spotifyTrackUrl(trackId: string | null | undefined): string | null {
  return trackId && /^[A-Za-z0-9]{22}$/.test(trackId) ? `https://open.spotify.com/track/${trackId}` : null;
}
