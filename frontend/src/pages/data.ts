// Data: the plays table, newest first, paged by the gateway's cursors, with filters, a column
// chooser, CSV/JSON export of the filtered range, and rows that open their track.

import { type ColumnDef, createTable, getCoreRowModel, type Table, type Updater, type VisibilityState } from "@tanstack/table-core";
import type { Play } from "../lib/api";
import { PLAY_COLUMNS, parseVisibility, setVisible, type Visibility } from "../lib/columns";
import { empty, errorBox, h, isAbort, loading, messageOf, replace } from "../lib/dom";
import {
  BOTS,
  type Bots,
  DEFAULT_FILTERS,
  exportUrl,
  filtersToParams,
  MATCHED,
  type Matched,
  type PlayFilters,
  parseFilters,
  playsQuery,
  RANGE_LABELS,
  RANGES,
  type RangePreset,
  resolveWindow,
  SOURCES,
  toLocalInput,
  toUtcIso,
  validateFilters,
  type Window,
} from "../lib/filters";
import { formatDateTime, safeHref } from "../lib/format";
import * as pager from "../lib/pager";
import { buildHash, explainHash, type Route, trackHash } from "../lib/router";
import { type Ctx, Latest, Scope, type View } from "./view";

const VISIBILITY_KEY = "nowplaying.data.columns";
const PAGE_SIZES = [25, 50, 100, 200] as const;
const MATCHED_LABELS: Record<Matched, string> = { any: "Matched or not", true: "Matched only", false: "Unmatched only" };
const BOTS_LABELS: Record<Bots, string> = { include: "People and bots", exclude: "People only", only: "Bots only" };

function loadVisibility(): Visibility {
  try {
    return parseVisibility(window.localStorage.getItem(VISIBILITY_KEY));
  } catch {
    return parseVisibility(null);
  }
}

function saveVisibility(visibility: Visibility): void {
  try {
    window.localStorage.setItem(VISIBILITY_KEY, JSON.stringify(visibility));
  } catch {
    // Private mode: the choice lasts for this page only.
  }
}

function select<T extends string | number>(id: string, values: readonly T[], labels: (v: T) => string, current: T): HTMLSelectElement {
  const el = h("select", { id, name: id }, values.map((v) => h("option", { value: String(v) }, labels(v))));
  el.value = String(current);
  return el;
}

function field(label: string, control: HTMLElement, extraClass = ""): HTMLElement {
  return h("div", { class: `field ${extraClass}`.trim() }, h("label", { for: control.id }, label), control);
}

/** A cell's content; text from posts goes in as text nodes only. */
function cellContent(id: string, play: Play, text: string): Node | string {
  switch (id) {
    case "text": {
      const href = safeHref(play.url);
      return h(
        "div",
        { class: "post" },
        h("span", { class: "post-text", title: play.text ?? "" }, play.text ?? ""),
        href ? h("a", { class: "post-link", href, target: "_blank", rel: "noopener noreferrer nofollow" }, "open post ↗") : null,
      );
    }
    case "track_name":
      return play.matched && play.track_id ? h("a", { href: trackHash(play.track_id), tabindex: "-1" }, text) : h("span", { class: "muted" }, text);
    case "source":
      return h("span", { class: `tag src-${play.source}` }, text);
    case "match": {
      const corrected = play.match_method === "override";
      return h(
        "div",
        { class: "match" },
        h("span", { class: corrected ? "tag corrected" : play.matched ? "tag ok" : "tag none", title: corrected ? "An admin corrected this match" : null }, text),
        h("a", { class: "why", href: explainHash(play.source, play.post_id), tabindex: "-1", "aria-label": `Why this match: ${play.source} post ${play.post_id}` }, "why?"),
      );
    }
    case "played_at":
      return h("time", { datetime: play.played_at }, text);
    case "is_bot":
      return play.is_bot ? h("span", { class: "tag bot" }, "bot") : "person";
    default:
      return text;
  }
}

export function dataPage(route: Route, ctx: Ctx): View {
  const scope = new Scope();
  const latest = new Latest(scope);
  let filters: PlayFilters = parseFilters(route.params);
  let window_: Window = resolveWindow(filters, ctx.now());
  let limit: number = PAGE_SIZES.find((n) => String(n) === route.params.get("limit")) ?? 50;
  let paging: pager.Pager = pager.firstPage;
  let rows: Play[] = [];
  let visibility = loadVisibility();
  let loadedOnce = false;

  // --- the table (TanStack Table core: columns, visibility, row model) -------------------------
  const columns: ColumnDef<Play, string>[] = PLAY_COLUMNS.map((c) => ({ id: c.id, header: c.label, accessorFn: (p: Play) => c.text(p) }));
  const table: Table<Play> = createTable<Play>({
    data: rows,
    columns,
    getCoreRowModel: getCoreRowModel(),
    state: { columnVisibility: visibility },
    onStateChange: () => undefined,
    onColumnVisibilityChange: (updater: Updater<VisibilityState>) => {
      const next = typeof updater === "function" ? updater(visibility) : updater;
      visibility = next;
      saveVisibility(visibility);
      renderTable();
    },
    renderFallbackValue: "",
  });
  function syncTable(): void {
    table.setOptions((prev) => ({ ...prev, data: rows, state: { ...table.initialState, columnVisibility: visibility } }));
  }

  // --- the form ------------------------------------------------------------------------------
  const rangeSel = select("f-range", RANGES, (r) => RANGE_LABELS[r], filters.range);
  const startIn = h("input", { id: "f-start", name: "start", type: "datetime-local" });
  const endIn = h("input", { id: "f-end", name: "end", type: "datetime-local" });
  const artistIn = h("input", { id: "f-artist", name: "artist", type: "search", placeholder: "e.g. Queen", autocomplete: "off", maxlength: 200 });
  const trackIn = h("input", { id: "f-track", name: "track", type: "search", placeholder: "e.g. Bohemian Rhapsody", autocomplete: "off", maxlength: 200 });
  const sourceSel = select("f-source", ["", ...SOURCES], (s) => (s ? s[0]!.toUpperCase() + s.slice(1) : "All sources"), filters.source);
  const matchedSel = select("f-matched", MATCHED, (m) => MATCHED_LABELS[m], filters.matched);
  const botsSel = select("f-bots", BOTS, (b) => BOTS_LABELS[b], filters.bots);
  const limitSel = select("f-limit", PAGE_SIZES, (n) => `${n} rows`, limit as (typeof PAGE_SIZES)[number]);
  const customFields = h("div", { class: "custom-range" }, field("From (your time)", startIn), field("To (your time)", endIn));
  const formError = h("p", { class: "form-error", role: "alert" });

  function fillForm(): void {
    rangeSel.value = filters.range;
    startIn.value = toLocalInput(filters.start || window_.start);
    endIn.value = toLocalInput(filters.end || window_.end);
    artistIn.value = filters.artist;
    trackIn.value = filters.track;
    sourceSel.value = filters.source;
    matchedSel.value = filters.matched;
    botsSel.value = filters.bots;
    customFields.hidden = filters.range !== "custom";
  }

  function readForm(): PlayFilters {
    const range = rangeSel.value as RangePreset;
    return {
      range,
      start: range === "custom" ? toUtcIso(startIn.value) : "",
      end: range === "custom" ? toUtcIso(endIn.value) : "",
      artist: artistIn.value.trim(),
      track: trackIn.value.trim(),
      source: sourceSel.value,
      matched: matchedSel.value as Matched,
      bots: botsSel.value as Bots,
    };
  }

  rangeSel.addEventListener("change", () => {
    customFields.hidden = rangeSel.value !== "custom";
  });

  function apply(next: PlayFilters): void {
    const nextWindow = resolveWindow(next, ctx.now());
    const problem = validateFilters(next, nextWindow);
    if (problem) {
      formError.textContent = problem;
      return;
    }
    formError.textContent = "";
    filters = next;
    window_ = nextWindow;
    paging = pager.firstPage;
    const params = filtersToParams(filters);
    if (limit !== 50) params.set("limit", String(limit));
    history.replaceState(null, "", buildHash("data", params));
    updateExport();
    updateActiveCount();
    void load();
  }

  const form = h(
    "form",
    {
      class: "filters-form",
      "aria-label": "Filter the plays",
      onsubmit: (e: Event) => {
        e.preventDefault();
        apply(readForm());
      },
    },
    h(
      "div",
      { class: "filter-grid" },
      field("Time range", rangeSel),
      field("Artist", artistIn),
      field("Track", trackIn),
      field("Source", sourceSel),
      field("Matched", matchedSel),
      field("Bots", botsSel),
    ),
    customFields,
    formError,
    h(
      "div",
      { class: "form-actions" },
      h("button", { type: "submit", class: "btn primary" }, "Apply filters"),
      h(
        "button",
        {
          type: "button",
          class: "btn",
          onclick: () => {
            filters = { ...DEFAULT_FILTERS };
            window_ = resolveWindow(filters, ctx.now());
            fillForm();
            apply(filters);
          },
        },
        "Reset",
      ),
    ),
  );

  // On a phone the filters start folded (unless some are set), so the plays come first.
  const activeCount = h("span", { class: "active-count" });
  const filtersBox = h("details", { class: "filters" }, h("summary", null, "Filters", activeCount), form);
  function updateActiveCount(): void {
    const n = [...filtersToParams(filters).keys()].filter((k) => k !== "start" && k !== "end").length;
    activeCount.textContent = n ? ` · ${n} set` : "";
  }
  filtersBox.open = !window.matchMedia("(max-width: 640px)").matches || filtersToParams(filters).toString() !== "";

  // --- toolbar: column chooser, page size, export ---------------------------------------------
  const chooserList = h("div", { class: "chooser-list", role: "group", "aria-label": "Columns to show" });
  function renderChooser(): void {
    replace(
      chooserList,
      PLAY_COLUMNS.map((c) => {
        const box = h("input", { type: "checkbox", id: `col-${c.id}`, name: c.id });
        box.checked = visibility[c.id] ?? c.visible;
        box.addEventListener("change", () => {
          const next = setVisible(visibility, c.id, box.checked);
          if (next === visibility) {
            box.checked = true; // the last shown column stays
            return;
          }
          table.getColumn(c.id)?.toggleVisibility(box.checked);
        });
        return h("label", { class: "check", for: `col-${c.id}` }, box, c.label);
      }),
    );
  }
  const chooser = h("details", { class: "chooser" }, h("summary", { class: "btn" }, "Columns"), chooserList);
  const csvLink = h("a", { class: "btn", download: "" }, "Export CSV");
  const jsonLink = h("a", { class: "btn", download: "" }, "Export JSON lines");
  function updateExport(): void {
    csvLink.setAttribute("href", exportUrl(filters, window_, "csv"));
    jsonLink.setAttribute("href", exportUrl(filters, window_, "json"));
  }
  limitSel.addEventListener("change", () => {
    limit = Number(limitSel.value);
    apply(filters);
  });
  const toolbar = h(
    "div",
    { class: "toolbar" },
    chooser,
    h("div", { class: "field inline" }, h("label", { for: "f-limit" }, "Page size"), limitSel),
    h("span", { class: "spacer" }),
    csvLink,
    jsonLink,
  );

  // --- results ---------------------------------------------------------------------------------
  const summaryLine = h("p", { class: "results-line", "aria-live": "polite" });
  const results = h("div", { class: "results" }, loading("plays"));
  const prevBtn = h("button", { type: "button", class: "btn", "data-testid": "prev" }, "← Newer");
  const nextBtn = h("button", { type: "button", class: "btn", "data-testid": "next" }, "Older →");
  const pageLabel = h("span", { class: "page-label", "aria-live": "polite" });
  prevBtn.addEventListener("click", () => {
    paging = pager.back(paging);
    void load();
  });
  nextBtn.addEventListener("click", () => {
    paging = pager.forward(paging);
    void load();
  });
  const pagerBar = h("nav", { class: "pager", "aria-label": "Pages" }, prevBtn, pageLabel, nextBtn);

  function updatePager(busy: boolean): void {
    prevBtn.disabled = busy || !pager.canBack(paging);
    nextBtn.disabled = busy || !pager.canForward(paging);
    pageLabel.textContent = `Page ${pager.pageNumber(paging)}`;
  }

  function openTrack(trackId: string): void {
    location.hash = trackHash(trackId);
  }

  function renderTable(): void {
    syncTable();
    renderChooser();
    if (rows.length === 0 && pager.canForward(paging)) {
      replace(results, empty("No matching plays in the part of the window searched so far.", "Press Older to keep searching further back."));
      return;
    }
    if (rows.length === 0) {
      replace(
        results,
        empty(
          pager.pageNumber(paging) > 1 ? "No more plays." : "No plays match these filters.",
          "Try a longer time range, or clear the artist, track or source filter.",
        ),
      );
      return;
    }
    const headers = table.getHeaderGroups().map((group) =>
      h(
        "tr",
        null,
        group.headers.map((header) => {
          const col = PLAY_COLUMNS.find((c) => c.id === header.column.id);
          return h("th", { scope: "col", class: col?.numeric ? "num" : `col-${header.column.id}` }, String(header.column.columnDef.header ?? ""));
        }),
      ),
    );
    const body = table.getRowModel().rows.map((row) => {
      const play = row.original;
      const opens = play.matched && play.track_id ? play.track_id : null;
      const tr = h(
        "tr",
        {
          class: opens ? "opens" : null,
          tabindex: "0",
          "data-post": `${play.source}:${play.post_id}`,
          title: opens ? "Open the track (Enter)" : null,
        },
        row.getVisibleCells().map((cell) => {
          const col = PLAY_COLUMNS.find((c) => c.id === cell.column.id);
          return h("td", { class: col?.numeric ? "num" : `col-${cell.column.id}` }, cellContent(cell.column.id, play, String(cell.getValue() ?? "")));
        }),
      );
      tr.addEventListener("click", (e) => {
        if (!opens || (e.target instanceof Element && e.target.closest("a"))) return;
        openTrack(opens);
      });
      tr.addEventListener("keydown", (e) => {
        if (e.key === "Enter" && opens && e.target === tr) {
          e.preventDefault();
          openTrack(opens);
        } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
          const sibling = e.key === "ArrowDown" ? tr.nextElementSibling : tr.previousElementSibling;
          if (sibling instanceof HTMLElement) {
            e.preventDefault();
            sibling.focus();
          }
        }
      });
      return tr;
    });
    replace(
      results,
      h(
        "div",
        { class: "table-wrap" },
        h("table", { class: "grid plays" }, h("caption", { class: "sr-only" }, "Plays, newest first. Rows with a matched track open it."), h("thead", null, headers), h("tbody", null, body)),
      ),
    );
  }

  async function load(): Promise<void> {
    const signal = latest.next();
    updatePager(true);
    results.setAttribute("aria-busy", "true");
    if (!loadedOnce) replace(results, loading("plays"));
    else results.classList.add("busy");
    try {
      const page = await pager.fillPage(
        (size, cursor) => ctx.api.plays(playsQuery(filters, window_, size, cursor), signal),
        limit,
        pager.currentCursor(paging),
      );
      rows = page.items;
      paging = pager.loaded(paging, page.next_cursor);
      loadedOnce = true;
      const first = (pager.pageNumber(paging) - 1) * limit;
      summaryLine.textContent =
        rows.length === 0
          ? `From ${formatDateTime(window_.start)} to ${formatDateTime(window_.end)}.`
          : `Plays ${first + 1}–${first + rows.length}, newest first, from ${formatDateTime(window_.start)} to ${formatDateTime(window_.end)}.`;
      renderTable();
    } catch (exc) {
      if (isAbort(exc)) return;
      rows = [];
      replace(
        results,
        errorBox(`The plays could not be loaded: ${messageOf(exc)}`, () => {
          paging = pager.firstPage;
          void load();
        }),
      );
    } finally {
      if (!signal.aborted) {
        results.removeAttribute("aria-busy");
        results.classList.remove("busy");
        updatePager(false);
      }
    }
  }

  fillForm();
  updateExport();
  updateActiveCount();
  renderChooser();
  const el = h(
    "div",
    { class: "page data" },
    h("h1", { tabindex: "-1" }, "Plays"),
    h("p", { class: "lead" }, "Every post that names a song, matched to a Spotify track or not. Newest first; pick a row to open its track."),
    filtersBox,
    toolbar,
    summaryLine,
    results,
    pagerBar,
  );
  void load();
  return { el, title: "Data", dispose: () => scope.dispose() };
}
