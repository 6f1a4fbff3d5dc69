// The app shell: header with navigation, hash routing to the five pages, focus management.

import "./style.css";
import { createApi } from "./lib/api";
import { empty, h, replace } from "./lib/dom";
import { type PageName, parseHash } from "./lib/router";
import { chartsPage } from "./pages/charts";
import { dataPage } from "./pages/data";
import { explainPage } from "./pages/explain";
import { homePage } from "./pages/home";
import { trackPage } from "./pages/track";
import { type Ctx, type PageFn, type View } from "./pages/view";
import { visualsPage } from "./pages/visuals";

const PAGES: Record<PageName, PageFn> = {
  home: homePage,
  data: dataPage,
  visuals: visualsPage,
  charts: chartsPage,
  track: trackPage,
  explain: explainPage,
};

const NAV: [PageName, string, string][] = [
  ["home", "#/", "Home"],
  ["data", "#/data", "Data"],
  ["visuals", "#/visuals", "Visuals"],
  ["charts", "#/charts", "Charts"],
];

const ctx: Ctx = { api: createApi((input, init) => fetch(input, init)), now: () => new Date() };

function shell(): { main: HTMLElement; links: Map<PageName, HTMLAnchorElement> } {
  const links = new Map<PageName, HTMLAnchorElement>();
  const nav = h(
    "nav",
    { class: "nav", "aria-label": "Main" },
    h(
      "ul",
      null,
      NAV.map(([page, href, label]) => {
        const a = h("a", { href }, label);
        links.set(page, a);
        return h("li", null, a);
      }),
    ),
  );
  const main = h("main", { id: "main", tabindex: "-1" });
  const root = document.getElementById("app");
  if (!root) throw new Error("#app is missing from index.html");
  replace(
    root,
    h("a", { class: "skip", href: "#main", onclick: (e: Event) => { e.preventDefault(); main.focus(); } }, "Skip to content"),
    h(
      "header",
      { class: "top" },
      h("a", { class: "brand", href: "#/", "aria-label": "nowplaying home" }, h("span", { class: "brand-mark", "aria-hidden": "true" }, "♪"), "nowplaying"),
      nav,
    ),
    main,
    h(
      "footer",
      { class: "foot" },
      h("span", null, "Listening data from public #NowPlaying posts · track data from Spotify and ReccoBeats"),
      h("a", { href: "/api/docs" }, "API"),
    ),
  );
  return { main, links };
}

function start(): void {
  const { main, links } = shell();
  let current: View | null = null;
  let first = true;

  function route(): void {
    const parsed = parseHash(location.hash);
    current?.dispose();
    current = null;
    for (const [page, a] of links) {
      if (parsed && (parsed.page === page || ((parsed.page === "track" || parsed.page === "explain") && page === "data"))) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    if (!parsed) {
      document.title = "Page not found · nowplaying";
      replace(main, h("div", { class: "page" }, h("h1", { tabindex: "-1" }, "Page not found"), empty("There is no page at this address.", "Use the menu above to find your way."), h("a", { class: "btn", href: "#/" }, "Go home")));
    } else {
      current = PAGES[parsed.page](parsed, ctx);
      document.title = `${current.title} · nowplaying`;
      replace(main, current.el);
    }
    window.scrollTo(0, 0);
    // Move focus to the new page's heading so keyboard and screen-reader users start there.
    if (!first) main.querySelector<HTMLElement>("h1")?.focus({ preventScroll: true });
    first = false;
  }

  window.addEventListener("hashchange", route);
  route();
}

start();
