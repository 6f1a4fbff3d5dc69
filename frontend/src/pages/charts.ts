// Charts: the top tracks and artists of a UTC day, week, month, year or all time (plays and unique
// listeners) from the period aggregates, the listening activity of the same period, and what is
// trending on the day.

import type { Activity, Audience, PeriodKind, TopArtist, TopTrack, TrendingTrack } from "../lib/api";
import { shortLabel } from "../lib/builder";
import { type AnyChart, barsConfig } from "../lib/chart";
import { empty, errorBox, h, isAbort, loading, messageOf, replace } from "../lib/dom";
import { artistsText, formatNumber, isDay, utcDay } from "../lib/format";
import { isLatest, isPeriod, PERIODS, periodLabel, shiftPeriod, WEEKDAYS } from "../lib/periods";
import { buildHash, type Route, trackHash } from "../lib/router";
import { type Ctx, Latest, Scope, type View } from "./view";

const AUDIENCES: [Audience, string][] = [
  ["all", "Everyone"],
  ["people", "People only"],
  ["bots", "Radio bots only"],
];
const LIMIT = 10;

interface Section {
  body: HTMLElement;
  chart: AnyChart | null;
}

function dataLink(params: Record<string, string>): string {
  return buildHash("data", new URLSearchParams({ range: "30d", ...params }));
}

function trackTable(items: TopTrack[]): HTMLElement {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "grid chart-table" },
      h(
        "thead",
        null,
        h("tr", null, h("th", { scope: "col", class: "num" }, "#"), h("th", { scope: "col" }, "Track"), h("th", { scope: "col", class: "num" }, "Plays"), h("th", { scope: "col", class: "num" }, "Listeners")),
      ),
      h(
        "tbody",
        null,
        items.map((t) =>
          h(
            "tr",
            null,
            h("td", { class: "num rank" }, String(t.rank)),
            h("td", null, h("a", { href: trackHash(t.track_id), class: "strong" }, t.track_name ?? t.track_id), h("div", { class: "muted" }, artistsText(t.artist_names))),
            h("td", { class: "num" }, formatNumber(t.plays)),
            h("td", { class: "num" }, formatNumber(t.listeners)),
          ),
        ),
      ),
    ),
  );
}

function artistTable(items: TopArtist[]): HTMLElement {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "grid chart-table" },
      h(
        "thead",
        null,
        h("tr", null, h("th", { scope: "col", class: "num" }, "#"), h("th", { scope: "col" }, "Artist"), h("th", { scope: "col", class: "num" }, "Plays"), h("th", { scope: "col", class: "num" }, "Listeners")),
      ),
      h(
        "tbody",
        null,
        items.map((a) =>
          h(
            "tr",
            null,
            h("td", { class: "num rank" }, String(a.rank)),
            h("td", null, h("a", { href: dataLink({ artist: a.artist_name ?? "" }), class: "strong", title: "Plays by this artist" }, a.artist_name ?? a.artist_id)),
            h("td", { class: "num" }, formatNumber(a.plays)),
            h("td", { class: "num" }, formatNumber(a.listeners)),
          ),
        ),
      ),
    ),
  );
}

function trendingTable(items: TrendingTrack[]): HTMLElement {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "grid chart-table" },
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          h("th", { scope: "col", class: "num" }, "#"),
          h("th", { scope: "col" }, "Track"),
          h("th", { scope: "col", class: "num" }, "Plays"),
          h("th", { scope: "col", class: "num", title: "Mean plays a day over the 7 days before" }, "Usual / day"),
          h("th", { scope: "col", class: "num" }, "Score"),
        ),
      ),
      h(
        "tbody",
        null,
        items.map((t) =>
          h(
            "tr",
            null,
            h("td", { class: "num rank" }, String(t.rank)),
            h("td", null, h("a", { href: trackHash(t.track_id), class: "strong" }, t.track_name ?? t.track_id), h("div", { class: "muted" }, artistsText(t.artist_names))),
            h("td", { class: "num" }, formatNumber(t.plays)),
            h("td", { class: "num" }, formatNumber(t.trailing_avg, 1)),
            h("td", { class: "num" }, formatNumber(t.score, 1)),
          ),
        ),
      ),
    ),
  );
}

function heatmap(value: Activity): HTMLElement {
  const most = Math.max(1, ...value.heatmap.map((c) => c.plays));
  const cell = new Map(value.heatmap.map((c) => [`${c.weekday}-${c.hour}`, c]));
  const hours = Array.from({ length: 24 }, (_, hour) => hour);
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "heatmap", "aria-label": "Plays by weekday and UTC hour" },
      h("thead", null, h("tr", null, h("th", { scope: "col" }, ""), hours.map((hour) => h("th", { scope: "col" }, String(hour).padStart(2, "0"))))),
      h(
        "tbody",
        null,
        WEEKDAYS.map((name, index) =>
          h(
            "tr",
            null,
            h("th", { scope: "row" }, name),
            hours.map((hour) => {
              const c = cell.get(`${index + 1}-${hour}`);
              const plays = c?.plays ?? 0;
              const level = plays === 0 ? 0 : Math.ceil((plays / most) * 5);
              return h(
                "td",
                { class: `heat heat-${level}`, title: `${name} ${String(hour).padStart(2, "0")}:00 UTC: ${plays} plays (${c?.people ?? 0} people, ${c?.bots ?? 0} bots)` },
                plays ? formatNumber(plays) : "",
              );
            }),
          ),
        ),
      ),
    ),
  );
}

function shareTable(items: Activity["by_source"], what: string, total: number): HTMLElement {
  if (items.length === 0) return empty(`No ${what.toLowerCase()} known.`);
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "grid" },
      h("thead", null, h("tr", null, h("th", { scope: "col" }, what), h("th", { scope: "col", class: "num" }, "Plays"), h("th", { scope: "col", class: "num" }, "People"), h("th", { scope: "col", class: "num" }, "Bots"), h("th", { scope: "col" }, "Share"))),
      h(
        "tbody",
        null,
        items.map((i) =>
          h(
            "tr",
            null,
            h("th", { scope: "row" }, i.value || "unknown"),
            h("td", { class: "num" }, formatNumber(i.plays)),
            h("td", { class: "num" }, formatNumber(i.people)),
            h("td", { class: "num" }, formatNumber(i.bots)),
            h("td", null, h("progress", { max: total, value: i.plays, "aria-label": `${i.value || "unknown"}: share of plays` })),
          ),
        ),
      ),
    ),
  );
}

export function chartsPage(route: Route, ctx: Ctx): View {
  const scope = new Scope();
  const latest = new Latest(scope);
  const today = utcDay(ctx.now());
  const asked = route.params.get("date") ?? route.params.get("day");
  let day = isDay(asked) ? asked : today;
  const askedPeriod = route.params.get("period");
  let period: PeriodKind = isPeriod(askedPeriod) ? askedPeriod : route.params.get("days") === "7" ? "week" : "day";
  let audience: Audience = AUDIENCES.find(([a]) => a === route.params.get("audience"))?.[0] ?? "all";

  const dayIn = h("input", { type: "date", id: "c-day", max: today, value: day });
  const prevBtn = h("button", { type: "button", class: "btn", "aria-label": "Previous period" }, "←");
  const nextBtn = h("button", { type: "button", class: "btn", "aria-label": "Next period" }, "→");
  const periodRadios = PERIODS.map(([kind, label]) => {
    const input = h("input", { type: "radio", name: "period", id: `period-${kind}`, value: kind });
    input.checked = kind === period;
    input.addEventListener("change", () => {
      period = kind;
      void load();
    });
    return h("label", { class: "seg", for: `period-${kind}` }, input, label);
  });
  const audienceSel = h("select", { id: "c-audience" }, AUDIENCES.map(([a, label]) => h("option", { value: a }, label)));
  audienceSel.value = audience;

  dayIn.addEventListener("change", () => {
    if (isDay(dayIn.value)) {
      day = dayIn.value;
      void load();
    }
  });
  prevBtn.addEventListener("click", () => {
    day = shiftPeriod(period, day, -1);
    void load();
  });
  nextBtn.addEventListener("click", () => {
    const next = shiftPeriod(period, day, 1);
    day = next > today ? today : next;
    void load();
  });
  audienceSel.addEventListener("change", () => {
    audience = audienceSel.value as Audience;
    void load();
  });

  const heading = h("p", { class: "results-line", "aria-live": "polite" });
  const tracks: Section = { body: h("div", { class: "panel-body" }), chart: null };
  const artists: Section = { body: h("div", { class: "panel-body" }), chart: null };
  const trending: Section = { body: h("div", { class: "panel-body" }), chart: null };
  const activity: Section = { body: h("div", { class: "panel-body" }), chart: null };
  let shown = periodLabel(period, day);

  function emptyDay(what: string): HTMLElement {
    const box = empty(
      `No ${what} for ${shown}.`,
      "Charts come from the period aggregates, which the Spark job folds in as plays are loaded.",
    );
    if (period !== "all") {
      box.append(
        h(
          "button",
          {
            type: "button",
            class: "btn",
            onclick: () => {
              day = shiftPeriod(period, day, -1);
              void load();
            },
          },
          `Show the ${period} before`,
        ),
      );
    }
    return box;
  }

  function showBars(section: Section, labels: string[], fullLabels: string[], plays: number[], listeners: number[], table: HTMLElement, name: string): void {
    scope.drop(section.chart);
    const canvas = h("canvas", { role: "img", "aria-label": `Plays and listeners of the top ${name}`, "data-chart": name });
    replace(section.body, h("div", { class: "chart-box" }, canvas), table);
    section.chart = scope.chart(
      canvas,
      barsConfig(
        labels,
        [
          { label: "Plays", values: plays },
          { label: "Listeners", values: listeners },
        ],
        { horizontal: true, fullLabels },
      ),
    );
  }

  async function load(): Promise<void> {
    const signal = latest.next();
    dayIn.value = day;
    nextBtn.disabled = isLatest(period, day, today);
    prevBtn.disabled = period === "all";
    dayIn.disabled = period === "all";
    history.replaceState(null, "", buildHash("charts", new URLSearchParams({ period, date: day, audience })));
    shown = periodLabel(period, day);
    heading.textContent = `${shown[0]?.toUpperCase() ?? ""}${shown.slice(1)} (UTC)`;
    for (const s of [tracks, artists, trending, activity]) {
      if (!s.chart && !s.body.querySelector("table")) replace(s.body, loading("the chart"));
      s.body.setAttribute("aria-busy", "true");
    }
    const params = { period, date: day, audience, limit: LIMIT };
    const settle = <T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> =>
      promise.then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      );
    const [t, a, tr, act] = await Promise.all([
      settle(ctx.api.topTracks(params, signal)),
      settle(ctx.api.topArtists(params, signal)),
      settle(ctx.api.trending({ day, limit: LIMIT }, signal)),
      settle(ctx.api.activity({ period, date: day }, signal)),
    ]);
    if (signal.aborted) return;
    for (const s of [tracks, artists, trending, activity]) s.body.removeAttribute("aria-busy");
    if (t.ok) {
      shown = periodLabel(period, day, t.value.start, t.value.end);
      heading.textContent = `${shown[0]?.toUpperCase() ?? ""}${shown.slice(1)} (UTC)`;
    }

    const fail = (section: Section, what: string, error: unknown): void => {
      if (isAbort(error)) return;
      scope.drop(section.chart);
      section.chart = null;
      replace(section.body, errorBox(`The ${what} could not be loaded: ${messageOf(error)}`, () => void load()));
    };
    const none = (section: Section, what: string): void => {
      scope.drop(section.chart);
      section.chart = null;
      replace(section.body, emptyDay(what));
    };

    if (!t.ok) fail(tracks, "top tracks", t.error);
    else if (t.value.items.length === 0) none(tracks, "top tracks");
    else {
      const items = t.value.items;
      const full = items.map((i) => `${i.track_name ?? i.track_id} — ${artistsText(i.artist_names)}`);
      showBars(tracks, items.map((i) => shortLabel(i.track_name ?? i.track_id, 22)), full, items.map((i) => i.plays), items.map((i) => i.listeners), trackTable(items), "tracks");
    }
    if (!a.ok) fail(artists, "top artists", a.error);
    else if (a.value.items.length === 0) none(artists, "top artists");
    else {
      const items = a.value.items;
      const names = items.map((i) => i.artist_name ?? i.artist_id);
      showBars(artists, names.map((n) => shortLabel(n, 22)), names, items.map((i) => i.plays), items.map((i) => i.listeners), artistTable(items), "artists");
    }
    if (!tr.ok) fail(trending, "trending tracks", tr.error);
    else if (tr.value.items.length === 0) {
      replace(trending.body, empty(`Nothing trending on ${day}.`, "A track trends when it is played far more than in the 7 days before."));
    } else replace(trending.body, trendingTable(tr.value.items));
    if (!act.ok) fail(activity, "listening activity", act.error);
    else if (act.value.totals.plays === 0) {
      scope.drop(activity.chart);
      activity.chart = null;
      replace(activity.body, empty(`No plays in ${shown}.`, "Activity counts every play, matched or not, once the Spark job has folded it in."));
    } else showActivity(act.value);
  }

  function showActivity(value: Activity): void {
    scope.drop(activity.chart);
    const canvas = h("canvas", { role: "img", "aria-label": "Plays by people and by bots over time", "data-chart": "activity-time" });
    replace(
      activity.body,
      h(
        "p",
        { class: "results-line" },
        `${formatNumber(value.totals.plays)} plays: ${formatNumber(value.totals.people)} by people, ${formatNumber(value.totals.bots)} by bots.`,
      ),
      h("h3", null, "When: hour of day (UTC) × weekday"),
      heatmap(value),
      h("h3", null, "People and bots over time"),
      h("div", { class: "chart-box short" }, canvas),
      h("div", { class: "two-col" }, h("div", null, h("h3", null, "By source"), shareTable(value.by_source, "Source", value.totals.plays)), h("div", null, h("h3", null, "By language"), shareTable(value.by_lang, "Language", value.totals.plays))),
    );
    activity.chart = scope.chart(
      canvas,
      barsConfig(
        value.over_time.map((p) => p.at),
        [
          { label: "People", values: value.over_time.map((p) => p.people) },
          { label: "Bots", values: value.over_time.map((p) => p.bots) },
        ],
      ),
    );
  }

  const el = h(
    "div",
    { class: "page charts" },
    h("h1", { tabindex: "-1" }, "Charts"),
    h("p", { class: "lead" }, "The most played tracks and artists, counted from #NowPlaying posts: plays, and unique listeners (distinct accounts)."),
    h(
      "div",
      { class: "toolbar chart-controls" },
      h("fieldset", { class: "segmented" }, h("legend", null, "Period"), periodRadios),
      h("div", { class: "field" }, h("label", { for: "c-day" }, "Containing the day (UTC)"), h("div", { class: "row" }, prevBtn, dayIn, nextBtn)),
      h("div", { class: "field" }, h("label", { for: "c-audience" }, "Who"), audienceSel),
    ),
    heading,
    h(
      "div",
      { class: "two-col" },
      h("section", { class: "panel", "aria-labelledby": "tt-h" }, h("h2", { id: "tt-h" }, "Top tracks"), tracks.body),
      h("section", { class: "panel", "aria-labelledby": "ta-h" }, h("h2", { id: "ta-h" }, "Top artists"), artists.body),
    ),
    h(
      "section",
      { class: "panel", "aria-labelledby": "tr-h" },
      h("h2", { id: "tr-h" }, "Trending"),
      h("p", { class: "hint" }, "Tracks played much more on this day than usual (their mean over the 7 days before)."),
      trending.body,
    ),
    h(
      "section",
      { class: "panel", "aria-labelledby": "ac-h", id: "activity" },
      h("h2", { id: "ac-h" }, "Listening activity"),
      h("p", { class: "hint" }, "Every play of the period, matched or not: when it happened, where it was posted and in which language."),
      activity.body,
    ),
  );
  void load();
  return { el, title: "Charts", dispose: () => scope.dispose() };
}
