// What every page shares: a scope that owns its requests, charts and timers, and ends them all
// when the user leaves the page.

import type { Api } from "../lib/api";
import { type AnyChart, mountChart } from "../lib/chart";
import type { Route } from "../lib/router";

export interface Ctx {
  api: Api;
  now: () => Date;
}

export interface View {
  el: HTMLElement;
  title: string;
  dispose: () => void;
}

export type PageFn = (route: Route, ctx: Ctx) => View;

export class Scope {
  private readonly controller = new AbortController();
  private readonly charts = new Set<AnyChart>();
  private readonly timers: number[] = [];

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get disposed(): boolean {
    return this.controller.signal.aborted;
  }

  /** A chart on `canvas`, replacing `previous` (destroyed) when given. */
  chart(canvas: HTMLCanvasElement, config: Parameters<typeof mountChart>[1], previous?: AnyChart | null): AnyChart {
    if (previous) this.drop(previous);
    const chart = mountChart(canvas, config);
    this.charts.add(chart);
    return chart;
  }

  drop(chart: AnyChart | null | undefined): void {
    if (!chart) return;
    chart.destroy();
    this.charts.delete(chart);
  }

  every(ms: number, fn: () => void): void {
    this.timers.push(window.setInterval(fn, ms));
  }

  dispose(): void {
    this.controller.abort();
    for (const t of this.timers) window.clearInterval(t);
    for (const c of this.charts) c.destroy();
    this.charts.clear();
  }
}

/** A request series where only the latest answer counts (older ones are aborted). */
export class Latest {
  private current: AbortController | null = null;

  constructor(private readonly scope: Scope) {}

  /** A signal for a new request; the previous one is aborted. */
  next(): AbortSignal {
    this.current?.abort();
    const controller = new AbortController();
    this.scope.signal.addEventListener("abort", () => controller.abort(), { once: true });
    this.current = controller;
    return controller.signal;
  }
}
