/// <reference types="node" />
// The API client against a real HTTP server on loopback (node:http), with Node's own fetch.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiError, buildUrl, createApi, errorFromResponse } from "../src/lib/api";

let server: Server;
let base = "";
const seen: string[] = [];

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? "/", "http://localhost");
  seen.push(url.pathname + url.search);
  const send = (status: number, body: string, type = "application/json"): void => {
    res.writeHead(status, { "Content-Type": type });
    res.end(body);
  };
  switch (url.pathname) {
    case "/api/plays":
      if (url.searchParams.get("cursor") === "forged") {
        send(400, JSON.stringify({ error: { code: "invalid_cursor", message: "The cursor is not valid; start again from the first page." } }));
      } else {
        send(200, JSON.stringify({ items: [{ post_id: "1", text: "<b>hi</b>" }], next_cursor: "n1" }));
      }
      return;
    case "/api/tracks/unknown":
      send(404, JSON.stringify({ error: { code: "not_found", message: "No track 'unknown'." } }));
      return;
    case "/api/status":
      send(503, "");
      return;
    case "/api/summary":
      send(500, "<html>proxy error</html>", "text/html");
      return;
    case "/api/slow":
      setTimeout(() => send(200, "{}"), 2000);
      return;
    default:
      send(200, "not json", "text/plain");
  }
}

beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe("buildUrl", () => {
  it("leaves out empty values and encodes the rest", () => {
    expect(buildUrl("/api/plays", { artist: "AC/DC & co", track: "", cursor: null, limit: 50, x: undefined })).toBe("/api/plays?artist=AC%2FDC+%26+co&limit=50");
    expect(buildUrl("/api/status")).toBe("/api/status");
  });
});

describe("the API client", () => {
  const api = () => createApi((input, init) => fetch(input, init), base);

  it("gets JSON with the query it was given", async () => {
    const page = await api().plays({ artist: "Queen", matched: "true", limit: 2, cursor: null });
    expect(page.next_cursor).toBe("n1");
    expect(page.items[0]?.text).toBe("<b>hi</b>");
    expect(seen).toContain("/api/plays?artist=Queen&matched=true&limit=2");
  });

  it("escapes track ids into the path", async () => {
    await api()
      .track("a/b?c", { days: 7 })
      .catch(() => undefined);
    expect(seen).toContain("/api/tracks/a%2Fb%3Fc?days=7");
  });

  it("turns the gateway's error body into an ApiError with its message", async () => {
    const err = await api()
      .plays({ cursor: "forged" })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(400);
    expect((err as ApiError).code).toBe("invalid_cursor");
    expect((err as ApiError).message).toBe("The cursor is not valid; start again from the first page.");
    const missing = await api()
      .track("unknown")
      .then(
        () => new ApiError(0, "none", "no error"),
        (e: unknown) => e as ApiError,
      );
    expect(missing.status).toBe(404);
  });

  it("puts bodiless or non-JSON failures into words", async () => {
    const down = await api()
      .status()
      .then(
        () => new ApiError(0, "none", "no error"),
        (e: unknown) => e as ApiError,
      );
    expect(down.message).toMatch(/unavailable/i);
    const broken = await api()
      .summary({})
      .then(
        () => new ApiError(0, "none", "no error"),
        (e: unknown) => e as ApiError,
      );
    expect(broken.status).toBe(500);
    expect(broken.message).toMatch(/gateway failed/);
    const notJson = await api()
      .get("/api/other")
      .then(
        () => new ApiError(0, "none", "no error"),
        (e: unknown) => e as ApiError,
      );
    expect(notJson.message).toMatch(/not JSON/);
  });

  it("says the gateway cannot be reached when nothing listens", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const err = await createApi((input, init) => fetch(input, init), `http://127.0.0.1:${port}`)
      .status()
      .then(
        () => new ApiError(0, "none", "no error"),
        (e: unknown) => e as ApiError,
      );
    expect(err.code).toBe("network");
    expect(err.message).toMatch(/Cannot reach the gateway/);
  });

  it("lets an aborted request end quietly as an AbortError", async () => {
    const controller = new AbortController();
    const pending = api().get("/api/slow", {}, controller.signal);
    controller.abort();
    const err = await pending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DOMException);
    expect((err as DOMException).name).toBe("AbortError");
  });
});

describe("errorFromResponse", () => {
  it("prefers the gateway's message, falls back to words by status", () => {
    expect(errorFromResponse(422, { error: { code: "validation_error", message: "limit: too big" } }).message).toBe("limit: too big");
    expect(errorFromResponse(404, null).message).toBe("Not found.");
    expect(errorFromResponse(418, { error: "teapot" }).message).toMatch(/refused \(HTTP 418\)/);
  });
});
