/**
 * RATE_LIMITED is transient, never a rejection: the client waits at least `retryAfterMs` and tries again with the
 * same token (handshake), or keeps the connection and sends the new token in band again later (auth:refresh).
 * Real socket.io server on 127.0.0.1 with a hand-written limiter, real HS256 tokens.
 */
import { jwtVerify } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { type AuthedSocket, createAuthedSocket } from "../../src/index.js";
import { signToken, TEST_SECRET } from "../helpers/jwt.js";
import { startServer, type TestServer } from "../helpers/server.js";
import { waitUntil } from "../helpers/wait.js";

const clients: AuthedSocket[] = [];
const servers: TestServer[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
});

describe("a rate-limited client", () => {
  it("a handshake refused with RATE_LIMITED is retried with the same token after retryAfterMs, and never logs out", async () => {
    const server = await startServer();
    servers.push(server);
    const attempts: { at: number; token: unknown }[] = [];
    server.io.use(async (socket, next) => {
      const token = (socket.handshake.auth as { token?: unknown }).token;
      attempts.push({ at: Date.now(), token });
      if (attempts.length <= 3) {
        const err = new Error("too many handshakes") as Error & { data?: unknown };
        err.data = { code: "RATE_LIMITED", retryAfterMs: 400 };
        return next(err);
      }
      await jwtVerify(String(token), TEST_SECRET);
      next();
    });
    let refreshes = 0;
    const client = createAuthedSocket(server.url, {
      refresh: () => {
        refreshes++;
        return signToken({ ttlSec: 600 });
      },
      logger: null,
      // A backoff far below the server's wish: the wish wins.
      retry: { baseDelayMs: 10, maxDelayMs: 20 },
      maxAuthRejections: 2,
    });
    clients.push(client);
    await client.waitFor("authenticated", { timeoutMs: 5000 });
    const gaps = attempts.slice(1).map((a, i) => a.at - (attempts[i]?.at as number));
    expect({
      attempts: attempts.length,
      sameToken: new Set(attempts.map((a) => a.token)).size,
      everyGapHonoursRetryAfter: gaps.every((gap) => gap >= 400 - 5),
      refreshes,
      state: client.state,
    }).toEqual({
      attempts: 4,
      sameToken: 1,
      everyGapHonoursRetryAfter: true,
      refreshes: 1,
      state: "authenticated",
    });
  });

  it("an in-band refresh refused with RATE_LIMITED keeps the connection and is sent again after retryAfterMs", async () => {
    const server = await startServer();
    servers.push(server);
    let handshakes = 0;
    const requests: number[] = [];
    server.io.use((_socket, next) => {
      handshakes++;
      next();
    });
    server.io.on("connection", (socket) => {
      socket.emit("auth:ready", { expiresAt: null, inBand: true });
      socket.on("auth:refresh", (_payload: unknown, ack: (value: unknown) => void) => {
        requests.push(Date.now());
        ack(
          requests.length === 1
            ? { ok: false, code: "RATE_LIMITED", retryAfterMs: 1200 }
            : { ok: true, expiresAt: Date.now() + 600_000 },
        );
      });
    });
    const client = createAuthedSocket(server.url, {
      getToken: () => signToken({ ttlSec: 600 }),
      refresh: () => signToken({ ttlSec: 600 }),
      logger: null,
    });
    clients.push(client);
    await client.waitFor("authenticated", { timeoutMs: 5000 });
    await waitUntil(() => client.state === "authenticated" && handshakes === 1, {
      what: "auth:ready handled",
    });
    const inBand = new Promise<{ via: string }>((resolve) => client.once("authenticated", resolve));
    await client.refresh();
    const accepted = await inBand;
    expect({
      via: accepted.via,
      requests: requests.length,
      waitedAtLeastRetryAfter: (requests[1] as number) - (requests[0] as number) >= 1200 - 5,
      handshakes,
      state: client.state,
    }).toEqual({
      via: "in-band",
      requests: 2,
      waitedAtLeastRetryAfter: true,
      handshakes: 1,
      state: "authenticated",
    });
  });
});
