// The gateway's HTTP API: types for its JSON shapes and a small typed client.
// Shapes follow services/nowplaying/gateway/API.md (the OpenAPI schema at /api/openapi.json is the truth).

export const FEATURES = [
  "danceability",
  "energy",
  "key",
  "loudness",
  "speechiness",
  "acousticness",
  "instrumentalness",
  "liveness",
  "valence",
  "tempo",
  "time_signature",
  "mode",
] as const;
export type Feature = (typeof FEATURES)[number];

export type Features = { [K in Feature]: number | null } & { features_source: string | null };

export interface Play {
  source: string;
  post_id: string;
  played_at: string;
  author_id: string | null;
  text: string | null;
  url: string | null;
  is_bot: boolean | null;
  matched: boolean | null;
  track_id: string | null;
  track_name: string | null;
  artist_ids?: string[] | null;
  artist_names: string[] | null;
  album: string | null;
  release_date: string | null;
  popularity: number | null;
  duration_ms: number | null;
  match_method: string | null;
  match_confidence: number | null;
  features_source: string | null;
  danceability: number | null;
  energy: number | null;
  key: number | null;
  loudness: number | null;
  speechiness: number | null;
  acousticness: number | null;
  instrumentalness: number | null;
  liveness: number | null;
  valence: number | null;
  tempo: number | null;
  time_signature: number | null;
  mode: number | null;
  /** Which reading of the post matched (its index in the cleaner's candidates), and that reading's rule. */
  match_candidate?: number | null;
  match_rule?: string | null;
  /** The post's language, when the source gave one. */
  lang?: string | null;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
  /** The resolved window of the query. */
  start?: string;
  end?: string;
}

export interface Track {
  track_id: string;
  name: string | null;
  artist_ids: string[] | null;
  artist_names: string[] | null;
  album: string | null;
  release_date: string | null;
  popularity: number | null;
  duration_ms: number | null;
}

export interface DayCount {
  day: string;
  plays: number;
}

export interface TrackPost {
  played_at: string;
  source: string;
  post_id: string;
  text: string | null;
  url: string | null;
  is_bot: boolean | null;
  author_id: string | null;
}

export interface TrackDetail {
  track: Track;
  features: Features | null;
  plays_by_day: DayCount[];
  posts: TrackPost[];
}

export type Audience = "all" | "people" | "bots";

export interface TopTrack {
  rank: number;
  track_id: string;
  track_name: string | null;
  artist_names: string[] | null;
  plays: number;
  listeners: number;
}

export interface TopArtist {
  rank: number;
  artist_id: string;
  artist_name: string | null;
  plays: number;
  listeners: number;
}

export interface TrendingTrack {
  rank: number;
  track_id: string;
  track_name: string | null;
  artist_names: string[] | null;
  plays: number;
  trailing_avg: number;
  score: number;
}

export type PeriodKind = "day" | "week" | "month" | "year" | "all";

export interface Chart<T> {
  day: string;
  days?: number;
  audience?: Audience;
  /** Present when asked for a period: its kind, key and first and last day (null for all time). */
  period?: PeriodKind;
  period_key?: string;
  start?: string | null;
  end?: string | null;
  items: T[];
}

export interface ActivityCount {
  plays: number;
  people: number;
  bots: number;
}

export interface Activity {
  period: PeriodKind;
  period_key: string;
  start: string | null;
  end: string | null;
  totals: ActivityCount;
  heatmap: (ActivityCount & { weekday: number; hour: number })[];
  by_source: (ActivityCount & { value: string })[];
  by_lang: (ActivityCount & { value: string })[];
  over_time: (ActivityCount & { at: string })[];
}

export type GroupBy = "track" | "artist" | "day";

export interface StatsItem {
  key: string;
  label: string | null;
  plays?: number | null;
  [metric: string]: string | number | null | undefined;
}

export interface Stats {
  group_by: GroupBy;
  metrics: string[];
  items: StatsItem[];
}

export interface Bin {
  lo: number;
  hi: number;
  count: number;
}

export interface Distribution {
  feature: string;
  bins: Bin[];
}

export interface Summary {
  day: string;
  plays: number;
  matched: number;
  matched_share: number | null;
  people_plays: number;
  bot_plays: number;
  posts_today: number;
  top_track: { track_id: string; track_name: string | null; artist_names: string[] | null; plays: number } | null;
}

export interface StageStatus {
  stage: string;
  started_at: string | null;
  finished_at: string | null;
  status: string | null;
  items_in: number | null;
  items_out: number | null;
  errors: number | null;
  duration_s: number | null;
  age_s: number | null;
}

export interface CronJobStatus {
  name: string;
  last_schedule: string | null;
  last_success: string | null;
}

export interface Freshness {
  newest_play_at: string | null;
  newest_play_age_s: number | null;
  newest_aggregate_at: string | null;
  newest_aggregate_age_s: number | null;
  aggregates_ready: boolean;
  aggregate_running: boolean;
}

export interface Status {
  stages: StageStatus[];
  freshness?: Freshness;
  cronjobs?: CronJobStatus[];
}

// --- explain a match (GET /api/plays/{source}/{post_id}/explain) ----------------------------------
export interface CachedResolution {
  track_id: string | null;
  confidence: number | null;
  method: string;
}

export interface CatalogCandidate {
  track_id: string;
  name: string;
  artists: string[];
  album: string;
  confidence: number | null;
  similarity: number | null;
  penalty: number | null;
  title_similarity?: number | null;
  artist_similarity?: number | null;
  swapped?: boolean | null;
}

export interface ExplainedSearch {
  reading: number;
  method: string;
  q: string;
  from: "api" | "run" | "budget";
  results: number;
  top: CatalogCandidate[];
  accepted: string | null;
}

export interface Explanation {
  v: number;
  at: string;
  context: "batch" | "recheck" | "override";
  post: { kind: string; rule: string | null; is_bot: boolean };
  candidates: { index: number; rule: string; confidence: number | null; artist: string | null; title: string | null; query: string | null }[];
  readings: { index: number; kind: string; key: string; track_id?: string | null; cache: "hit" | "negative" | "miss"; cached?: CachedResolution | null }[];
  walk_cache: CachedResolution | null;
  searches: ExplainedSearch[];
  api_searches: number;
  threshold: number | null;
  budget: number;
  decision: {
    track_id: string | null;
    confidence: number | null;
    method: string;
    matched: boolean;
    reading: number | null;
    by: string;
    /** catalog candidates the searches returned (0: none); null when no search decided it */
    candidates_found?: number | null;
    /** the decision in one plain sentence */
    summary?: string;
  };
  override?: { query_key: string; track_id: string | null; not_a_song: boolean; set_by: string; set_at: string } | null;
}

export interface PlayExplanation {
  source: string;
  post_id: string;
  played_at: string | null;
  enriched_at: string | null;
  match_keys: string[];
  track_id: string | null;
  method: string | null;
  corrected: boolean;
  explanation: Explanation;
}

/** A failed API call, with a message meant for people. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

export type Params = Record<string, string | number | boolean | null | undefined>;

/** `path?query` with empty values left out, in the order given. */
export function buildUrl(path: string, params: Params = {}): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === null || value === undefined || value === "") continue;
    query.append(name, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

/** Words for an HTTP failure: the gateway's own message when it sent one. */
export function errorFromResponse(status: number, body: unknown): ApiError {
  if (typeof body === "object" && body !== null && "error" in body) {
    const err = (body as { error: unknown }).error;
    if (typeof err === "object" && err !== null) {
      const { code, message } = err as { code?: unknown; message?: unknown };
      if (typeof message === "string" && message) {
        return new ApiError(status, typeof code === "string" ? code : "error", message);
      }
    }
  }
  if (status === 404) return new ApiError(status, "not_found", "Not found.");
  if (status === 503) return new ApiError(status, "unavailable", "The service is unavailable right now (the database may be down).");
  if (status >= 500) return new ApiError(status, "server_error", `The gateway failed (HTTP ${status}). Try again in a moment.`);
  return new ApiError(status, "bad_request", `The request was refused (HTTP ${status}).`);
}

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface Api {
  get<T>(path: string, params?: Params, signal?: AbortSignal): Promise<T>;
  plays(params: Params, signal?: AbortSignal): Promise<Page<Play>>;
  track(trackId: string, params?: Params, signal?: AbortSignal): Promise<TrackDetail>;
  explain(source: string, postId: string, signal?: AbortSignal): Promise<PlayExplanation>;
  topTracks(params: Params, signal?: AbortSignal): Promise<Chart<TopTrack>>;
  topArtists(params: Params, signal?: AbortSignal): Promise<Chart<TopArtist>>;
  trending(params: Params, signal?: AbortSignal): Promise<Chart<TrendingTrack>>;
  activity(params: Params, signal?: AbortSignal): Promise<Activity>;
  stats(params: Params, signal?: AbortSignal): Promise<Stats>;
  distribution(params: Params, signal?: AbortSignal): Promise<Distribution>;
  summary(params: Params, signal?: AbortSignal): Promise<Summary>;
  status(signal?: AbortSignal): Promise<Status>;
}

/** The API client; `fetchFn` and `base` are passed in so tests can point it at any server. */
export function createApi(fetchFn: FetchLike, base = ""): Api {
  async function get<T>(path: string, params: Params = {}, signal?: AbortSignal): Promise<T> {
    const url = base + buildUrl(path, params);
    let response: Response;
    try {
      response = await fetchFn(url, { headers: { Accept: "application/json" }, signal: signal ?? null });
    } catch (exc) {
      if (exc instanceof DOMException && exc.name === "AbortError") throw exc;
      throw new ApiError(0, "network", "Cannot reach the gateway. Check your connection and try again.");
    }
    let body: unknown = null;
    const text = await response.text();
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        if (response.ok) throw new ApiError(response.status, "bad_response", "The gateway sent something that is not JSON.");
      }
    }
    if (!response.ok) throw errorFromResponse(response.status, body);
    return body as T;
  }

  return {
    get,
    plays: (params, signal) => get<Page<Play>>("/api/plays", params, signal),
    track: (trackId, params, signal) => get<TrackDetail>(`/api/tracks/${encodeURIComponent(trackId)}`, params ?? {}, signal),
    explain: (source, postId, signal) =>
      get<PlayExplanation>(`/api/plays/${encodeURIComponent(source)}/${encodeURIComponent(postId)}/explain`, {}, signal),
    topTracks: (params, signal) => get<Chart<TopTrack>>("/api/charts/top-tracks", params, signal),
    topArtists: (params, signal) => get<Chart<TopArtist>>("/api/charts/top-artists", params, signal),
    trending: (params, signal) => get<Chart<TrendingTrack>>("/api/charts/trending", params, signal),
    activity: (params, signal) => get<Activity>("/api/activity", params, signal),
    stats: (params, signal) => get<Stats>("/api/stats", params, signal),
    distribution: (params, signal) => get<Distribution>("/api/stats/distribution", params, signal),
    summary: (params, signal) => get<Summary>("/api/summary", params, signal),
    status: (signal) => get<Status>("/api/status", {}, signal),
  };
}
