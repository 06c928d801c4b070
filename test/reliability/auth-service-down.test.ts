// The auth service (a real HTTP token endpoint issuing 3-s JWTs) goes down before the token held expires and comes
// back after it expired, while the socket.io server cuts each connection at its token's `exp`. The client must keep
// retrying with backoff, never log out, never present the expired token, and authenticate again once the endpoint
// answers. Public API only.
import { afterEach, describe, expect, it } from "vitest";
import { createAuthedSocket, refreshWithFetch } from "../../src/index.js";
import { startAuthServer } from "../helpers/auth-server.js";
import { restartableTokenEndpoint } from "../helpers/restartable.js";
import { waitUntil } from "../helpers/wait.js";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("auth service down across a token expiry", () => {
  it("retries with growing backoff, is not logged out, never hands the server an expired token, and re-authenticates when the endpoint returns", async () => {
    const server = await startAuthServer({ style: "code", cutAtExpiry: true });
    cleanups.push(() => server.close());
    const endpoint = await restartableTokenEndpoint(3);
    cleanups.push(() => endpoint.stop());
    const failures: Array<{ attempt: number; retryInMs: number | null; code: string; at: number }> = [];
    const loggedOut: unknown[] = [];
    const authenticated: number[] = [];
    const base = 100;
    const max = 800;
    const client = createAuthedSocket(server.url, {
      getToken: () => null,
      refresh: refreshWithFetch({ url: endpoint.url }),
      retry: { baseDelayMs: base, maxDelayMs: max },
      refreshTimeoutMs: 2000,
      logger: null,
      environment: "none",
      socket: { transports: ["websocket"], reconnectionDelay: 100, reconnectionDelayMax: 300 },
      on: {
        refresh_failed: ({ attempt, retryInMs, error }) =>
          failures.push({ attempt, retryInMs, code: error.code, at: Date.now() }),
        logged_out: (payload) => loggedOut.push(payload),
        authenticated: () => authenticated.push(Date.now()),
      },
    });
    cleanups.push(() => client.close());
    await client.waitFor("authenticated", { timeoutMs: 10_000 });
    const firstToken = server.accepted()[0]?.token;
    const expMs = client.expiresAt ?? 0;
    expect(expMs).toBeGreaterThan(Date.now());

    await endpoint.stop();
    const downAt = Date.now();
    // The server cuts the connection at the token's expiry; the client cannot get a new token meanwhile.
    await waitUntil(() => server.kicks.length >= 1, { timeoutMs: 6000, what: "the cut at expiry" });
    // Let the outage outlast the expiry by several retries, then bring the auth service back.
    await waitUntil(() => failures.filter((f) => f.at > expMs).length >= 3, {
      timeoutMs: 10_000,
      what: "three failed refreshes after the expiry",
    });
    const failuresWhileDown = failures.length;
    const handshakesWhileDown = server.handshakes.length;
    await endpoint.start();
    const upAt = Date.now();
    await waitUntil(() => client.state === "authenticated" && server.accepted().length >= 2, {
      timeoutMs: 5000,
      what: "authenticated again after the auth service returned",
    });

    expect(loggedOut).toEqual([]);
    // Every failure was scheduled for another attempt, numbered 1, 2, 3, … within one refresh, each wait a pick
    // below its ceiling base·2^(n−1), capped at max.
    expect(failuresWhileDown).toBeGreaterThanOrEqual(3);
    expect(failures.map((f) => f.attempt)).toEqual(failures.map((_, i) => i + 1));
    for (const { attempt, retryInMs } of failures) {
      expect(retryInMs).not.toBeNull();
      expect(retryInMs ?? -1).toBeGreaterThanOrEqual(0);
      expect(retryInMs ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(
        Math.min(max, base * 2 ** (attempt - 1)),
      );
    }
    expect(failures.every((f) => f.at >= downAt)).toBe(true);
    // While the auth service was down no handshake carried the expired token (the server would have said so).
    expect(server.handshakes.slice(0, handshakesWhileDown).every((h) => h.token === firstToken)).toBe(true);
    expect(server.handshakes.filter((h) => h.verdict !== "accepted")).toEqual([]);
    const again = server.accepted()[1];
    expect(again?.token).not.toBe(firstToken);
    expect(again?.at ?? 0).toBeGreaterThanOrEqual(upAt);
    expect(endpoint.issued.length).toBeGreaterThanOrEqual(2);
  });
});
