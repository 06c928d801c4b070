import { Manager } from "socket.io-client";
import { afterEach, describe, expect, it } from "vitest";
import { type AuthenticateOptions, authenticate, jwtVerifier } from "../../src/server/index.js";
import {
  client,
  closeClients,
  connected,
  countingClock,
  disconnected,
  manualClock,
  record,
} from "../helpers/companion.js";
import { signToken, TEST_SECRET } from "../helpers/jwt.js";
import { startServer, type TestServer } from "../helpers/server.js";
import { nextEvent, waitUntil } from "../helpers/wait.js";

const MAX_DELAY = 2 ** 31 - 1;
const servers: TestServer[] = [];

afterEach(async () => {
  closeClients();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(options: Omit<AuthenticateOptions, "verify">): Promise<TestServer> {
  const server = await startServer();
  servers.push(server);
  server.io.use(
    authenticate({ verify: jwtVerifier({ secret: TEST_SECRET, algorithms: ["HS256"] }), ...options }),
  );
  return server;
}

function expOf(token: string): number {
  return (
    (JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()) as { exp: number }).exp * 1000
  );
}

describe("expiry watchdog", () => {
  it("sends auth:expiring before expiry, then auth:expired and disconnects after the grace period", async () => {
    const clock = manualClock();
    const server = await serve({ clock, expiringBeforeMs: 10_000, graceMs: 2000 });
    // Long enough that its last tenth (20 s) is more than expiringBeforeMs, so the option decides.
    const token = await signToken({ ttlSec: 200 });
    const expiresAt = expOf(token);
    const socket = client(server.url, { token });
    const events = record(socket);
    await nextEvent(socket, "auth:ready");
    expect(clock.pending()).toBe(2);

    clock.advance(expiresAt - 10_000 - clock.now() - 1);
    const expiring = nextEvent(socket, "auth:expiring");
    clock.advance(1);
    expect(await expiring).toEqual({ expiresAt });

    clock.advance(expiresAt + 2000 - clock.now() - 1);
    expect(socket.connected).toBe(true);
    const gone = disconnected(socket);
    clock.advance(1);
    expect(await gone).toBe("io server disconnect");
    expect(events.map((entry) => entry.event)).toEqual([
      "auth:ready",
      "auth:expiring",
      "auth:expired",
      "disconnect",
    ]);
    expect(events[2]?.payload).toEqual({});
    expect(clock.pending()).toBe(0);
  });

  it("enforces a real 2 s token on the system clock", async () => {
    const server = await serve({ expiringBeforeMs: 1500, graceMs: 100 });
    const socket = client(server.url, { token: await signToken({ ttlSec: 2 }) });
    const events = record(socket);
    await connected(socket);
    await waitUntil(() => events.some((entry) => entry.event === "disconnect"), {
      timeoutMs: 4000,
      what: "the expiry disconnect",
    });
    expect(events.map((entry) => entry.event)).toEqual([
      "auth:ready",
      "auth:expiring",
      "auth:expired",
      "disconnect",
    ]);
  });

  // A token shorter than expiringBeforeMs used to get auth:expiring the moment it arrived (12–16 ms after the
  // handshake of a 3-s token): a signal the client rightly ignored. It now comes in the token's last tenth, once.
  it("a token shorter than expiringBeforeMs gets auth:expiring once, in the last tenth of its lifetime", async () => {
    const clock = manualClock();
    const server = await serve({ clock, expiringBeforeMs: 120_000 });
    const socket = client(server.url, { token: await signToken({ ttlSec: 60 }) });
    const events = record(socket);
    await nextEvent(socket, "auth:ready");
    clock.advance(52_900);
    const probe = nextEvent(socket, "probe");
    server.io.emit("probe");
    await probe;
    expect(events.map((entry) => entry.event)).not.toContain("auth:expiring");
    const expiring = nextEvent(socket, "auth:expiring");
    clock.advance(1200);
    await expiring;
    clock.advance(3000);
    const after = nextEvent(socket, "probe");
    server.io.emit("probe");
    await after;
    expect(events.filter((entry) => entry.event === "auth:expiring")).toHaveLength(1);
  });

  it("arms no timer for a token without exp", async () => {
    const clock = manualClock();
    const server = await startServer();
    servers.push(server);
    server.io.use(authenticate({ verify: () => ({ sub: "u" }), clock }));
    const socket = client(server.url, { token: "opaque" });
    expect(await nextEvent(socket, "auth:ready")).toEqual({ expiresAt: null, inBand: true, version: 1 });
    expect(clock.pending()).toBe(0);
  });

  it("never asks setTimeout for more than 2^31-1 ms and chains long waits", async () => {
    const clock = manualClock();
    const server = await serve({ clock, expiringBeforeMs: 0, graceMs: 0 });
    const token = await signToken({ ttlSec: 60 * 24 * 3600 });
    const socket = client(server.url, { token });
    const events = record(socket);
    await nextEvent(socket, "auth:ready");
    expect(clock.delays.every((delay) => delay <= MAX_DELAY)).toBe(true);
    expect(clock.delays).toContain(MAX_DELAY);

    clock.advance(MAX_DELAY);
    expect(clock.pending()).toBe(2);
    expect(clock.delays.filter((delay) => delay === MAX_DELAY).length).toBeGreaterThanOrEqual(4);

    const gone = disconnected(socket);
    clock.advance(expOf(token) - clock.now());
    await gone;
    expect(events.map((entry) => entry.event)).toEqual([
      "auth:ready",
      "auth:expiring",
      "auth:expired",
      "disconnect",
    ]);
  });

  it("re-reads the clock when a timer fires late, instead of trusting the delay", async () => {
    const clock = manualClock();
    const server = await serve({ clock, expiringBeforeMs: 10_000, graceMs: 1000 });
    const token = await signToken({ ttlSec: 60 });
    const socket = client(server.url, { token });
    const events = record(socket);
    await nextEvent(socket, "auth:ready");
    // The machine slept through both instants: one jump fires both timers, in order.
    const gone = disconnected(socket);
    clock.advance(10 * 60_000);
    await gone;
    expect(events.map((entry) => entry.event)).toEqual([
      "auth:ready",
      "auth:expiring",
      "auth:expired",
      "disconnect",
    ]);
  });

  it("clears every timer when sockets disconnect (5k sockets, no timer left)", async () => {
    const clock = countingClock();
    const server = await startServer();
    servers.push(server);
    const auth = authenticate({ verify: jwtVerifier({ secret: TEST_SECRET, algorithms: ["HS256"] }), clock });
    // Dynamic namespaces let one connection carry thousands of sockets, each through the whole middleware.
    server.io.of(/^\/n\d+$/).use(auth);
    const token = await signToken({ ttlSec: 3600 });
    const manager = new Manager(server.url, { transports: ["websocket"], reconnection: false });
    const count = 5_000;
    let ready = 0;
    const sockets = Array.from({ length: count }, (_, index) => {
      const socket = manager.socket(`/n${index}`, { auth: { token } });
      socket.once("auth:ready", () => {
        ready += 1;
      });
      socket.connect();
      return socket;
    });
    await waitUntil(() => ready === count, {
      timeoutMs: 25_000,
      what: `${count} auth:ready events`,
      intervalMs: 20,
    });
    expect(clock.pending()).toBe(2 * count);

    // Some sockets leave one by one (a DISCONNECT packet each)...
    const leaving = 500;
    for (const socket of sockets.slice(0, leaving)) socket.disconnect();
    await waitUntil(() => clock.pending() === 2 * (count - leaving), {
      what: "timers of the leavers cleared",
    });
    // ...the rest lose their connection at once (socket.io-client's per-socket disconnect is O(n) on one Manager).
    manager.engine.close();
    await waitUntil(() => clock.pending() === 0, {
      timeoutMs: 10_000,
      what: "every timer cleared",
      intervalMs: 20,
    });
  }, 60_000);

  it("clears timers when the server closes the connection for another reason", async () => {
    const clock = countingClock();
    const server = await serve({ clock });
    const socket = client(server.url, { token: await signToken() });
    await nextEvent(socket, "auth:ready");
    expect(clock.pending()).toBe(2);
    server.io.disconnectSockets(true);
    await disconnected(socket);
    await waitUntil(() => clock.pending() === 0, { what: "timers cleared" });
  });
});
