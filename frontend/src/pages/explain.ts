// Explain: why a play matched its track, or stayed unmatched, as the enricher decided it. Every value
// from the API goes in as text (the DOM builder makes text nodes only); nothing is shown as raw JSON.

import type { CatalogCandidate, ExplainedSearch, Explanation, PlayExplanation } from "../lib/api";
import { empty, errorBox, h, isAbort, loading, messageOf, replace } from "../lib/dom";
import { artistsText, formatDateTime, formatPercent } from "../lib/format";
import { buildHash, type Route, trackHash } from "../lib/router";
import { type Ctx, Latest, Scope, type View } from "./view";

const FROM: Record<ExplainedSearch["from"], string> = {
  api: "Spotify search",
  run: "answered by a search made earlier in the same run",
  budget: "not made: the post's search budget was spent",
};

const METHODS: Record<string, string> = {
  search_fields: "fielded search (track: and artist:)",
  search_relaxed: "relaxed search",
  search_free: "free-text search",
  link: "the music link in the post",
  override: "a correction",
  none: "no match",
};

const BY: Record<string, string> = {
  link: "the music link in the post decided it",
  cache: "the match cache held the answer (no search was made)",
  walk_cache: "the match cache held the answer for this whole set of readings (no search was made)",
  search: "decided by the searches below",
  override: "an admin's correction decided it",
  nothing: "the post had nothing to search",
};

const CONTEXT: Record<Explanation["context"], string> = {
  batch: "when the post was first enriched",
  recheck: "when the unmatched play was searched again",
  override: "when the play was enriched again after a correction",
};

function pct(value: number | null | undefined): string {
  return value === null || value === undefined ? "—" : formatPercent(value, 0);
}

function readingText(c: Explanation["candidates"][number]): string {
  if (c.artist && c.title) return `${c.artist} – ${c.title}`;
  return c.query ?? [c.artist, c.title].filter(Boolean).join(" ");
}

function summary(detail: PlayExplanation): HTMLElement {
  const why = detail.explanation;
  const d = why.decision;
  const threshold = pct(why.threshold);
  let line: string;
  if (d.by === "override") {
    line = d.matched ? "Matched by a correction." : "Marked as not a song by a correction.";
  } else if (d.matched) {
    const reading = d.reading === null ? "" : ` (reading ${d.reading + 1})`;
    line = `Matched${reading} with confidence ${pct(d.confidence)}, at or above the threshold of ${threshold}.`;
  } else if (d.by === "search" && d.candidates_found === 0) {
    line = "Not matched: the search found no candidates in the catalog.";
  } else {
    line = d.summary || `Not matched: the best candidate scored ${pct(d.confidence)}, below the threshold of ${threshold}.`;
  }
  return h(
    "section",
    { class: "panel explain-summary", "aria-label": "Decision" },
    h("p", { class: "lead", id: "explain-decision" }, line),
    h(
      "dl",
      { class: "facts" },
      h("div", null, h("dt", null, "How"), h("dd", null, BY[d.by] ?? d.by)),
      h("div", null, h("dt", null, "Method"), h("dd", null, METHODS[d.method] ?? d.method)),
      h("div", null, h("dt", null, "Decided"), h("dd", null, `${formatDateTime(why.at)}, ${CONTEXT[why.context] ?? why.context}`)),
      h("div", null, h("dt", null, "Spotify searches"), h("dd", null, `${why.api_searches} of at most ${why.budget}`)),
    ),
    d.track_id && detail.track_id ? h("a", { class: "btn", href: trackHash(detail.track_id) }, "Open the track") : null,
  );
}

function correction(detail: PlayExplanation): HTMLElement | null {
  const o = detail.explanation.override;
  if (!o) return null;
  const what = o.not_a_song ? "not a song" : `track ${o.track_id ?? ""}`;
  return h(
    "section",
    { class: "panel corrected", id: "explain-correction", "aria-label": "Correction" },
    h("p", null, h("span", { class: "tag corrected" }, "corrected"), ` ${o.set_by} set the query “${o.query_key}” to ${what} on ${formatDateTime(o.set_at)}. It wins over search for every post with this query.`),
  );
}

function readings(why: Explanation): HTMLElement {
  const cache = new Map(why.readings.map((r) => [r.index, r]));
  const rows = why.candidates.map((c) => {
    const tried = cache.get(c.index);
    const state = !tried ? "not tried" : tried.cache === "hit" ? "in the match cache" : tried.cache === "negative" ? "cached as unmatched" : "not cached";
    const chosen = why.decision.reading === c.index;
    return h(
      "tr",
      { class: chosen ? "chosen" : null },
      h("td", { class: "num" }, String(c.index + 1)),
      h("td", null, readingText(c)),
      h("td", null, c.rule),
      h("td", { class: "num" }, pct(c.confidence)),
      h("td", null, state),
      h("td", null, chosen ? "matched" : ""),
    );
  });
  if (rows.length === 0) {
    const first = why.readings[0];
    return empty(first?.kind === "link" ? "The post links to the track; nothing was searched." : "The cleaner gave no readings.");
  }
  return h(
    "table",
    { class: "grid explain-readings" },
    h("caption", { class: "sr-only" }, "The cleaner's readings of the post, best first"),
    h("thead", null, h("tr", null, ["#", "Reading", "Rule", "Cleaner's confidence", "Match cache", ""].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", null, rows),
  );
}

function candidateRow(c: CatalogCandidate, accepted: boolean, threshold: number | null): HTMLElement {
  const parts = [
    c.title_similarity !== undefined && c.title_similarity !== null ? `title ${pct(c.title_similarity)}` : null,
    c.artist_similarity !== undefined && c.artist_similarity !== null ? `artist ${pct(c.artist_similarity)}` : null,
    c.swapped ? "read as “Title – Artist”" : null,
  ].filter(Boolean);
  const passes = threshold !== null && c.confidence !== null && c.confidence >= threshold;
  return h(
    "tr",
    { class: accepted ? "chosen" : null },
    h("td", null, c.name, h("span", { class: "muted" }, ` · ${artistsText(c.artists)}`), c.album ? h("span", { class: "muted" }, ` · ${c.album}`) : null),
    h("td", { class: "num" }, pct(c.similarity)),
    h("td", { class: "num" }, c.penalty ? `−${pct(c.penalty)}` : "0"),
    h("td", { class: "num" }, h("strong", null, pct(c.confidence))),
    h("td", null, parts.join(", ")),
    h("td", null, accepted ? h("span", { class: "tag ok" }, "accepted") : passes ? "above threshold" : "below threshold"),
  );
}

function searches(why: Explanation): HTMLElement {
  if (why.searches.length === 0) return empty("No search was made for this decision.", BY[why.decision.by] ?? "");
  return h(
    "ol",
    { class: "explain-searches" },
    why.searches.map((s) =>
      h(
        "li",
        { class: "panel" },
        h(
          "p",
          null,
          h("strong", null, METHODS[s.method] ?? s.method),
          ` for reading ${s.reading + 1}: `,
          h("code", null, s.q),
        ),
        h("p", { class: "muted" }, `${FROM[s.from] ?? s.from}${s.from === "budget" ? "" : ` · ${s.results} result${s.results === 1 ? "" : "s"}`}`),
        s.top.length
          ? h(
              "table",
              { class: "grid explain-candidates" },
              h("caption", { class: "sr-only" }, "The best catalog candidates of this search"),
              h("thead", null, h("tr", null, ["Candidate", "Similarity", "Penalty", "Confidence", "Parts", ""].map((t) => h("th", { scope: "col" }, t)))),
              h("tbody", null, s.top.map((c) => candidateRow(c, s.accepted === c.track_id, why.threshold))),
            )
          : null,
      ),
    ),
  );
}

export function explainPage(route: Route, ctx: Ctx): View {
  const scope = new Scope();
  const latest = new Latest(scope);
  const source = route.source ?? "";
  const title = h("h1", { tabindex: "-1" }, "Why this match");
  const body = h("div", { class: "explain-body" }, loading("the explanation"));
  const view: View = {
    el: h("div", { class: "page explain" }, h("p", { class: "crumbs" }, h("a", { href: buildHash("data") }, "← Plays")), title, body),
    title: "Why this match",
    dispose: () => scope.dispose(),
  };

  function render(detail: PlayExplanation): void {
    const why = detail.explanation;
    title.textContent = detail.corrected ? "Why this match (corrected)" : "Why this match";
    replace(
      body,
      h("p", { class: "muted" }, `Post ${detail.source}/${detail.post_id}, played ${formatDateTime(detail.played_at)}; the cleaner read it as “${why.post.kind}” by rule ${why.post.rule ?? "—"}.`),
      correction(detail),
      summary(detail),
      h("section", { class: "panel", "aria-labelledby": "readings-h" }, h("h2", { id: "readings-h" }, "The cleaner's readings"), readings(why)),
      h("section", { "aria-labelledby": "searches-h" }, h("h2", { id: "searches-h" }, "Searches, in order"), searches(why)),
    );
  }

  async function load(): Promise<void> {
    const signal = latest.next();
    try {
      render(await ctx.api.explain(source, route.id, signal));
    } catch (exc) {
      if (isAbort(exc)) return;
      if ((exc as { status?: number }).status === 404) {
        title.textContent = "No explanation";
        replace(body, empty(`No explanation is recorded for the play ${source}/${route.id}.`, "Plays enriched before explanations were recorded have none."));
      } else {
        replace(body, errorBox(`The explanation could not be loaded: ${messageOf(exc)}`, () => void load()));
      }
    }
  }

  void load();
  return view;
}
