// Track: details, audio features, plays over time and the posts that mentioned it.

import type { Features, TrackDetail, TrackPost } from "../lib/api";
import { type AnyChart, lineConfig } from "../lib/chart";
import { empty, errorBox, h, isAbort, loading, messageOf, replace } from "../lib/dom";
import { formatDateTime, formatDuration, formatFeature, formatKey, formatNumber, safeHref, spotifyTrackUrl } from "../lib/format";
import { buildHash, explainHash, type Route } from "../lib/router";
import { fillDays } from "../lib/series";
import { type Ctx, Latest, Scope, type View } from "./view";

const UNIT_FEATURES = ["danceability", "energy", "valence", "acousticness", "instrumentalness", "speechiness", "liveness"] as const;
const SPANS = [7, 30, 90, 365] as const;

const FEATURE_HELP: Record<(typeof UNIT_FEATURES)[number], string> = {
  danceability: "how suitable for dancing",
  energy: "intensity and activity",
  valence: "musical positiveness",
  acousticness: "confidence the track is acoustic",
  instrumentalness: "likelihood of no vocals",
  speechiness: "presence of spoken words",
  liveness: "presence of an audience",
};

function featuresPanel(features: Features | null): HTMLElement {
  if (!features) return empty("No audio features for this track yet.", "The enricher asks Spotify or ReccoBeats for them; they arrive with a later run.");
  const bars = UNIT_FEATURES.map((name) => {
    const value = features[name];
    const fill = h("span", { class: "meter-fill" });
    fill.style.width = `${Math.round(Math.min(1, Math.max(0, value ?? 0)) * 100)}%`;
    return h(
      "div",
      { class: "meter-row" },
      h("span", { class: "meter-name", title: FEATURE_HELP[name] }, name[0]!.toUpperCase() + name.slice(1)),
      h(
        "span",
        { class: "meter", role: "meter", "aria-valuemin": 0, "aria-valuemax": 1, "aria-valuenow": value ?? 0, "aria-label": name },
        fill,
      ),
      h("span", { class: "meter-value" }, formatFeature(name, value)),
    );
  });
  return h(
    "div",
    { class: "features" },
    h("div", { class: "meters" }, bars),
    h(
      "dl",
      { class: "facts" },
      h("div", null, h("dt", null, "Tempo"), h("dd", null, formatFeature("tempo", features.tempo))),
      h("div", null, h("dt", null, "Key"), h("dd", null, formatKey(features.key, features.mode))),
      h("div", null, h("dt", null, "Loudness"), h("dd", null, formatFeature("loudness", features.loudness))),
      h("div", null, h("dt", null, "Time signature"), h("dd", null, formatFeature("time_signature", features.time_signature))),
    ),
    features.features_source ? h("p", { class: "hint" }, `Audio features from ${features.features_source === "reccobeats" ? "ReccoBeats" : "Spotify"}.`) : null,
  );
}

function postItem(post: TrackPost): HTMLElement {
  const href = safeHref(post.url);
  return h(
    "li",
    { class: "post-card" },
    h(
      "div",
      { class: "post-meta" },
      h("time", { datetime: post.played_at }, formatDateTime(post.played_at)),
      h("span", { class: `tag src-${post.source}` }, post.source),
      post.is_bot ? h("span", { class: "tag bot" }, "bot") : null,
      post.author_id ? h("span", { class: "muted" }, `by ${post.author_id}`) : null,
    ),
    // Text from posts is only ever a text node.
    h("p", { class: "post-body" }, post.text ?? ""),
    h(
      "p",
      { class: "post-links" },
      href ? h("a", { href, target: "_blank", rel: "noopener noreferrer nofollow" }, "Open the post ↗") : null,
      href ? " · " : null,
      h("a", { class: "why", href: explainHash(post.source, post.post_id) }, "Why this match"),
    ),
  );
}

const FIRST_POSTS = 10;

/** The newest posts, with a button for the rest. */
function postList(posts: TrackPost[]): HTMLElement {
  const list = h("ol", { class: "posts" }, posts.slice(0, FIRST_POSTS).map(postItem));
  if (posts.length <= FIRST_POSTS) return list;
  const more = h("button", { type: "button", class: "btn" }, `Show all ${posts.length} posts`);
  more.addEventListener("click", () => {
    const next = list.children.length;
    list.append(...posts.slice(next).map(postItem));
    more.remove();
    (list.children[next] as HTMLElement | undefined)?.querySelector("a")?.focus();
  });
  return h("div", null, list, h("p", { class: "more" }, more));
}

export function trackPage(route: Route, ctx: Ctx): View {
  const scope = new Scope();
  const latest = new Latest(scope);
  let span: number = SPANS.find((n) => String(n) === route.params.get("days")) ?? 30;
  let chart: AnyChart | null = null;
  const body = h("div", { class: "track-body" }, loading("the track"));
  const title = h("h1", { tabindex: "-1" }, "Track");
  const view: View = { el: h("div", { class: "page track" }, h("p", { class: "crumbs" }, h("a", { href: "#/data" }, "← Plays")), title, body), title: "Track", dispose: () => scope.dispose() };

  function render(detail: TrackDetail): void {
    const t = detail.track;
    const name = t.name ?? t.track_id;
    title.textContent = name;
    document.title = `${name} · nowplaying`;
    const spotify = spotifyTrackUrl(t.track_id);
    const artistLinks = (t.artist_names ?? []).map((a, i) => [
      i > 0 ? ", " : "",
      h("a", { href: buildHash("data", new URLSearchParams({ artist: a, range: "30d" })), title: `Plays by ${a}` }, a),
    ]);

    const canvas = h("canvas", { role: "img", id: "track-plays", "aria-label": "Plays per day" });
    const days = fillDays(detail.plays_by_day, span);
    const total = days.reduce((s, d) => s + d.plays, 0);
    const spanSel = h("select", { id: "t-span", class: "compact" }, SPANS.map((n) => h("option", { value: String(n) }, `Last ${n} days`)));
    spanSel.value = String(span);
    spanSel.addEventListener("change", () => {
      span = Number(spanSel.value);
      history.replaceState(null, "", `${buildHash("track", null, route.id)}?days=${span}`);
      void load();
    });

    replace(
      body,
      h(
        "section",
        { class: "panel track-head", "aria-label": "Track details" },
        h("p", { class: "artists" }, artistLinks.length ? artistLinks : "Unknown artist"),
        h(
          "dl",
          { class: "facts" },
          h("div", null, h("dt", null, "Album"), h("dd", null, t.album ?? "—")),
          h("div", null, h("dt", null, "Released"), h("dd", null, t.release_date ?? "—")),
          h("div", null, h("dt", null, "Length"), h("dd", null, formatDuration(t.duration_ms))),
          h("div", null, h("dt", null, "Popularity"), h("dd", null, t.popularity === null ? "—" : `${formatNumber(t.popularity)} / 100`)),
          h("div", null, h("dt", null, `Plays, last ${span} days`), h("dd", null, formatNumber(total))),
        ),
        spotify ? h("a", { class: "btn", href: spotify, target: "_blank", rel: "noopener noreferrer" }, "Listen on Spotify ↗") : null,
      ),
      h(
        "div",
        { class: "two-col" },
        h("section", { class: "panel", "aria-labelledby": "feat-h" }, h("h2", { id: "feat-h" }, "Audio features"), featuresPanel(detail.features)),
        h(
          "section",
          { class: "panel", "aria-labelledby": "time-h" },
          h("div", { class: "panel-head" }, h("h2", { id: "time-h" }, "Plays over time"), h("label", { for: "t-span", class: "sr-only" }, "Time span"), spanSel),
          total === 0 ? empty(`No plays in the last ${span} days.`) : h("div", { class: "chart-box" }, canvas),
        ),
      ),
      h(
        "section",
        { class: "panel", "aria-labelledby": "posts-h" },
        h("h2", { id: "posts-h" }, "Posts that mentioned it"),
        detail.posts.length === 0 ? empty("No posts in this time span.") : postList(detail.posts),
      ),
    );
    if (total > 0) {
      chart = scope.chart(
        canvas,
        lineConfig(
          days.map((d) => d.day.slice(5)),
          "Plays",
          days.map((d) => d.plays),
        ),
        chart,
      );
      canvas.setAttribute("aria-label", `Plays per day over the last ${span} days, ${formatNumber(total)} in all`);
    } else {
      scope.drop(chart);
      chart = null;
    }
  }

  async function load(): Promise<void> {
    const signal = latest.next();
    try {
      const detail = await ctx.api.track(route.id, { days: span, posts: 50 }, signal);
      render(detail);
    } catch (exc) {
      if (isAbort(exc)) return;
      scope.drop(chart);
      chart = null;
      const status = (exc as { status?: number }).status;
      if (status === 404) {
        title.textContent = "Track not found";
        replace(body, empty(`No track with the id “${route.id}” is known.`, "It may not have been loaded yet. Browse the plays to find another."));
      } else {
        replace(body, errorBox(`The track could not be loaded: ${messageOf(exc)}`, () => void load()));
      }
    }
  }

  void load();
  return view;
}
