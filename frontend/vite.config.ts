/// <reference types="vitest/config" />
import { defineConfig } from "vite";

// The gateway serves the built app locally (FRONTEND_DIST) and proxies nothing: in `npm run dev`
// the API calls go to the gateway given by NOWPLAYING_API (default http://127.0.0.1:8000).
const api = process.env.NOWPLAYING_API ?? "http://127.0.0.1:8000";

export default defineConfig({
  base: "/",
  build: {
    outDir: "dist",
    target: "es2022",
    sourcemap: false,
    // One JS file for the app and one for Chart.js, so a change to the app does not bust the chart cache.
    rollupOptions: {
      output: {
        manualChunks(id: string): string | undefined {
          return id.includes("node_modules") ? "vendor" : undefined;
        },
      },
    },
  },
  server: {
    proxy: { "/api": api, "/healthz": api, "/readyz": api },
  },
  test: {
    include: ["tests/**/*.test.ts"],
    environment: "node",
  },
});
