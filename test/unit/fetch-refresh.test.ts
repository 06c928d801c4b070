import { jwtVerify } from "jose";
import { HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { refreshWithFetch } from "../../src/fetch-refresh.js";
import {
  type AuthedSocket,
  createAuthedSocket,
  type RefreshContext,
  RefreshError,
  UnauthorizedError,
} from "../../src/index.js";
import { signToken, TEST_SECRET } from "../helpers/jwt.js";
import { startServer, type TestServer } from "../helpers/server.js";

const URL_ = "https://auth.test/refresh";
// Socket.IO's own HTTP polling to 127.0.0.1 must reach the real server, so unmatched requests pass through.
const mock = setupServer();
beforeAll(() => mock.listen({ onUnhandledRequest: "bypass" }));
afterAll(() => mock.close());

const clients: AuthedSocket[] = [];
const servers: TestServer[] = [];
const cleanups: (() => void)[] = [];
afterEach(async () => {
  mock.resetHandlers();
  vi.useRealTimers();
  vi.unstubAllGlobals();
  for (const cleanup of cleanups.splice(0)) cleanup();
  for (const client of clients.splice(0)) client.close();
  for (const server of servers.splice(0)) await server.close();
});

function context(signal = new AbortController().signal): RefreshContext {
  return { reason: "manual", signal, attempt: 1 };
}

/** Answers every refresh request with `respond`. */
function endpoint(respond: Parameters<typeof http.post>[1]) {
  mock.use(http.post(URL_, respond));
}

/** Runs one refresh and returns what it threw. */
async function failure(options: Parameters<typeof refreshWithFetch>[0] = { url: URL_ }): Promise<unknown> {
  return refreshWithFetch(options)(context()).then(
    () => expect.fail("the refresh should have failed"),
    (error: unknown) => error,
  );
}

describe("refreshWithFetch: a 2xx answer", () => {
  it("reads accessToken and expiresIn, converting seconds to ms", async () => {
    endpoint(() => HttpResponse.json({ accessToken: "tok-1", expiresIn: 900 }));
    await expect(refreshWithFetch({ url: URL_ })(context())).resolves.toEqual({
      token: "tok-1",
      expiresIn: 900_000,
    });
  });

  it("reads OAuth's access_token and expires_in (seconds), including a numeric string", async () => {
    endpoint(() => HttpResponse.json({ access_token: "tok-2", expires_in: "3599", token_type: "Bearer" }));
    await expect(refreshWithFetch({ url: URL_ })(context())).resolves.toEqual({
      token: "tok-2",
      expiresIn: 3_599_000,
    });
  });

  it("returns a bare token string when there is only a token field", async () => {
    endpoint(() => HttpResponse.json({ token: "tok-3" }));
    await expect(refreshWithFetch({ url: URL_ })(context())).resolves.toBe("tok-3");
  });

  it("hands the JSON and the response to a custom parse", async () => {
    endpoint(() => HttpResponse.json({ data: { jwt: "tok-4" } }, { headers: { "x-expires-at": "1234" } }));
    const refresh = refreshWithFetch({
      url: URL_,
      parse: (json, response) => ({
        token: (json as { data: { jwt: string } }).data.jwt,
        expiresAt: Number(response.headers.get("x-expires-at")),
      }),
    });
    await expect(refresh(context())).resolves.toEqual({ token: "tok-4", expiresAt: 1234 });
  });

  it("fails with ERR_INVALID_TOKEN, without the body, when the answer is not JSON", async () => {
    const body = "<html>access_token=secret-value</html>";
    endpoint(() => HttpResponse.text(body, { headers: { "content-type": "text/html" } }));
    const error = await failure();
    expect(error).toBeInstanceOf(RefreshError);
    expect(error).toMatchObject({ code: "ERR_INVALID_TOKEN" });
    expect((error as Error).message).toMatch(/did not return JSON.*text\/html/);
    expect((error as Error).message).not.toContain("secret-value");
    expect((error as Error).cause).toBeUndefined();
  });

  it("fails with ERR_INVALID_TOKEN naming the fields it looked for, never the values", async () => {
    endpoint(() => HttpResponse.json({ id_token: "secret-id-token", refresh_token: "secret-refresh" }));
    const error = await failure();
    expect(error).toMatchObject({ name: "RefreshError", code: "ERR_INVALID_TOKEN" });
    const { message } = error as Error;
    for (const field of ["accessToken", "access_token", '"token"']) expect(message).toContain(field);
    expect(message).not.toContain("secret");
  });

  it("fails with ERR_INVALID_TOKEN when expires_in is not a number of seconds", async () => {
    endpoint(() => HttpResponse.json({ access_token: "tok", expires_in: "soon" }));
    const error = await failure();
    expect(error).toMatchObject({ code: "ERR_INVALID_TOKEN" });
    expect((error as Error).message).toContain('"expires_in"');
  });
});

describe("refreshWithFetch: the request", () => {
  it("sends method, credentials, headers from an async function, and an object body as JSON", async () => {
    let seen: { method: string; credentials: string; headers: Headers; body: unknown } | undefined;
    mock.use(
      http.put(URL_, async ({ request }) => {
        seen = {
          method: request.method,
          credentials: request.credentials,
          headers: request.headers,
          body: await request.json(),
        };
        return HttpResponse.json({ accessToken: "tok" });
      }),
    );
    const refresh = refreshWithFetch({
      url: new URL(URL_),
      method: "PUT",
      credentials: "include",
      headers: async (ctx) => ({ "x-refresh-token": `stored-${ctx.attempt}` }),
      body: async (ctx) => ({ grant_type: "refresh_token", reason: ctx.reason }),
    });
    await expect(refresh(context())).resolves.toBe("tok");
    expect(seen?.method).toBe("PUT");
    expect(seen?.credentials).toBe("include");
    expect(seen?.headers.get("x-refresh-token")).toBe("stored-1");
    expect(seen?.headers.get("content-type")).toBe("application/json");
    expect(seen?.headers.get("accept")).toBe("application/json");
    expect(seen?.body).toEqual({ grant_type: "refresh_token", reason: "manual" });
  });

  it("sends URLSearchParams as a form, as is, with POST and same-origin credentials by default", async () => {
    let seen: { method: string; credentials: string; type: string | null; body: string } | undefined;
    endpoint(async ({ request }) => {
      seen = {
        method: request.method,
        credentials: request.credentials,
        type: request.headers.get("content-type"),
        body: await request.text(),
      };
      return HttpResponse.json({ access_token: "tok" });
    });
    const refresh = refreshWithFetch({
      url: URL_,
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: "rt" }),
    });
    await refresh(context());
    expect(seen).toEqual({
      method: "POST",
      credentials: "same-origin",
      type: expect.stringContaining("application/x-www-form-urlencoded"),
      body: "grant_type=refresh_token&refresh_token=rt",
    });
  });

  it("uses an injected fetch, called unbound, with the context's signal", async () => {
    const calls: { self: unknown; signal: AbortSignal | null | undefined }[] = [];
    const injected = function (this: unknown, _input: string | URL, init: RequestInit) {
      calls.push({ self: this, signal: init.signal });
      return Promise.resolve(Response.json({ token: "tok" }));
    };
    const ctx = context();
    await expect(refreshWithFetch({ url: URL_, fetch: injected })(ctx)).resolves.toBe("tok");
    expect(calls).toEqual([{ self: undefined, signal: ctx.signal }]);
  });

  it("rethrows the abort when the context's signal is aborted during the request", async () => {
    let reached!: () => void;
    const started = new Promise<void>((resolve) => {
      reached = resolve;
    });
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    cleanups.push(release);
    endpoint(async () => {
      reached();
      await held;
      return HttpResponse.json({ token: "late" });
    });
    const controller = new AbortController();
    const pending = refreshWithFetch({ url: URL_ })(context(controller.signal));
    await started;
    const reason = new Error("refresh timed out");
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });
});

describe("refreshWithFetch: error statuses", () => {
  it.each([401, 403])("%i ends the session with UnauthorizedError", async (status) => {
    endpoint(() => HttpResponse.json({ error: "nope" }, { status }));
    const error = await failure();
    expect(error).toBeInstanceOf(UnauthorizedError);
    expect((error as Error).message).toContain(String(status));
  });

  it("400 with OAuth's invalid_grant ends the session with UnauthorizedError", async () => {
    endpoint(() => HttpResponse.json({ error: "invalid_grant" }, { status: 400 }));
    expect(await failure()).toBeInstanceOf(UnauthorizedError);
  });

  it("400 with any other body is a RefreshError (retried), not the end of the session", async () => {
    endpoint(() => HttpResponse.json({ error: "invalid_request" }, { status: 400 }));
    const error = await failure();
    expect(error).not.toBeInstanceOf(UnauthorizedError);
    expect(error).toMatchObject({ name: "RefreshError", code: "ERR_REFRESH_FAILED" });
  });

  it("429 with Retry-After in seconds carries retryAfterMs", async () => {
    endpoint(() => new HttpResponse(null, { status: 429, headers: { "retry-after": "7" } }));
    const error = await failure();
    expect(error).toMatchObject({ code: "ERR_REFRESH_FAILED", retryAfterMs: 7000 });
    expect((error as Error).message).toContain("429");
  });

  it("503 with Retry-After as an HTTP date carries the time until that date", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2030-01-01T00:00:00Z"));
    endpoint(
      () =>
        new HttpResponse(null, { status: 503, headers: { "retry-after": "Tue, 01 Jan 2030 00:00:30 GMT" } }),
    );
    expect(await failure()).toMatchObject({ code: "ERR_REFRESH_FAILED", retryAfterMs: 30_000 });
  });

  it("500 is a RefreshError with the status in its message and no retryAfterMs", async () => {
    endpoint(() =>
      HttpResponse.text("stack trace with secret", { status: 500, headers: { "retry-after": "5" } }),
    );
    const error = await failure();
    expect(error).toMatchObject({ name: "RefreshError", code: "ERR_REFRESH_FAILED" });
    expect((error as Error).message).toContain("500");
    expect((error as Error).message).not.toContain("secret");
    expect((error as RefreshError).retryAfterMs).toBeUndefined();
  });

  it("a network error is a RefreshError with the fetch failure as its cause", async () => {
    endpoint(() => HttpResponse.error());
    const error = await failure();
    expect(error).toMatchObject({ name: "RefreshError", code: "ERR_REFRESH_FAILED" });
    expect((error as Error).cause).toBeInstanceOf(TypeError);
  });
});

describe("refreshWithFetch: options are validated at creation", () => {
  it.each([
    ["url", { url: "" }],
    ["url", { url: 42 }],
    ["method", { url: URL_, method: "" }],
    ["credentials", { url: URL_, credentials: "always" }],
    ["headers", { url: URL_, headers: null }],
    ["body", { url: URL_, body: 42 }],
    ["body", { url: URL_, method: "GET", body: { a: 1 } }],
    ["parse", { url: URL_, parse: "json" }],
    ["fetch", { url: URL_, fetch: {} }],
  ])('a wrong "%s" throws a TypeError naming it', (name, options) => {
    expect(() => refreshWithFetch(options as never)).toThrow(
      expect.objectContaining({ name: "TypeError", message: expect.stringContaining(`option "${name}"`) }),
    );
  });

  it("without a global fetch, asks for the fetch option", () => {
    vi.stubGlobal("fetch", undefined);
    expect(() => refreshWithFetch({ url: URL_ })).toThrow(/option "fetch".*no global fetch/);
  });
});

describe("refreshWithFetch with createAuthedSocket", () => {
  it("authenticates a real Socket.IO connection with a token from the refresh endpoint", async () => {
    const issued: string[] = [];
    endpoint(async () => {
      const token = await signToken({ ttlSec: 60 });
      issued.push(token);
      return HttpResponse.json({ access_token: token, expires_in: 60 });
    });
    const server = await startServer();
    servers.push(server);
    const verified: string[] = [];
    server.io.use(async (socket, next) => {
      const token = (socket.handshake.auth as { token?: unknown }).token;
      try {
        await jwtVerify(String(token), TEST_SECRET, { algorithms: ["HS256"] });
        verified.push(String(token));
        next();
      } catch {
        next(new Error("Invalid or expired token"));
      }
    });
    const client = createAuthedSocket(server.url, { refresh: refreshWithFetch({ url: URL_ }), logger: null });
    clients.push(client);
    const event = await client.waitFor("authenticated", { timeoutMs: 5000 });
    expect(event.via).toBe("handshake");
    expect(issued).toHaveLength(1);
    expect(verified).toEqual(issued);
    // expires_in (60 s) reached the client as 60 000 ms of life.
    expect(event.expiresAt).toBeGreaterThan(Date.now() + 50_000);
  });
});
