import { describe, expect, it } from "vitest";
import * as pager from "../src/lib/pager";

describe("cursor pager", () => {
  it("starts on page 1 with no way back and, until loaded, no way forward", () => {
    const p = pager.firstPage;
    expect(pager.pageNumber(p)).toBe(1);
    expect(pager.currentCursor(p)).toBeNull();
    expect(pager.canBack(p)).toBe(false);
    expect(pager.canForward(p)).toBe(false);
  });

  it("goes forward with the cursor of each page and back to the exact cursors it came from", () => {
    let p = pager.loaded(pager.firstPage, "c2");
    p = pager.forward(p);
    expect(pager.currentCursor(p)).toBe("c2");
    p = pager.loaded(p, "c3");
    p = pager.forward(p);
    expect(pager.pageNumber(p)).toBe(3);
    expect(pager.currentCursor(p)).toBe("c3");
    p = pager.loaded(p, null);
    expect(pager.canForward(p)).toBe(false);
    expect(pager.forward(p)).toBe(p);
    p = pager.back(p);
    expect(pager.currentCursor(p)).toBe("c2");
    expect(pager.pageNumber(p)).toBe(2);
    p = pager.back(p);
    expect(pager.currentCursor(p)).toBeNull();
    expect(pager.back(p)).toBe(p);
  });
});

// The gateway's behaviour: newest-first rows; a request scans at most `scan` rows of the window and
// returns those that match, with a cursor where it stopped (so a page may be short or empty).
function gateway(rows: number[], keep: (n: number) => boolean, scan: number) {
  const calls: { limit: number; cursor: string | null }[] = [];
  const fetchPage = async (limit: number, cursor: string | null) => {
    calls.push({ limit, cursor });
    let at = cursor === null ? 0 : Number(cursor);
    const items: number[] = [];
    const stop = Math.min(rows.length, at + scan);
    while (at < stop && items.length < limit) {
      const row = rows[at]!;
      at++;
      if (keep(row)) items.push(row);
    }
    return { items, next_cursor: at < rows.length ? String(at) : null };
  };
  return { fetchPage, calls };
}

describe("fillPage", () => {
  const rows = Array.from({ length: 100 }, (_, i) => i);

  it("follows short pages until the page is full, asking only for what is missing", async () => {
    const gw = gateway(rows, (n) => n % 10 === 0, 25);
    const page = await pager.fillPage(gw.fetchPage, 5, null);
    expect(page.items).toEqual([0, 10, 20, 30, 40]);
    expect(gw.calls.map((c) => c.limit)).toEqual([5, 2]);
    // The next page starts right after the last row returned: nothing skipped, nothing repeated.
    const next = await pager.fillPage(gw.fetchPage, 5, page.next_cursor);
    expect(next.items).toEqual([50, 60, 70, 80, 90]);
    const last = await pager.fillPage(gw.fetchPage, 5, next.next_cursor);
    expect(last).toEqual({ items: [], next_cursor: null });
  });

  it("stops after maxRequests and keeps the cursor so the user can go on", async () => {
    const gw = gateway(rows, (n) => n === 99, 10);
    const page = await pager.fillPage(gw.fetchPage, 5, null, 3);
    expect(page.items).toEqual([]);
    expect(page.next_cursor).toBe("30");
    expect(gw.calls).toHaveLength(3);
  });

  it("gives the same page again from the same cursor (going back)", async () => {
    const gw = gateway(rows, (n) => n % 3 === 0, 7);
    const first = await pager.fillPage(gw.fetchPage, 4, "12");
    const again = await pager.fillPage(gw.fetchPage, 4, "12");
    expect(again).toEqual(first);
    expect(first.items).toEqual([12, 15, 18, 21]);
  });
});
