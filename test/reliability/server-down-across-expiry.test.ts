// The socket.io server (verifying every handshake with jose) goes down while the client holds a 3-s token and comes
// back on the same port after that token expired. The client must reconnect with a fresh token, never the expired
// one, and the failed connection attempts of the outage must not count as refusals: with maxAuthRejections: 1 a
// single miscounted attempt would log it out. Public API only.
import { afterEach, describe, expect, it } from "vitest";
import { createAuthedSocket } from "../../src/index.js";
import { signToken } from "../helpers/jwt.js";
import { restartableAuthServer } from "../helpers/restartable.js";
import { waitUntil } from "../helpers/wait.js";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("socket.io server down across a token expiry", () => {
  it("reconnects to the returned server with a fresh token, not the expired one, and the outage's failed attempts do not count towards logout", async () => {
    const server = await restartableAuthServer();
    cleanups.push(() => server.stop());
    let refreshes = 0;
    let connectErrors = 0;
    const loggedOut: unknown[] = [];
    const client = createAuthedSocket(server.url, {
      getToken: () => null,
      refresh: async () => {
        refreshes++;
        return signToken({ ttlSec: 3 });
      },
      maxAuthRejections: 1,
      logger: null,
      environment: "none",
      socket: { transports: ["websocket"], reconnectionDelay: 100, reconnectionDelayMax: 300 },
      on: { logged_out: (payload) => loggedOut.push(payload) },
    });
    cleanups.push(() => client.close());
    client.socket.on("connect_error", () => {
      connectErrors++;
    });
    await client.waitFor("authenticated", { timeoutMs: 10_000 });
    const first = server.handshakes[0];
    expect(first?.verdict).toBe("accepted");

    await server.stop();
    const downAt = Date.now();
    await waitUntil(() => client.state !== "authenticated", { what: "the client to notice the outage" });
    // Down past the expiry of the token it held, with reconnect attempts failing all along.
    await waitUntil(() => Date.now() > (first?.expMs ?? 0) + 1000 && connectErrors >= 5, {
      timeoutMs: 10_000,
      what: "the outage to outlast the token's expiry",
    });
    expect(server.handshakes).toHaveLength(1);
    await server.start();
    const upAt = Date.now();
    await waitUntil(() => client.state === "authenticated", {
      timeoutMs: 5000,
      what: "authenticated on the returned server",
    });

    expect(loggedOut).toEqual([]);
    const after = server.handshakes.slice(1);
    expect(after.length).toBeGreaterThanOrEqual(1);
    // The returned server saw only fresh tokens: none expired, none the first (now expired) one.
    expect(after.map((h) => h.verdict)).toEqual(after.map(() => "accepted"));
    for (const h of after) {
      expect(h.token).not.toBe(first?.token);
      expect(h.expMs).toBeGreaterThan(h.at);
      expect(h.at).toBeGreaterThanOrEqual(upAt);
    }
    // About one refresh per 3-s lifetime, not one per failed attempt.
    const lifetimes = Math.ceil((Date.now() - downAt) / 3000) + 2;
    expect(refreshes).toBeLessThanOrEqual(lifetimes);
    expect(connectErrors).toBeGreaterThan(refreshes);
  });
});
