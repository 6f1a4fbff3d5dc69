// A tiny DOM builder. Every string child becomes a text node (textContent), so text from posts or
// the API is never parsed as HTML. There is deliberately no way to set innerHTML here.

type Child = Node | string | number | null | undefined | false | readonly Child[];
type Handler = (event: Event) => void;

export interface Attrs {
  [name: string]: string | number | boolean | Handler | null | undefined;
}

function append(parent: Node, child: Child): void {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) {
    for (const c of child as readonly Child[]) append(parent, c);
    return;
  }
  if (typeof child === "string" || typeof child === "number") {
    parent.appendChild(document.createTextNode(String(child)));
    return;
  }
  parent.appendChild(child as Node);
}

function applyAttrs(el: Element, attrs: Attrs | null | undefined): void {
  if (!attrs) return;
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") {
      el.addEventListener(name.replace(/^on/, "").toLowerCase(), value);
    } else if (name === "innerHTML" || name === "outerHTML") {
      throw new Error("HTML strings are not allowed");
    } else if (value === true) {
      el.setAttribute(name, "");
    } else {
      el.setAttribute(name, String(value));
    }
  }
}

/** An HTML element: h("a", {href: "#/"}, "Home"). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  applyAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** An SVG element. */
export function svg(tag: string, attrs?: Attrs | null, ...children: Child[]): SVGElement {
  const el = document.createElementNS(SVG_NS, tag);
  applyAttrs(el, attrs);
  append(el, children);
  return el as SVGElement;
}

/** Replace all children of `el`. */
export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** A polite loading line. */
export function loading(what: string): HTMLElement {
  return h("p", { class: "state loading", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }), `Loading ${what}…`);
}

/** An empty state, with an optional hint. */
export function empty(message: string, hint?: string): HTMLElement {
  return h("div", { class: "state empty", role: "status" }, h("p", null, message), hint ? h("p", { class: "hint" }, hint) : null);
}

/** An error in words, with a retry button when given. */
export function errorBox(message: string, retry?: () => void): HTMLElement {
  return h(
    "div",
    { class: "state error", role: "alert" },
    h("p", null, h("strong", null, "Something went wrong. "), message),
    retry ? h("button", { type: "button", class: "btn", onclick: () => retry() }, "Try again") : null,
  );
}

/** The message of anything thrown. */
export function messageOf(exc: unknown): string {
  if (exc instanceof Error && exc.message) return exc.message;
  return "An unexpected error happened.";
}

export function isAbort(exc: unknown): boolean {
  return exc instanceof DOMException && exc.name === "AbortError";
}
