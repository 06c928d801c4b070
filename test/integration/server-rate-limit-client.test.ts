/**
 * The authed-socket client against the companion's rate limits: RATE_LIMITED is transient — never a rejection,
 * never a refresh, never logged_out — and the next attempt waits at least retryAfterMs.
 */
import { RateLimiterMemory } from "rate-limiter-flexible";
import { afterEach, describe, expect, it } from "vitest";
import { type AuthedSocket, createAuthedSocket } from "../../src/index.js";
import { authenticate, jwtVerifier } from "../../src/server/index.js";
import { signToken, TEST_SECRET } from "../helpers/jwt.js";
import { startServer, type TestServer } from "../helpers/server.js";

const clients: AuthedSocket[] = [];
const servers: TestServer[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

describe("the client and a rate-limited handshake", () => {
  it("waits at least retryAfterMs, then connects with the same token; no refresh, no logout", async () => {
    const server = await startServer();
    servers.push(server);
    const attempts: number[] = [];
    const refusals: Array<{ at: number; retryAfterMs: number }> = [];
    server.io.use((_socket, next) => {
      attempts.push(Date.now());
      next();
    });
    server.io.use(
      authenticate({
        verify: jwtVerifier({ secret: TEST_SECRET, algorithms: ["HS256"] }),
        // One handshake per second for this subject: the second client's first try is refused.
        rateLimit: { handshakePerSubject: new RateLimiterMemory({ points: 1, duration: 1 }) },
        onReject: (rejection) => {
          if (rejection.code === "RATE_LIMITED" && rejection.retryAfterMs !== undefined)
            refusals.push({ at: Date.now(), retryAfterMs: rejection.retryAfterMs });
        },
      }),
    );
    const token = await signToken({ subject: "alice", ttlSec: 600 });
    let refreshes = 0;
    const make = () => {
      const c = createAuthedSocket(server.url, {
        getToken: () => token,
        refresh: async () => {
          refreshes += 1;
          return token;
        },
        // A backoff of at most 20 ms: only retryAfterMs (about a second here) can make the client wait longer.
        retry: { baseDelayMs: 10, maxDelayMs: 20 },
        logger: null,
      });
      clients.push(c);
      return c;
    };
    await make().waitFor("authenticated", { timeoutMs: 5000 });
    const second = make();
    const loggedOut: unknown[] = [];
    second.on("logged_out", (event) => loggedOut.push(event));
    await second.waitFor("authenticated", { timeoutMs: 5000 });

    expect(refusals.length).toBeGreaterThanOrEqual(1);
    const refusal = refusals[0] as { at: number; retryAfterMs: number };
    const next = attempts.find((at) => at > refusal.at);
    expect(next).toBeDefined();
    // Server-side instants: the client's wait plus both trips can only add to it (5 ms for timer granularity).
    expect((next as number) - refusal.at).toBeGreaterThanOrEqual(refusal.retryAfterMs - 5);
    expect(refreshes).toBe(0);
    expect(loggedOut).toEqual([]);
  });
});
