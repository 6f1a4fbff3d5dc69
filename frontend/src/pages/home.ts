// Home: what the system does, the data flow as a diagram coloured by each stage's last run, the
// live pipeline status and today's headline numbers.

import type { Freshness, StageStatus, Status, Summary } from "../lib/api";
import { empty, errorBox, h, isAbort, loading, messageOf, replace, svg } from "../lib/dom";
import { artistsText, formatAge, formatDateTime, formatNumber, formatPercent, formatSeconds, utcDay } from "../lib/format";
import { trackHash } from "../lib/router";
import { HEALTH_LABELS, type Health, healthOf, latestByNode } from "../lib/status";
import { type Ctx, Scope, type View } from "./view";

interface FlowNode {
  id: string;
  title: string;
  sub: string;
  /** Has pipeline_runs rows. */
  stage: boolean;
}

const NODES: FlowNode[] = [
  { id: "sources", title: "Social posts", sub: "X · Mastodon · Bluesky", stage: false },
  { id: "extract", title: "Extractor", sub: "#NowPlaying → raw lake", stage: true },
  { id: "clean", title: "Cleaner", sub: "artist / title", stage: true },
  { id: "enrich", title: "Enricher", sub: "Spotify · ReccoBeats", stage: true },
  { id: "load", title: "Loader", sub: "CSV → Cassandra", stage: true },
  { id: "cassandra", title: "Cassandra", sub: "plays · tracks · charts", stage: false },
  { id: "aggregate", title: "Spark", sub: "daily aggregates", stage: true },
  { id: "gateway", title: "Gateway", sub: "HTTP API", stage: false },
  { id: "web", title: "This app", sub: "you are here", stage: false },
];

const EDGES: [string, string][] = [
  ["sources", "extract"],
  ["extract", "clean"],
  ["clean", "enrich"],
  ["enrich", "load"],
  ["load", "cassandra"],
  ["cassandra", "aggregate"],
  ["aggregate", "cassandra"],
  ["cassandra", "gateway"],
  ["gateway", "web"],
];

interface Layout {
  name: string;
  width: number;
  height: number;
  w: number;
  h: number;
  pos: Record<string, [number, number]>;
}

// Wide: the pipeline left to right, then the serving side back from the right.
const WIDE: Layout = {
  name: "wide",
  width: 1000,
  height: 250,
  w: 168,
  h: 74,
  pos: {
    sources: [10, 20],
    extract: [215, 20],
    clean: [420, 20],
    enrich: [625, 20],
    load: [822, 20],
    aggregate: [822, 160],
    cassandra: [617, 160],
    gateway: [412, 160],
    web: [207, 160],
  },
};

// Narrow (phones): one column, Spark beside Cassandra.
const NARROW: Layout = {
  name: "narrow",
  width: 360,
  height: 8 * 92 + 10,
  w: 214,
  h: 70,
  pos: {
    sources: [10, 10],
    extract: [10, 102],
    clean: [10, 194],
    enrich: [10, 286],
    load: [10, 378],
    cassandra: [10, 470],
    aggregate: [244, 470],
    gateway: [10, 562],
    web: [10, 654],
  },
};

function edgePoints(layout: Layout, from: string, to: string): [number, number, number, number] {
  const [fx, fy] = layout.pos[from] ?? [0, 0];
  const [tx, ty] = layout.pos[to] ?? [0, 0];
  const w = layout.name === "narrow" && (from === "aggregate" || to === "aggregate") ? 106 : layout.w;
  const fw = from === "aggregate" ? w : layout.w;
  const tw = to === "aggregate" ? w : layout.w;
  const fcx = fx + fw / 2;
  const fcy = fy + layout.h / 2;
  const tcx = tx + tw / 2;
  const tcy = ty + layout.h / 2;
  // Spark <-> Cassandra: two parallel arrows, one each way.
  const pair = (from === "aggregate" && to === "cassandra") || (from === "cassandra" && to === "aggregate");
  const offset = pair ? (from === "cassandra" ? -12 : 12) : 0;
  if (Math.abs(fcy - tcy) < 1) {
    // Same row.
    const dir = tcx > fcx ? 1 : -1;
    return [fcx + (dir * fw) / 2, fcy + offset, tcx - (dir * tw) / 2 - dir * 4, tcy + offset];
  }
  if (Math.abs(fcx - tcx) < 1) {
    const dir = tcy > fcy ? 1 : -1;
    return [fcx + offset, fcy + (dir * layout.h) / 2, tcx + offset, tcy - (dir * layout.h) / 2 - dir * 4];
  }
  // Diagonal: from the bottom of one to the top of the other.
  const dir = tcy > fcy ? 1 : -1;
  return [fcx, fcy + (dir * layout.h) / 2, tcx, tcy - (dir * layout.h) / 2 - dir * 4];
}

function diagram(layout: Layout, stages: Map<string, StageStatus>, now: Date): SVGElement {
  const marker = `arrow-${layout.name}`;
  const edges = EDGES.map(([from, to]) => {
    const [x1, y1, x2, y2] = edgePoints(layout, from, to);
    return svg("line", { x1, y1, x2, y2, class: "edge", "marker-end": `url(#${marker})` });
  });
  const nodes = NODES.map((node) => {
    const [x, y] = layout.pos[node.id] ?? [0, 0];
    const w = layout.name === "narrow" && node.id === "aggregate" ? 106 : layout.w;
    const run = stages.get(node.id);
    const health: Health | "static" = node.stage ? healthOf(run) : "static";
    const statusLine = node.stage ? stageLine(run, now) : node.sub;
    const label = `${node.title}: ${node.stage ? `${node.sub}, ${statusLine}` : node.sub}`;
    return svg(
      "g",
      { class: `node ${health}`, role: "listitem", "aria-label": label },
      svg("title", null, label),
      svg("rect", { x, y, width: w, height: layout.h, rx: 10 }),
      svg("text", { x: x + 12, y: y + 24, class: "title" }, node.title),
      svg("text", { x: x + 12, y: y + 44, class: "sub" }, w < 150 ? "aggregates" : node.sub),
      node.stage ? svg("circle", { cx: x + w - 16, cy: y + 18, r: 6, class: "dot" }) : null,
      node.stage ? svg("text", { x: x + 12, y: y + 62, class: "status" }, statusLine) : null,
    );
  });
  return svg(
    "svg",
    {
      class: `flow flow-${layout.name}`,
      viewBox: `0 0 ${layout.width} ${layout.height}`,
      role: "list",
      "aria-label": "How data flows through nowplaying",
    },
    svg(
      "defs",
      null,
      svg(
        "marker",
        { id: marker, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
        svg("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrowhead" }),
      ),
    ),
    edges,
    nodes,
  );
}

function stageLine(run: StageStatus | undefined, now: Date): string {
  if (!run || healthOf(run) === "none") return HEALTH_LABELS.none;
  const age = run.age_s ?? (run.started_at ? (now.getTime() - Date.parse(run.started_at)) / 1000 : null);
  return `${HEALTH_LABELS[healthOf(run)]} · ${formatAge(age)}`;
}

function statusTable(status: Status, now: Date): HTMLElement {
  if (status.stages.length === 0) {
    return empty("No stage has run yet.", "Runs appear here as soon as the extractor, cleaner, enricher, loader or Spark job finishes one.");
  }
  const rows = status.stages.map((s) => {
    const health = healthOf(s);
    const age = s.age_s ?? (s.started_at ? (now.getTime() - Date.parse(s.started_at)) / 1000 : null);
    return h(
      "tr",
      null,
      h("th", { scope: "row" }, s.stage),
      h("td", null, h("span", { class: `badge ${health}` }, HEALTH_LABELS[health])),
      h("td", null, h("time", { datetime: s.started_at ?? "" }, formatDateTime(s.started_at))),
      h("td", null, formatAge(age)),
      h("td", { class: "num" }, formatNumber(s.items_in)),
      h("td", { class: "num" }, formatNumber(s.items_out)),
      h("td", { class: `num${(s.errors ?? 0) > 0 ? " bad" : ""}` }, formatNumber(s.errors)),
      h("td", { class: "num" }, formatSeconds(s.duration_s)),
    );
  });
  const table = h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "grid" },
      h("caption", { class: "sr-only" }, "Last run of each pipeline stage"),
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          ["Stage", "Status", "Last run", "Age", "In", "Out", "Errors", "Took"].map((t, i) => h("th", { scope: "col", class: i >= 4 ? "num" : null }, t)),
        ),
      ),
      h("tbody", null, rows),
    ),
  );
  if (!status.cronjobs || status.cronjobs.length === 0) return table;
  return h(
    "div",
    null,
    table,
    h("h3", null, "Kubernetes CronJobs"),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "grid" },
        h("thead", null, h("tr", null, h("th", { scope: "col" }, "CronJob"), h("th", { scope: "col" }, "Last schedule"), h("th", { scope: "col" }, "Last success"))),
        h(
          "tbody",
          null,
          status.cronjobs.map((c) =>
            h("tr", null, h("th", { scope: "row" }, c.name), h("td", null, formatDateTime(c.last_schedule)), h("td", null, formatDateTime(c.last_success))),
          ),
        ),
      ),
    ),
  );
}

function stat(label: string, value: string | Node, note?: string | Node): HTMLElement {
  return h("div", { class: "stat" }, h("div", { class: "stat-label" }, label), h("div", { class: "stat-value" }, value), note ? h("div", { class: "stat-note" }, note) : null);
}

function ageText(seconds: number | null | undefined): string {
  return seconds === null || seconds === undefined ? "none yet" : formatAge(seconds);
}

/** One line: how old the newest play and the newest aggregate are. */
function freshnessLine(fresh: Freshness | undefined): HTMLElement | null {
  if (!fresh) return null;
  const aggregate = fresh.aggregates_ready ? ageText(fresh.newest_aggregate_age_s) : fresh.aggregate_running ? "the first run is computing" : "none yet";
  return h(
    "p",
    { class: "freshness hint", "data-freshness": "" },
    h("span", null, "Newest play: ", h("strong", { "data-age": "play" }, ageText(fresh.newest_play_age_s))),
    " · ",
    h("span", null, "Newest aggregate: ", h("strong", { "data-age": "aggregate" }, aggregate)),
  );
}

function headline(summary: Summary, fresh: Freshness | undefined): HTMLElement {
  const line = freshnessLine(fresh);
  if (summary.plays === 0 && summary.posts_today === 0) {
    return h("div", null, empty(`No plays yet on ${summary.day} (UTC).`, "Posts appear once the extractor has found some and the loader has loaded them."), line);
  }
  const posts = stat("Posts today", formatNumber(summary.posts_today), "song posts loaded so far today");
  const stats = (...cards: HTMLElement[]): HTMLElement => h("div", null, h("div", { class: "stats" }, posts, ...cards), line);
  // Before the aggregates have counted today's plays, their numbers would read "0 of 0": say so instead.
  if ((fresh !== undefined && !fresh.aggregates_ready) || summary.plays === 0) {
    return stats(stat("Matched, people · bots, top track", "Still computing", "the aggregates have not counted today's plays yet; they appear after the next Spark run"));
  }
  const top = summary.top_track;
  return stats(
    stat("Matched to a track", formatPercent(summary.matched_share), `${formatNumber(summary.matched)} of ${formatNumber(summary.plays)} plays`),
    stat("People · bots", `${formatNumber(summary.people_plays)} · ${formatNumber(summary.bot_plays)}`, "plays by people and by radio bots"),
    stat(
      "Top track now",
      top ? h("a", { href: trackHash(top.track_id) }, top.track_name ?? top.track_id) : "—",
      top ? `${artistsText(top.artist_names)} · ${formatNumber(top.plays)} plays` : "no matched plays today",
    ),
  );
}

export function homePage(_route: unknown, ctx: Ctx): View {
  const scope = new Scope();
  const numbers = h("div", { class: "panel-body", "aria-live": "polite" }, loading("today's numbers"));
  const flow = h("div", { class: "flow-wrap" });
  const statusBox = h("div", { class: "panel-body", "aria-live": "polite" }, loading("the pipeline status"));
  const updated = h("p", { class: "hint" });

  async function loadSummary(): Promise<void> {
    try {
      const [summary, status] = await Promise.all([
        ctx.api.summary({ day: utcDay(ctx.now()) }, scope.signal),
        ctx.api.status(scope.signal).catch((exc: unknown) => {
          if (isAbort(exc)) throw exc;
          return null;
        }),
      ]);
      replace(numbers, headline(summary, status?.freshness));
    } catch (exc) {
      if (!isAbort(exc)) replace(numbers, errorBox(`Today's numbers could not be loaded: ${messageOf(exc)}`, () => void loadSummary()));
    }
  }

  async function loadStatus(): Promise<void> {
    const now = ctx.now();
    try {
      const status = await ctx.api.status(scope.signal);
      const byNode = latestByNode(status.stages);
      replace(flow, diagram(WIDE, byNode, now), diagram(NARROW, byNode, now));
      replace(statusBox, statusTable(status, now));
      replace(updated, `Updated ${formatDateTime(now.toISOString())}; refreshes every 30 seconds.`);
    } catch (exc) {
      if (isAbort(exc)) return;
      if (!flow.firstChild) replace(flow, diagram(WIDE, new Map(), now), diagram(NARROW, new Map(), now));
      replace(statusBox, errorBox(`The pipeline status could not be loaded: ${messageOf(exc)}`, () => void loadStatus()));
    }
  }

  const el = h(
    "div",
    { class: "page home" },
    h(
      "section",
      { class: "hero" },
      h("h1", { tabindex: "-1" }, "What the world is listening to, from #NowPlaying posts"),
      h(
        "p",
        { class: "lead" },
        "nowplaying reads the posts people and radio stations share with #NowPlaying on X, Mastodon and Bluesky, works out the artist and title, " +
          "matches them to Spotify tracks with their audio features, and turns them into listening charts you can explore.",
      ),
      h(
        "p",
        { class: "actions" },
        h("a", { class: "btn primary", href: "#/charts" }, "Today's charts"),
        h("a", { class: "btn", href: "#/data" }, "Browse the plays"),
        h("a", { class: "btn", href: "#/visuals" }, "Build a chart"),
      ),
    ),
    h("section", { class: "panel", "aria-labelledby": "today-h" }, h("h2", { id: "today-h" }, "Today (UTC)"), numbers),
    h(
      "section",
      { class: "panel", "aria-labelledby": "flow-h" },
      h("h2", { id: "flow-h" }, "How the data flows"),
      h(
        "p",
        { class: "hint" },
        "Each stage is a job that processes what is pending and exits; they hand batches to each other through the lake, so any of them can be re-run without losing or doubling a post. " +
          "Coloured by each stage's last run.",
      ),
      flow,
    ),
    h("section", { class: "panel", "aria-labelledby": "status-h" }, h("h2", { id: "status-h" }, "Pipeline status"), statusBox, updated),
  );

  void loadSummary();
  void loadStatus();
  scope.every(30_000, () => {
    void loadSummary();
    void loadStatus();
  });
  return { el, title: "Home", dispose: () => scope.dispose() };
}
