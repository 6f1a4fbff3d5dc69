// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { errorBox, h, svg } from "../src/lib/dom";

const HOSTILE = `<script>alert(1)</script><img src=x onerror=alert(1)>`;

describe("the DOM builder", () => {
  it("puts text from data in as text, never as markup", () => {
    const el = h("p", null, "#NowPlaying ", HOSTILE);
    expect(el.textContent).toBe(`#NowPlaying ${HOSTILE}`);
    expect(el.querySelector("script")).toBeNull();
    expect(el.querySelector("img")).toBeNull();
    expect(el.childNodes).toHaveLength(2);
    for (const node of el.childNodes) expect(node.nodeType).toBe(3); // text nodes
  });

  it("sets attributes as values and refuses HTML strings", () => {
    const a = h("a", { href: "#/", title: HOSTILE }, "x");
    expect(a.getAttribute("title")).toBe(HOSTILE);
    expect(a.children).toHaveLength(0);
    expect(() => h("div", { innerHTML: "<b>x</b>" })).toThrow(/not allowed/);
  });

  it("wires event handlers and nests children, skipping empty ones", () => {
    let clicks = 0;
    const button = h("button", { type: "button", onclick: () => clicks++ }, "Go", null, false, undefined, ["!", 1]);
    button.click();
    expect(clicks).toBe(1);
    expect(button.textContent).toBe("Go!1");
  });

  it("builds SVG in the SVG namespace with text as text", () => {
    const t = svg("text", { x: 1 }, HOSTILE);
    expect(t.namespaceURI).toBe("http://www.w3.org/2000/svg");
    expect(t.textContent).toBe(HOSTILE);
    expect(t.children).toHaveLength(0);
  });

  it("shows errors as an alert in words", () => {
    const box = errorBox("The plays could not be loaded: Cannot reach the gateway.");
    expect(box.getAttribute("role")).toBe("alert");
    expect(box.textContent).toContain("Cannot reach the gateway");
  });
});
