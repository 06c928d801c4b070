// Refresh against a real HTTP token endpoint (node:http on 127.0.0.1, port 0) that issues real HS256 JWTs, with a
// real socket.io server checking every handshake token. Public API only.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type AuthedSocket, createAuthedSocket, refreshWithFetch } from "../../src/index.js";
import { startAuthServer } from "../helpers/auth-server.js";
import { signToken } from "../helpers/jwt.js";
import { waitUntil } from "../helpers/wait.js";

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void | Promise<void>;

interface TokenEndpoint {
  url: string;
  /** Local instants at which each request arrived. */
  requests: number[];
  /** Requests whose client went away before an answer (aborted). */
  aborted: number;
  close(): Promise<void>;
}

async function tokenEndpoint(handler: Handler): Promise<TokenEndpoint> {
  const state = { requests: [] as number[], aborted: 0 };
  const http: Server = createServer((req, res) => {
    state.requests.push(Date.now());
    res.on("close", () => {
      if (!res.writableEnded) state.aborted++;
    });
    void handler(req, res, state.requests.length);
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/refresh`,
    get requests() {
      return state.requests;
    },
    get aborted() {
      return state.aborted;
    },
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}

const sendToken = async (res: ServerResponse, ttlSec = 600) => {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ token: await signToken({ ttlSec }) }));
};

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(handler: Handler, options: Partial<Parameters<typeof createAuthedSocket>[1]> = {}) {
  const server = await startAuthServer();
  cleanups.push(() => server.close());
  const endpoint = await tokenEndpoint(handler);
  cleanups.push(() => endpoint.close());
  const events: Array<{ name: string; payload: unknown; at: number }> = [];
  const client: AuthedSocket = createAuthedSocket(server.url, {
    getToken: () => null,
    refresh: refreshWithFetch({ url: endpoint.url }),
    logger: null,
    environment: "none",
    socket: { transports: ["websocket"] },
    ...options,
  });
  cleanups.push(() => client.close());
  for (const name of ["refresh_failed", "logged_out", "authenticated"] as const)
    client.on(name, (payload: unknown) => events.push({ name, payload, at: Date.now() }));
  return { server, endpoint, client, events };
}

describe("refresh endpoint failures", () => {
  it("refresh 5xx: retried with growing full-jitter backoff (each wait within base·2^(n−1), and honoured), then authenticated", async () => {
    const { server, endpoint, client, events } = await setup(
      (_req, res, n) => {
        if (n <= 3) {
          res.writeHead(500);
          res.end("down");
          return;
        }
        return sendToken(res);
      },
      { retry: { baseDelayMs: 200, maxDelayMs: 5000 } },
    );
    await client.waitFor("authenticated", { timeoutMs: 10_000 });
    const failures = events
      .filter((e) => e.name === "refresh_failed")
      .map((e) => e.payload as { attempt: number; retryInMs: number });
    expect(failures.map((f) => f.attempt)).toEqual([1, 2, 3]);
    for (const { attempt, retryInMs } of failures) {
      expect(retryInMs).toBeGreaterThanOrEqual(0);
      expect(retryInMs).toBeLessThanOrEqual(200 * 2 ** (attempt - 1));
    }
    // Each retry came no sooner than the wait the client announced.
    for (let i = 1; i < endpoint.requests.length; i++)
      expect((endpoint.requests[i] ?? 0) - (endpoint.requests[i - 1] ?? 0)).toBeGreaterThanOrEqual(
        (failures[i - 1]?.retryInMs ?? 0) - 5,
      );
    expect(endpoint.requests).toHaveLength(4);
    expect(server.accepted()).toHaveLength(1);
    expect(server.handshakes.every((h) => h.verdict === "accepted")).toBe(true);
  });

  it("Retry-After: a 503 with Retry-After: 1 is not asked again for a second, though the backoff would be sooner", async () => {
    const { endpoint, client, events } = await setup(
      (_req, res, n) => {
        if (n === 1) {
          res.writeHead(503, { "retry-after": "1" });
          res.end("busy");
          return;
        }
        return sendToken(res);
      },
      { retry: { baseDelayMs: 10, maxDelayMs: 5000 } },
    );
    await client.waitFor("authenticated", { timeoutMs: 10_000 });
    const failure = events.find((e) => e.name === "refresh_failed")?.payload as { retryInMs: number };
    expect(failure.retryInMs).toBeGreaterThanOrEqual(1000);
    expect((endpoint.requests[1] ?? 0) - (endpoint.requests[0] ?? 0)).toBeGreaterThanOrEqual(990);
  });

  it("a refresh that hangs is aborted at refreshTimeoutMs and retried; the retry's token authenticates", async () => {
    const { server, endpoint, client, events } = await setup(
      (_req, res, n) => {
        if (n === 1) return; // never answers
        return sendToken(res);
      },
      { refreshTimeoutMs: 300, retry: { baseDelayMs: 50, maxDelayMs: 100 } },
    );
    await client.waitFor("authenticated", { timeoutMs: 10_000 });
    const failure = events.find((e) => e.name === "refresh_failed")?.payload as {
      error: { code: string };
    };
    expect(failure.error.code).toBe("ERR_REFRESH_TIMEOUT");
    // The abandoned request was really aborted (the signal reached fetch), not left running.
    await waitUntil(() => endpoint.aborted === 1, { what: "the hung request to be aborted" });
    expect(endpoint.requests).toHaveLength(2);
    expect(server.accepted()).toHaveLength(1);
  });

  it("refresh 401 → logged_out, and no handshake reaches the server", async () => {
    const { server, endpoint, client, events } = await setup((_req, res) => {
      res.writeHead(401);
      res.end("no session");
    });
    await waitUntil(() => events.some((e) => e.name === "logged_out"), {
      timeoutMs: 10_000,
      what: "logged_out",
    });
    expect(client.state).toBe("logged_out");
    expect(endpoint.requests).toHaveLength(1);
    expect(server.handshakes).toHaveLength(0);
  });
});
