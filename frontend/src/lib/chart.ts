// Chart.js, with only the parts the app draws registered (keeps the bundle small).

import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartConfiguration,
  type ChartDataset,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from "chart.js";
import type { ChartSpec } from "./builder";

Chart.register(BarController, LineController, BarElement, LineElement, PointElement, CategoryScale, LinearScale, Tooltip, Legend, Filler);
Chart.defaults.font.family = getComputedStyle(document.documentElement).getPropertyValue("--font").trim() || "system-ui, sans-serif";
Chart.defaults.color = "#3b4252";
Chart.defaults.animation = false;

export const PALETTE = ["#2563eb", "#f97316", "#10b981", "#a855f7", "#eab308", "#ec4899", "#14b8a6", "#64748b", "#ef4444", "#84cc16", "#0ea5e9"];
export const LINE_COLOR = "#111827";

export type AnyChart = Chart<"bar" | "line", (number | null)[], string>;

export function mountChart(canvas: HTMLCanvasElement, config: ChartConfiguration<"bar" | "line", (number | null)[], string>): AnyChart {
  return new Chart(canvas, config);
}

/** The chart builder's mixed chart: bars on the left axis, the line on its own right axis. */
export function builderConfig(spec: ChartSpec): ChartConfiguration<"bar" | "line", (number | null)[], string> {
  const hasLine = spec.series.some((s) => s.kind === "line");
  const datasets: ChartDataset<"bar" | "line", (number | null)[]>[] = spec.series.map((s, i) =>
    s.kind === "bar"
      ? { type: "bar", label: s.label, data: s.values, backgroundColor: PALETTE[i % PALETTE.length], borderRadius: 3, yAxisID: "y", order: 2 }
      : {
          type: "line",
          label: s.label,
          data: s.values,
          borderColor: LINE_COLOR,
          backgroundColor: LINE_COLOR,
          borderWidth: 2,
          pointRadius: 4,
          tension: 0.25,
          yAxisID: hasLine && spec.series.some((b) => b.kind === "bar") ? "y1" : "y",
          order: 1,
        },
  );
  return {
    type: "bar",
    data: { labels: spec.labels, datasets },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: "index", intersect: false },
      plugins: {
        legend: { position: "bottom" },
        tooltip: { callbacks: { title: (items) => spec.fullLabels[items[0]?.dataIndex ?? 0] ?? "" } },
      },
      scales: {
        x: { ticks: { maxRotation: 60, autoSkip: false } },
        y: { beginAtZero: true, position: "left" },
        y1: { display: datasets.some((d) => d.yAxisID === "y1"), position: "right", grid: { drawOnChartArea: false } },
      },
    },
  };
}

/** Bars of one or more series over labels (charts, histograms). */
export function barsConfig(
  labels: string[],
  series: { label: string; values: number[] }[],
  opts: { horizontal?: boolean; fullLabels?: string[]; xTitle?: string; yTitle?: string } = {},
): ChartConfiguration<"bar" | "line", (number | null)[], string> {
  return {
    type: "bar",
    data: {
      labels,
      datasets: series.map((s, i) => ({ type: "bar", label: s.label, data: s.values, backgroundColor: PALETTE[i % PALETTE.length], borderRadius: 3 })),
    },
    options: {
      indexAxis: opts.horizontal ? "y" : "x",
      responsive: true,
      maintainAspectRatio: false,
      plugins: {
        legend: { display: series.length > 1, position: "bottom" },
        tooltip: { callbacks: { title: (items) => (opts.fullLabels ?? labels)[items[0]?.dataIndex ?? 0] ?? "" } },
      },
      scales: {
        x: { beginAtZero: true, title: { display: !!opts.xTitle, text: opts.xTitle ?? "" } },
        y: { beginAtZero: true, title: { display: !!opts.yTitle, text: opts.yTitle ?? "" }, ticks: { precision: 0 } },
      },
    },
  };
}

/** A filled line over time. */
export function lineConfig(labels: string[], label: string, values: number[]): ChartConfiguration<"bar" | "line", (number | null)[], string> {
  return {
    type: "line",
    data: {
      labels,
      datasets: [{ type: "line", label, data: values, borderColor: PALETTE[0], backgroundColor: "rgba(37, 99, 235, 0.15)", fill: true, tension: 0.25, pointRadius: 3 }],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
    },
  };
}
