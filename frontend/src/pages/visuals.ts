// Visuals: the original chart builder (metrics as bars, one metric as the line, quantity, sort)
// over tracks, artists or days, and the distribution of an audio feature.

import type { Stats } from "../lib/api";
import {
  type BuilderState,
  builderToParams,
  type ChartSpec,
  chartSpec,
  GROUP_LABELS,
  GROUPS,
  isEmptySelection,
  METRIC_LABELS,
  METRICS,
  type Metric,
  type Order,
  parseBuilder,
  QUANTITIES,
  setGroupBy,
  setLine,
  setQuantity,
  setSort,
  type SortField,
  statsQuery,
  toggleBar,
  toggleOrder,
} from "../lib/builder";
import { type AnyChart, barsConfig, builderConfig } from "../lib/chart";
import { empty, errorBox, h, isAbort, loading, messageOf, replace } from "../lib/dom";
import { formatFeature, formatNumber, shiftDay, utcDay } from "../lib/format";
import { buildHash, type Route, trackHash } from "../lib/router";
import { binDigits, binLabels } from "../lib/series";
import { type Ctx, Latest, Scope, type View } from "./view";

// Windows of whole UTC days ending today (the gateway's statistics are per day).
const WINDOWS = [
  ["1d", "Today", 1],
  ["7d", "Last 7 days", 7],
  ["30d", "Last 30 days", 30],
  ["90d", "Last 90 days", 90],
] as const;
type WindowKey = (typeof WINDOWS)[number][0];

const DIST_FEATURES = ["danceability", "energy", "valence", "acousticness", "instrumentalness", "speechiness", "liveness", "tempo", "loudness"] as const;

function windowOf(key: WindowKey, now: Date): { start: string; end: string } {
  const days = WINDOWS.find((w) => w[0] === key)?.[2] ?? 7;
  const end = utcDay(now);
  return { start: shiftDay(end, 1 - days), end };
}

function sortLabel(field: SortField, state: BuilderState): string {
  if (field === "label") return state.groupBy === "day" ? "Date" : "Name";
  return METRIC_LABELS[field];
}

function dataTable(spec: ChartSpec, state: BuilderState, stats: Stats, open: boolean, onToggle: (open: boolean) => void): HTMLElement {
  const items = stats.items.slice(0, state.quantity);
  const details = h(
    "details",
    { class: "chart-data", open },
    h("summary", null, "The numbers behind the chart"),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "grid" },
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            h("th", { scope: "col" }, GROUP_LABELS[state.groupBy].replace(/s$/, "")),
            spec.series.map((s) => h("th", { scope: "col", class: "num" }, `${s.label} (${s.kind === "bar" ? "bars" : "line"})`)),
          ),
        ),
        h(
          "tbody",
          null,
          items.map((item, i) =>
            h(
              "tr",
              null,
              h("th", { scope: "row" }, state.groupBy === "track" ? h("a", { href: trackHash(item.key) }, spec.fullLabels[i] ?? item.key) : (spec.fullLabels[i] ?? item.key)),
              spec.series.map((s) => h("td", { class: "num" }, formatFeature(s.metric, s.values[i]))),
            ),
          ),
        ),
      ),
    ),
  );
  details.addEventListener("toggle", () => onToggle(details.open));
  return details;
}

export function visualsPage(route: Route, ctx: Ctx): View {
  const scope = new Scope();
  const latestStats = new Latest(scope);
  const latestDist = new Latest(scope);
  let state = parseBuilder(route.params);
  let windowKey: WindowKey = WINDOWS.find((w) => w[0] === route.params.get("range"))?.[0] ?? "7d";
  let feature: string = DIST_FEATURES.find((f) => f === route.params.get("feature")) ?? "energy";
  let chart: AnyChart | null = null;
  let distChart: AnyChart | null = null;
  let dataOpen = false;

  // --- controls ----------------------------------------------------------------------------------
  const groupRadios = GROUPS.map((g) => {
    const input = h("input", { type: "radio", name: "group", id: `group-${g}`, value: g });
    input.addEventListener("change", () => update(setGroupBy(state, g)));
    return { g, input, label: h("label", { class: "seg", for: `group-${g}` }, input, GROUP_LABELS[g]) };
  });
  const rangeSel = h("select", { id: "v-range" }, WINDOWS.map(([key, label]) => h("option", { value: key }, label)));
  rangeSel.value = windowKey;
  rangeSel.addEventListener("change", () => {
    windowKey = rangeSel.value as WindowKey;
    update(state);
    void loadDistribution();
  });
  const barBoxes = METRICS.map((m) => {
    const input = h("input", { type: "checkbox", id: `bar-${m}`, name: "bars", value: m });
    input.addEventListener("change", () => update(toggleBar(state, m, input.checked)));
    return { m, input, label: h("label", { class: "check", for: `bar-${m}` }, input, METRIC_LABELS[m]) };
  });
  const lineRadios = [null, ...METRICS].map((m: Metric | null) => {
    const id = `line-${m ?? "none"}`;
    const input = h("input", { type: "radio", id, name: "line", value: m ?? "" });
    input.addEventListener("change", () => {
      if (input.checked) update(setLine(state, m));
    });
    return { m, input, label: h("label", { class: "check", for: id }, input, m ? METRIC_LABELS[m] : "None") };
  });
  const quantitySel = h("select", { id: "v-quantity" }, QUANTITIES.map((q) => h("option", { value: String(q) }, String(q))));
  quantitySel.addEventListener("change", () => update(setQuantity(state, Number(quantitySel.value))));
  const sortSel = h("select", { id: "v-sort" });
  sortSel.addEventListener("change", () => update(setSort(state, sortSel.value as SortField)));
  const orderBtn = h("button", { type: "button", class: "btn", id: "v-order" });
  orderBtn.addEventListener("click", () => update(toggleOrder(state)));

  function syncControls(): void {
    for (const r of groupRadios) r.input.checked = r.g === state.groupBy;
    for (const b of barBoxes) b.input.checked = state.bars.includes(b.m);
    for (const r of lineRadios) r.input.checked = r.m === state.line;
    quantitySel.value = String(state.quantity);
    replace(
      sortSel,
      (["label", ...METRICS] as SortField[]).map((f) => h("option", { value: f }, sortLabel(f, state))),
    );
    sortSel.value = state.sort;
    const order: Order = state.order;
    orderBtn.textContent = order === "desc" ? "Descending ↓" : "Ascending ↑";
    orderBtn.setAttribute("aria-label", `Sort order: ${order === "desc" ? "descending" : "ascending"}. Press to switch.`);
  }

  // --- the builder chart ----------------------------------------------------------------------
  const canvas = h("canvas", { id: "builder-chart", role: "img", "aria-label": "Chart builder result" });
  const chartBox = h("div", { class: "chart-box tall" }, canvas);
  const chartState = h("div", { class: "chart-state", "aria-live": "polite" });
  const chartData = h("div");
  const caption = h("p", { class: "hint" });

  function syncUrl(): void {
    const params = builderToParams(state);
    params.set("range", windowKey);
    params.set("feature", feature);
    history.replaceState(null, "", buildHash("visuals", params));
  }

  function update(next: BuilderState): void {
    state = next;
    syncControls();
    syncUrl();
    void loadStats();
  }

  function showChart(spec: ChartSpec, stats: Stats): void {
    chartBox.hidden = false;
    replace(chartState);
    chart = scope.chart(canvas, builderConfig(spec), chart);
    const described = spec.series.map((s) => `${s.kind}:${s.metric}`).join(",");
    canvas.dataset.series = described;
    canvas.setAttribute(
      "aria-label",
      `${spec.series.filter((s) => s.kind === "bar").map((s) => s.label).join(", ") || "No"} bars` +
        `${spec.series.some((s) => s.kind === "line") ? ` and ${spec.series.find((s) => s.kind === "line")?.label} as a line` : ""}` +
        ` for ${spec.labels.length} ${GROUP_LABELS[state.groupBy].toLowerCase()}`,
    );
    replace(
      chartData,
      dataTable(spec, state, stats, dataOpen, (open) => {
        dataOpen = open;
      }),
    );
  }

  function hideChart(node: Node): void {
    scope.drop(chart);
    chart = null;
    canvas.dataset.series = "";
    chartBox.hidden = true;
    replace(chartState, node);
    replace(chartData);
  }

  async function loadStats(): Promise<void> {
    const signal = latestStats.next();
    if (isEmptySelection(state)) {
      hideChart(empty("Nothing to draw.", "Pick at least one metric to draw as bars, or one as the line."));
      return;
    }
    const window_ = windowOf(windowKey, ctx.now());
    caption.textContent = `${GROUP_LABELS[state.groupBy]} from ${window_.start} to ${window_.end} (UTC days), sorted by ${sortLabel(state.sort, state).toLowerCase()} (${state.order === "desc" ? "descending" : "ascending"}).`;
    if (!chart) replace(chartState, loading("the chart"));
    try {
      const stats = await ctx.api.stats(statsQuery(state, window_), signal);
      if (stats.items.length === 0) {
        hideChart(empty("No plays with these metrics in this time range.", "Try a longer time range."));
        return;
      }
      showChart(chartSpec(state, stats), stats);
    } catch (exc) {
      if (!isAbort(exc)) hideChart(errorBox(`The chart could not be loaded: ${messageOf(exc)}`, () => void loadStats()));
    }
  }

  // --- distributions --------------------------------------------------------------------------
  const featureSel = h("select", { id: "v-feature" }, DIST_FEATURES.map((f) => h("option", { value: f }, f[0]!.toUpperCase() + f.slice(1))));
  featureSel.value = feature;
  featureSel.addEventListener("change", () => {
    feature = featureSel.value;
    syncUrl();
    void loadDistribution();
  });
  const distCanvas = h("canvas", { id: "dist-chart", role: "img", "aria-label": "Distribution of an audio feature" });
  const distBox = h("div", { class: "chart-box" }, distCanvas);
  const distState = h("div", { class: "chart-state", "aria-live": "polite" });
  const distNote = h("p", { class: "hint" });

  async function loadDistribution(): Promise<void> {
    const signal = latestDist.next();
    if (!distChart) replace(distState, loading("the distribution"));
    try {
      const dist = await ctx.api.distribution({ feature, bins: 20, ...windowOf(windowKey, ctx.now()) }, signal);
      const total = dist.bins.reduce((sum, b) => sum + b.count, 0);
      if (total === 0) {
        scope.drop(distChart);
        distChart = null;
        distBox.hidden = true;
        replace(distState, empty(`No ${feature} values in this time range.`, "Audio features arrive with matched plays."));
        distNote.textContent = "";
        return;
      }
      distBox.hidden = false;
      replace(distState);
      const labels = binLabels(dist.bins, binDigits(dist.bins));
      distChart = scope.chart(
        distCanvas,
        barsConfig(labels, [{ label: "Plays", values: dist.bins.map((b) => b.count) }], { xTitle: feature, yTitle: "plays" }),
        distChart,
      );
      distCanvas.setAttribute("aria-label", `Histogram of ${feature} over ${formatNumber(total)} plays`);
      distNote.textContent = `${formatNumber(total)} matched plays with ${feature}, in ${dist.bins.length} bins.`;
    } catch (exc) {
      if (isAbort(exc)) return;
      scope.drop(distChart);
      distChart = null;
      distBox.hidden = true;
      replace(distState, errorBox(`The distribution could not be loaded: ${messageOf(exc)}`, () => void loadDistribution()));
    }
  }

  syncControls();
  const el = h(
    "div",
    { class: "page visuals" },
    h("h1", { tabindex: "-1" }, "Visuals"),
    h("p", { class: "lead" }, "Build your own chart: draw any metrics as bars and one as a line, over the top tracks, artists or days."),
    h(
      "section",
      { class: "panel builder", "aria-labelledby": "builder-h" },
      h("h2", { id: "builder-h" }, "Chart builder"),
      h(
        "div",
        { class: "builder-controls" },
        h("fieldset", { class: "segmented" }, h("legend", null, "Over"), groupRadios.map((r) => r.label)),
        h("div", { class: "field" }, h("label", { for: "v-range" }, "Time range"), rangeSel),
        h("div", { class: "field" }, h("label", { for: "v-quantity" }, "Quantity"), quantitySel),
        h("div", { class: "field" }, h("label", { for: "v-sort" }, "Sort by"), h("div", { class: "row" }, sortSel, orderBtn)),
      ),
      h(
        "div",
        { class: "metric-pickers" },
        h("fieldset", { class: "metrics", id: "bars-set" }, h("legend", null, "Bars"), barBoxes.map((b) => b.label)),
        h("fieldset", { class: "metrics", id: "line-set" }, h("legend", null, "Line (one metric, never also a bar)"), lineRadios.map((r) => r.label)),
      ),
      caption,
      chartState,
      chartBox,
      chartData,
    ),
    h(
      "section",
      { class: "panel", "aria-labelledby": "dist-h" },
      h("h2", { id: "dist-h" }, "Audio feature distribution"),
      h("div", { class: "field inline" }, h("label", { for: "v-feature" }, "Feature"), featureSel),
      distState,
      distBox,
      distNote,
    ),
  );
  void loadStats();
  void loadDistribution();
  return { el, title: "Visuals", dispose: () => scope.dispose() };
}
