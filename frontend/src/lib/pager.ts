// Cursor paging, forward and back. The gateway only pages forward (each page carries the cursor of
// the next), so the pages visited are kept as a stack of the cursors that opened them.

export interface Pager {
  /** The cursor that opened each visited page; the first page has none (null). Last = current page. */
  readonly cursors: readonly (string | null)[];
  /** The cursor of the page after the current one, once the current page has loaded. */
  readonly next: string | null;
}

export const firstPage: Pager = { cursors: [null], next: null };

export function currentCursor(pager: Pager): string | null {
  return pager.cursors[pager.cursors.length - 1] ?? null;
}

export function pageNumber(pager: Pager): number {
  return pager.cursors.length;
}

/** The current page has loaded and says where the next one starts (null: it was the last page). */
export function loaded(pager: Pager, nextCursor: string | null): Pager {
  return { cursors: pager.cursors, next: nextCursor };
}

export function canForward(pager: Pager): boolean {
  return pager.next !== null;
}

export function canBack(pager: Pager): boolean {
  return pager.cursors.length > 1;
}

/** Move to the next page; unchanged when there is none. */
export function forward(pager: Pager): Pager {
  if (pager.next === null) return pager;
  return { cursors: [...pager.cursors, pager.next], next: null };
}

/** Move to the previous page; unchanged on the first. */
export function back(pager: Pager): Pager {
  if (pager.cursors.length <= 1) return pager;
  return { cursors: pager.cursors.slice(0, -1), next: null };
}

export interface PageAnswer<T> {
  items: T[];
  next_cursor: string | null;
}

/**
 * One full page: the gateway may answer a selective filter with fewer than `limit` items (even none)
 * and a next cursor, so follow the cursors, asking for what is missing, until the page is full, the
 * window is exhausted or `maxRequests` were made. Starting from the same cursor gives the same page.
 */
export async function fillPage<T>(
  fetchPage: (limit: number, cursor: string | null) => Promise<PageAnswer<T>>,
  limit: number,
  cursor: string | null,
  maxRequests = 8,
): Promise<PageAnswer<T>> {
  const items: T[] = [];
  let next: string | null = cursor;
  for (let request = 0; request < maxRequests; request++) {
    const answer = await fetchPage(limit - items.length, next);
    items.push(...answer.items.slice(0, limit - items.length));
    next = answer.next_cursor;
    if (next === null || items.length >= limit) break;
  }
  return { items, next_cursor: next };
}
