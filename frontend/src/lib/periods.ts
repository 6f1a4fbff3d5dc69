// UTC calendar periods of the charts and the activity view: moving by one period, and their names.

import type { PeriodKind } from "./api";
import { shiftDay } from "./format";

export const PERIODS: [PeriodKind, string][] = [
  ["day", "Day"],
  ["week", "Week"],
  ["month", "Month"],
  ["year", "Year"],
  ["all", "All time"],
];

export function isPeriod(text: string | null | undefined): text is PeriodKind {
  return PERIODS.some(([p]) => p === text);
}

/** A day in the period `delta` periods away from the one containing `day` (the same day of it where it exists). */
export function shiftPeriod(kind: PeriodKind, day: string, delta: number): string {
  if (kind === "day") return shiftDay(day, delta);
  if (kind === "week") return shiftDay(day, 7 * delta);
  if (kind === "all") return day;
  const [y, m, d] = day.split("-").map(Number) as [number, number, number];
  if (kind === "year") {
    const last = new Date(Date.UTC(y + delta, m, 0)).getUTCDate();
    return `${String(y + delta).padStart(4, "0")}-${String(m).padStart(2, "0")}-${String(Math.min(d, last)).padStart(2, "0")}`;
  }
  const index = y * 12 + (m - 1) + delta;
  const year = Math.floor(index / 12);
  const month = (index % 12) + 1;
  const last = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}-${String(Math.min(d, last)).padStart(2, "0")}`;
}

/** The first day of the period containing `day` ("" for all time). */
export function periodStart(kind: PeriodKind, day: string): string {
  if (kind === "day") return day;
  if (kind === "week") {
    const weekday = (new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7; // Monday = 0
    return shiftDay(day, -weekday);
  }
  if (kind === "month") return `${day.slice(0, 7)}-01`;
  if (kind === "year") return `${day.slice(0, 4)}-01-01`;
  return "";
}

/** Whether the period after the one containing `day` starts after `today` (nothing to show there yet). */
export function isLatest(kind: PeriodKind, day: string, today: string): boolean {
  if (kind === "all") return true;
  return periodStart(kind, shiftPeriod(kind, day, 1)) > today;
}

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

/** Words for a period: "2026-03-10", "the week of 2026-03-09 – 2026-03-15", "March 2026", "2026", "all time". */
export function periodLabel(kind: PeriodKind, day: string, start?: string | null, end?: string | null): string {
  if (kind === "day") return day;
  if (kind === "week") return start && end ? `the week of ${start} – ${end}` : `the week of ${day}`;
  if (kind === "month") return `${MONTHS[Number(day.slice(5, 7)) - 1] ?? day.slice(5, 7)} ${day.slice(0, 4)}`;
  if (kind === "year") return day.slice(0, 4);
  return "all time";
}

export const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
