// Small pure helpers for chart data.

import type { Bin, DayCount } from "./api";

/** Daily plays with the missing days between the first and last filled in as zero, oldest first. */
export function fillDays(days: readonly DayCount[], minDays = 1): DayCount[] {
  const valid = days.filter((d) => /^\d{4}-\d{2}-\d{2}$/.test(d.day)).slice().sort((a, b) => a.day.localeCompare(b.day));
  if (valid.length === 0) return [];
  const byDay = new Map<string, number>();
  for (const d of valid) byDay.set(d.day, (byDay.get(d.day) ?? 0) + d.plays);
  const first = Date.parse(`${valid[0]!.day}T00:00:00Z`);
  let last = Date.parse(`${valid[valid.length - 1]!.day}T00:00:00Z`);
  last = Math.max(last, first + (minDays - 1) * 86_400_000);
  const out: DayCount[] = [];
  for (let t = first; t <= last; t += 86_400_000) {
    const day = new Date(t).toISOString().slice(0, 10);
    out.push({ day, plays: byDay.get(day) ?? 0 });
  }
  return out;
}

/** Axis labels of histogram bins, "0.40–0.45". */
export function binLabels(bins: readonly Bin[], digits = 2): string[] {
  return bins.map((b) => `${b.lo.toFixed(digits)}–${b.hi.toFixed(digits)}`);
}

/** Digits that tell bins apart: tempo needs none, 0..1 features need two. */
export function binDigits(bins: readonly Bin[]): number {
  const first = bins[0];
  if (!first) return 2;
  const width = Math.abs(first.hi - first.lo);
  if (width >= 5) return 0;
  if (width >= 0.5) return 1;
  return 2;
}
