import { describe, expect, it } from "vitest";
import { buildHash, explainHash, parseHash, trackHash } from "../src/lib/router";

describe("router", () => {
  it("routes the empty hash and #/ to home", () => {
    expect(parseHash("")?.page).toBe("home");
    expect(parseHash("#/")?.page).toBe("home");
  });

  it("reads the page and its query", () => {
    const r = parseHash("#/data?artist=Queen&bots=exclude");
    expect(r?.page).toBe("data");
    expect(r?.params.get("artist")).toBe("Queen");
    expect(r?.params.get("bots")).toBe("exclude");
  });

  it("reads a track id, encoded or not, and round-trips it", () => {
    expect(parseHash("#/track/4uLU6hMCjMI75M1A2tKUQC")?.id).toBe("4uLU6hMCjMI75M1A2tKUQC");
    const odd = "id with/slash?&";
    expect(trackHash(odd)).toBe("#/track/id%20with%2Fslash%3F%26");
    expect(parseHash(trackHash(odd))?.id).toBe(odd);
  });

  it("refuses unknown pages and malformed track addresses", () => {
    expect(parseHash("#/nope")).toBeNull();
    expect(parseHash("#/track")).toBeNull();
    expect(parseHash("#/track/a/b")).toBeNull();
    expect(parseHash("#/data/extra")).toBeNull();
  });

  it("builds addresses", () => {
    expect(buildHash("home")).toBe("#/");
    expect(buildHash("charts", new URLSearchParams({ day: "2026-03-01" }))).toBe("#/charts?day=2026-03-01");
    expect(buildHash("data", new URLSearchParams())).toBe("#/data");
  });

  it("reads a play's source and post id for the Explain page, and round-trips them", () => {
    const hash = explainHash("bluesky", "at://did:plc:x/app.bsky.feed.post/3k");
    const r = parseHash(hash);
    expect(r?.page).toBe("explain");
    expect(r?.source).toBe("bluesky");
    expect(r?.id).toBe("at://did:plc:x/app.bsky.feed.post/3k");
    expect(parseHash("#/explain/x")).toBeNull();
    expect(parseHash("#/explain/x/1/2")).toBeNull();
  });
});
