// The Visuals chart builder (the original project's): metrics drawn as bars, at most one metric as
// a line, never the same metric as both; 5/10/15/20 groups; a sort field and direction; over
// tracks, artists or days. Plain state and pure rules, so the page only renders what they say.

import type { GroupBy, Params, Stats } from "./api";

export const METRICS = [
  "plays",
  "listeners",
  "danceability",
  "energy",
  "loudness",
  "speechiness",
  "acousticness",
  "instrumentalness",
  "liveness",
  "valence",
  "tempo",
] as const;
export type Metric = (typeof METRICS)[number];

export const METRIC_LABELS: Record<Metric, string> = {
  plays: "Plays",
  listeners: "Listeners",
  danceability: "Danceability",
  energy: "Energy",
  loudness: "Loudness (dB)",
  speechiness: "Speechiness",
  acousticness: "Acousticness",
  instrumentalness: "Instrumentalness",
  liveness: "Liveness",
  valence: "Valence",
  tempo: "Tempo (BPM)",
};

export const QUANTITIES = [5, 10, 15, 20] as const;
export type Quantity = (typeof QUANTITIES)[number];

export const GROUPS: readonly GroupBy[] = ["track", "artist", "day"];
export const GROUP_LABELS: Record<GroupBy, string> = { track: "Tracks", artist: "Artists", day: "Days" };

/** Sort by a metric, or by the group's label (the name, or the date for days). */
export type SortField = Metric | "label";
export type Order = "asc" | "desc";

export interface BuilderState {
  groupBy: GroupBy;
  bars: Metric[];
  line: Metric | null;
  quantity: Quantity;
  sort: SortField;
  order: Order;
}

export const DEFAULT_BUILDER: BuilderState = {
  groupBy: "track",
  bars: ["plays"],
  line: null,
  quantity: 10,
  sort: "plays",
  order: "desc",
};

export function isMetric(value: string): value is Metric {
  return (METRICS as readonly string[]).includes(value);
}

function inMetricOrder(metrics: Iterable<Metric>): Metric[] {
  const chosen = new Set(metrics);
  return METRICS.filter((m) => chosen.has(m));
}

/** Draw `metric` as a bar (on) or stop drawing it (off). Making it a bar takes it off the line. */
export function toggleBar(state: BuilderState, metric: Metric, on: boolean): BuilderState {
  const bars = on ? inMetricOrder([...state.bars, metric]) : state.bars.filter((m) => m !== metric);
  const line = on && state.line === metric ? null : state.line;
  return { ...state, bars, line };
}

/** Draw `metric` as the line (null: no line). Making it the line takes it out of the bars. */
export function setLine(state: BuilderState, metric: Metric | null): BuilderState {
  const bars = metric === null ? state.bars : state.bars.filter((m) => m !== metric);
  return { ...state, bars, line: metric };
}

/** A quantity from text; anything but 5, 10, 15 or 20 is refused (null). */
export function parseQuantity(text: string | number | null): Quantity | null {
  const n = Number(text);
  return (QUANTITIES as readonly number[]).includes(n) ? (n as Quantity) : null;
}

export function setQuantity(state: BuilderState, quantity: number): BuilderState {
  const q = parseQuantity(quantity);
  return q === null ? state : { ...state, quantity: q };
}

export function setSort(state: BuilderState, sort: SortField, order: Order = state.order): BuilderState {
  return { ...state, sort, order };
}

export function toggleOrder(state: BuilderState): BuilderState {
  return { ...state, order: state.order === "desc" ? "asc" : "desc" };
}

export function setGroupBy(state: BuilderState, groupBy: GroupBy): BuilderState {
  return { ...state, groupBy };
}

/** The metrics the gateway must return: the drawn ones, and the sort field when it is a metric. */
export function requestedMetrics(state: BuilderState): Metric[] {
  const wanted: Metric[] = [...state.bars];
  if (state.line) wanted.push(state.line);
  if (state.sort !== "label") wanted.push(state.sort);
  return inMetricOrder(wanted);
}

/** Nothing to draw: the builder says so instead of drawing an empty chart. */
export function isEmptySelection(state: BuilderState): boolean {
  return state.bars.length === 0 && state.line === null;
}

/** Query parameters of /api/stats for the builder over a window of UTC days (both inclusive). */
export function statsQuery(state: BuilderState, window: { start: string; end: string }): Params {
  return {
    group_by: state.groupBy,
    metrics: requestedMetrics(state).join(","),
    sort: state.sort,
    order: state.order,
    limit: state.quantity,
    start: window.start,
    end: window.end,
  };
}

/** Builder state from the address's query, keeping the rules (a line metric is never also a bar). */
export function parseBuilder(params: URLSearchParams): BuilderState {
  const groupParam = params.get("group");
  const groupBy = GROUPS.find((g) => g === groupParam) ?? DEFAULT_BUILDER.groupBy;
  const barsParam = params.get("bars");
  const bars =
    barsParam === null ? DEFAULT_BUILDER.bars : inMetricOrder(barsParam.split(",").map((s) => s.trim()).filter(isMetric));
  const lineParam = params.get("line") ?? "";
  const line = isMetric(lineParam) ? lineParam : null;
  const sortParam = params.get("sort") ?? "";
  const sort: SortField = sortParam === "label" || isMetric(sortParam) ? sortParam : DEFAULT_BUILDER.sort;
  const order: Order = params.get("order") === "asc" ? "asc" : "desc";
  const quantity = parseQuantity(params.get("n")) ?? DEFAULT_BUILDER.quantity;
  return setLine({ groupBy, bars, line: null, quantity, sort, order }, line);
}

export function builderToParams(state: BuilderState): URLSearchParams {
  const out = new URLSearchParams();
  out.set("group", state.groupBy);
  out.set("bars", state.bars.join(","));
  if (state.line) out.set("line", state.line);
  out.set("n", String(state.quantity));
  out.set("sort", state.sort);
  out.set("order", state.order);
  return out;
}

export interface Series {
  kind: "bar" | "line";
  metric: Metric;
  label: string;
  values: (number | null)[];
}

export interface ChartSpec {
  labels: string[];
  /** Full names for tooltips (labels are shortened). */
  fullLabels: string[];
  series: Series[];
}

/** Shorten a long axis label the way the original did, with an ellipsis. */
export function shortLabel(text: string, max = 18): string {
  const chars = Array.from(text);
  return chars.length > max ? `${chars.slice(0, max - 1).join("").trimEnd()}…` : text;
}

function metricValue(item: Stats["items"][number], metric: Metric): number | null {
  const value = item[metric];
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** What to draw for a builder state and the gateway's answer: bars first, then the line. */
export function chartSpec(state: BuilderState, stats: Stats): ChartSpec {
  const items = stats.items.slice(0, state.quantity);
  const fullLabels = items.map((item) => item.label ?? item.key);
  const series: Series[] = state.bars.map((metric) => ({
    kind: "bar",
    metric,
    label: METRIC_LABELS[metric],
    values: items.map((item) => metricValue(item, metric)),
  }));
  if (state.line) {
    const metric = state.line;
    series.push({ kind: "line", metric, label: METRIC_LABELS[metric], values: items.map((item) => metricValue(item, metric)) });
  }
  return { labels: fullLabels.map((l) => shortLabel(l)), fullLabels, series };
}
