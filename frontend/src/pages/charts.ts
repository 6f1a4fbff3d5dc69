// Charts: the top tracks and artists of a day or a week (plays and unique listeners), and what is
// trending, from the daily aggregates.

import type { Audience, TopArtist, TopTrack, TrendingTrack } from "../lib/api";
import { shortLabel } from "../lib/builder";
import { type AnyChart, barsConfig } from "../lib/chart";
import { empty, errorBox, h, isAbort, loading, messageOf, replace } from "../lib/dom";
import { artistsText, formatNumber, isDay, shiftDay, utcDay } from "../lib/format";
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

export function chartsPage(route: Route, ctx: Ctx): View {
  const scope = new Scope();
  const latest = new Latest(scope);
  const today = utcDay(ctx.now());
  let day = isDay(route.params.get("day")) ? (route.params.get("day") as string) : today;
  let days: 1 | 7 = route.params.get("days") === "7" ? 7 : 1;
  let audience: Audience = AUDIENCES.find(([a]) => a === route.params.get("audience"))?.[0] ?? "all";

  const dayIn = h("input", { type: "date", id: "c-day", max: today, value: day });
  const prevBtn = h("button", { type: "button", class: "btn", "aria-label": "Previous day" }, "←");
  const nextBtn = h("button", { type: "button", class: "btn", "aria-label": "Next day" }, "→");
  const spanRadios = ([1, 7] as const).map((n) => {
    const input = h("input", { type: "radio", name: "days", id: `days-${n}`, value: String(n) });
    input.checked = n === days;
    input.addEventListener("change", () => {
      days = n;
      void load();
    });
    return h("label", { class: "seg", for: `days-${n}` }, input, n === 1 ? "Day" : "Week");
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
    day = shiftDay(day, -1);
    void load();
  });
  nextBtn.addEventListener("click", () => {
    if (day < today) day = shiftDay(day, 1);
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

  function emptyDay(what: string): HTMLElement {
    const box = empty(
      `No ${what} for ${days === 7 ? `the week ending ${day}` : day}.`,
      "Charts come from the daily aggregates, computed by the Spark job once the day's plays are loaded.",
    );
    box.append(
      h(
        "button",
        {
          type: "button",
          class: "btn",
          onclick: () => {
            day = shiftDay(day, -1);
            void load();
          },
        },
        "Show the day before",
      ),
    );
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
    nextBtn.disabled = day >= today;
    history.replaceState(null, "", buildHash("charts", new URLSearchParams({ day, days: String(days), audience })));
    heading.textContent = days === 7 ? `The week ending ${day} (UTC)` : `${day} (UTC)`;
    for (const s of [tracks, artists, trending]) {
      if (!s.chart && !s.body.querySelector("table")) replace(s.body, loading("the chart"));
      s.body.setAttribute("aria-busy", "true");
    }
    const params = { day, days, audience, limit: LIMIT };
    const settle = <T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> =>
      promise.then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      );
    const [t, a, tr] = await Promise.all([
      settle(ctx.api.topTracks(params, signal)),
      settle(ctx.api.topArtists(params, signal)),
      settle(ctx.api.trending({ day, limit: LIMIT }, signal)),
    ]);
    if (signal.aborted) return;
    for (const s of [tracks, artists, trending]) s.body.removeAttribute("aria-busy");

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
  }

  const el = h(
    "div",
    { class: "page charts" },
    h("h1", { tabindex: "-1" }, "Charts"),
    h("p", { class: "lead" }, "The most played tracks and artists, counted from #NowPlaying posts: plays, and unique listeners (distinct accounts)."),
    h(
      "div",
      { class: "toolbar chart-controls" },
      h("div", { class: "field" }, h("label", { for: "c-day" }, "Day (UTC)"), h("div", { class: "row" }, prevBtn, dayIn, nextBtn)),
      h("fieldset", { class: "segmented" }, h("legend", null, "Span"), spanRadios),
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
  );
  void load();
  return { el, title: "Charts", dispose: () => scope.dispose() };
}
