// Hash routing: "#/data?artist=Queen", "#/track/<id>". Works behind any static server, and the
// gateway's SPA fallback is not needed.

export type PageName = "home" | "data" | "visuals" | "charts" | "track" | "explain";

export interface Route {
  page: PageName;
  /** The track id for the Track page; the post id for the Explain page. */
  id: string;
  /** The post's source, for the Explain page ("#/explain/<source>/<post id>"). */
  source?: string;
  params: URLSearchParams;
}

const PAGES: readonly PageName[] = ["home", "data", "visuals", "charts", "track", "explain"];

/** The route of a location hash; unknown pages are reported as null. */
export function parseHash(hash: string): Route | null {
  const text = hash.replace(/^#/, "");
  const [pathPart = "", queryPart = ""] = splitOnce(text, "?");
  const parts = pathPart.split("/").filter(Boolean);
  const params = new URLSearchParams(queryPart);
  if (parts.length === 0) return { page: "home", id: "", params };
  const [name = "", id = ""] = parts;
  const page = PAGES.find((p) => p === name);
  if (!page) return null;
  if (page === "track") {
    if (!id || parts.length > 2) return null;
    return { page, id: safeDecode(id), params };
  }
  if (page === "explain") {
    const postId = parts[2];
    if (!id || !postId || parts.length > 3) return null;
    return { page, id: safeDecode(postId), source: safeDecode(id), params };
  }
  if (parts.length > 1) return null;
  return { page, id: "", params };
}

export function buildHash(page: PageName, params?: URLSearchParams | null, id = ""): string {
  const path = page === "home" ? "#/" : page === "track" ? `#/track/${encodeURIComponent(id)}` : `#/${page}`;
  const query = params ? params.toString() : "";
  return query ? `${path}?${query}` : path;
}

/** The Explain page of a play: why it matched its track, or did not. */
export function explainHash(source: string, postId: string): string {
  return `#/explain/${encodeURIComponent(source)}/${encodeURIComponent(postId)}`;
}

export function trackHash(trackId: string): string {
  return buildHash("track", null, trackId);
}

function splitOnce(text: string, sep: string): [string, string] {
  const at = text.indexOf(sep);
  return at < 0 ? [text, ""] : [text.slice(0, at), text.slice(at + 1)];
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
