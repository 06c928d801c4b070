import type { Socket as ServerSocket } from "socket.io";
import { afterEach, describe, expect, it } from "vitest";
import {
  type AuthenticateOptions,
  type AuthRejection,
  authenticate,
  guardRecovered,
  jwtVerifier,
  type SocketMiddleware,
} from "../../src/server/index.js";
import {
  type ClientSocket,
  client,
  closeClients,
  connected,
  disconnected,
  manualClock,
  record,
  refresh,
} from "../helpers/companion.js";
import { signToken, TEST_SECRET } from "../helpers/jwt.js";
import { startServer, type TestServer } from "../helpers/server.js";
import { nextEvent, waitUntil } from "../helpers/wait.js";

const servers: TestServer[] = [];

afterEach(async () => {
  closeClients();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

interface RecoveryServer extends TestServer {
  /** Every server-side socket that connected, recovered or not. */
  connections: ServerSocket[];
  /** Server-side disconnect reasons, in order. */
  reasons: string[];
  rejections: AuthRejection[];
  auth: SocketMiddleware;
}

async function serve(
  options: Partial<AuthenticateOptions> = {},
  skipMiddlewares = true,
): Promise<RecoveryServer> {
  const server = await startServer({
    connectionStateRecovery: { maxDisconnectionDuration: 60_000, skipMiddlewares },
  });
  servers.push(server);
  const connections: ServerSocket[] = [];
  const reasons: string[] = [];
  const rejections: AuthRejection[] = [];
  const auth = authenticate({
    verify: jwtVerifier({ secret: TEST_SECRET, algorithms: ["HS256"] }),
    onReject: (rejection) => rejections.push(rejection),
    ...options,
  });
  server.io.use(auth);
  server.io.on("connection", (socket) => {
    connections.push(socket);
    socket.on("disconnect", (reason) => reasons.push(reason));
  });
  return Object.assign(server, { connections, reasons, rejections, auth });
}

/**
 * Drops the client's transport the way a flaky network does, waits until the server has stored the session, lets
 * the test change the world meanwhile, then reconnects by hand and asserts that socket.io recovered the session.
 */
async function dropAndRecover(
  server: RecoveryServer,
  socket: ClientSocket,
  meanwhile: () => void | Promise<void> = () => undefined,
): Promise<void> {
  // socket.io recovers only from a known offset, which the client learns from a broadcast.
  const tick = nextEvent(socket, "tick");
  server.io.emit("tick");
  await tick;
  const before = server.reasons.length;
  socket.io.engine.close();
  await waitUntil(() => server.reasons.length > before, { what: "the server-side disconnect" });
  expect(server.reasons.at(-1)).toBe("transport close");
  await meanwhile();
  socket.connect();
  await connected(socket);
  expect(socket.recovered).toBe(true);
}

describe("sessions restored by connectionStateRecovery", () => {
  it("restores socket.data.auth, sends auth:ready again, re-arms the watchdog and serves auth:refresh", async () => {
    const clock = manualClock();
    const server = await serve({ clock, expiringBeforeMs: 1000, graceMs: 1000 });
    const token = await signToken({ subject: "alice", ttlSec: 60 });
    const socket = client(server.url, { token });
    await nextEvent(socket, "auth:ready");
    const readyAgain = nextEvent(socket, "auth:ready");
    await dropAndRecover(server, socket);
    await readyAgain;

    const recovered = server.connections.at(-1);
    expect(recovered?.recovered).toBe(true);
    expect(recovered?.id).toBe(server.connections[0]?.id);
    // socket.io 4.8 hands the old socket.data to the restored socket.
    expect(recovered?.data.auth).toMatchObject({ subject: "alice" });
    expect(clock.pending()).toBe(2);

    expect(
      await refresh(socket, { token: await signToken({ subject: "alice", ttlSec: 120 }) }),
    ).toMatchObject({
      ok: true,
    });
    const gone = disconnected(socket);
    clock.advance(10 * 60_000);
    expect(await gone).toBe("io server disconnect");
  });

  it("cuts a recovered session whose token expired meanwhile: auth:expired, then disconnect", async () => {
    const clock = manualClock();
    const server = await serve({ clock, graceMs: 1000 });
    const token = await signToken({ ttlSec: 60 });
    const socket = client(server.url, { token });
    await nextEvent(socket, "auth:ready");
    const events = record(socket);
    await dropAndRecover(server, socket, () => clock.advance(61_000 + 1000));
    await waitUntil(() => events.length === 4, { what: "auth:expired and the disconnect" });
    expect(events.map((entry) => entry.event)).toEqual(["tick", "disconnect", "auth:expired", "disconnect"]);
    expect(events[3]?.payload).toBe("io server disconnect");
    expect(server.rejections).toEqual([
      expect.objectContaining({ phase: "recovery", code: "TOKEN_EXPIRED" }),
    ]);
    expect(clock.pending()).toBe(0);
  });

  it("keeps a recovered session whose old token expired when the reconnect presents a fresh one, with what it missed", async () => {
    const clock = manualClock();
    const server = await serve({ clock, graceMs: 1000 });
    const socket = client(server.url, { token: await signToken({ subject: "alice", ttlSec: 60 }) });
    await nextEvent(socket, "auth:ready");
    const events = record(socket);
    const fresh = await signToken({ subject: "alice", ttlSec: 3600 });
    await dropAndRecover(server, socket, async () => {
      clock.advance(61_000 + 1000);
      server.io.emit("missed", 42); // sent while the client was away: recovery delivers it
      socket.auth = { token: fresh }; // what authed-socket's client does at every reconnect
    });
    await waitUntil(
      () => events.some((e) => e.event === "missed") && events.some((e) => e.event === "auth:ready"),
      {
        what: "the missed event and auth:ready",
      },
    );
    expect(events.map((e) => e.event)).not.toContain("auth:expired");
    expect(events.find((e) => e.event === "missed")?.payload).toBe(42);
    const restored = server.connections.at(-1);
    expect(restored?.recovered).toBe(true);
    const expiresAt = (restored?.data.auth as { expiresAt: number } | undefined)?.expiresAt ?? 0;
    expect(expiresAt).toBeGreaterThan(clock.now() + 3_000_000);
    expect(server.rejections).toEqual([]);
    expect(socket.connected).toBe(true);
  });

  it("cuts a recovered session whose reconnect presents another user's token", async () => {
    const server = await serve();
    const socket = client(server.url, { token: await signToken({ subject: "alice" }) });
    await nextEvent(socket, "auth:ready");
    const events = record(socket);
    const mallory = await signToken({ subject: "mallory" });
    await dropAndRecover(server, socket, () => {
      socket.auth = { token: mallory };
    });
    await waitUntil(() => events.filter((e) => e.event === "disconnect").length === 2, { what: "the cut" });
    expect(events.map((e) => e.event)).toContain("auth:expired");
    expect(server.rejections).toEqual([
      expect.objectContaining({ phase: "recovery", code: "SUBJECT_MISMATCH" }),
    ]);
  });

  it("lets a recovered session in when the token expired but is still within the grace period", async () => {
    const clock = manualClock();
    const server = await serve({ clock, graceMs: 10_000 });
    const socket = client(server.url, { token: await signToken({ ttlSec: 60 }) });
    await nextEvent(socket, "auth:ready");
    const readyAgain = nextEvent(socket, "auth:ready");
    await dropAndRecover(server, socket, () => clock.advance(62_000));
    await readyAgain;
    expect(socket.connected).toBe(true);
  });

  it("cuts a recovered session revoked meanwhile with auth:revoked, holding its packets until the check is done", async () => {
    const revoked = new Set<string>();
    let answer: ((value: boolean) => void) | undefined;
    let checks = 0;
    const server = await serve({
      isRevoked: (claims) => {
        checks += 1;
        // The first check (handshake) answers at once; the recovery check waits for the test.
        if (checks === 1) return false;
        return new Promise<boolean>((resolve) => {
          answer = (value) => resolve(value || revoked.has(String(claims.sub)));
        });
      },
    });
    const chats: unknown[] = [];
    server.io.on("connection", (socket) => socket.on("chat", (text: unknown) => chats.push(text)));
    const socket = client(server.url, { token: await signToken({ subject: "alice" }) });
    await nextEvent(socket, "auth:ready");
    const events = record(socket);
    await dropAndRecover(server, socket, () => {
      revoked.add("alice");
    });
    socket.emit("chat", "sent while the server re-checks");
    await waitUntil(() => answer !== undefined, { what: "the recovery revocation check" });
    answer?.(false);
    await waitUntil(() => events.length === 4, { what: "auth:revoked and the disconnect" });
    expect(events.map((entry) => entry.event)).toEqual(["tick", "disconnect", "auth:revoked", "disconnect"]);
    expect(events[2]?.payload).toEqual({ reason: "revoked" });
    expect(chats).toEqual([]);
  });

  it("releases held packets once a recovered session passes the revocation check", async () => {
    let answer: ((value: boolean) => void) | undefined;
    let checks = 0;
    const server = await serve({
      isRevoked: () => {
        checks += 1;
        if (checks === 1) return false;
        return new Promise<boolean>((resolve) => {
          answer = resolve;
        });
      },
    });
    const chats: unknown[] = [];
    server.io.on("connection", (socket) => socket.on("chat", (text: unknown) => chats.push(text)));
    const socket = client(server.url, { token: await signToken() });
    await nextEvent(socket, "auth:ready");
    await dropAndRecover(server, socket);
    socket.emit("chat", "held");
    await waitUntil(() => answer !== undefined, { what: "the recovery revocation check" });
    expect(chats).toEqual([]);
    const readyAgain = nextEvent(socket, "auth:ready");
    answer?.(false);
    await readyAgain;
    await waitUntil(() => chats.length === 1, { what: "the held chat message" });
    expect(chats).toEqual(["held"]);
  });

  it("sends a recovered session through a new handshake (auth:expired) when the revocation store fails", async () => {
    let checks = 0;
    const server = await serve({
      isRevoked: () => {
        checks += 1;
        if (checks === 1) return false;
        throw new Error("store down");
      },
    });
    const socket = client(server.url, { token: await signToken() });
    await nextEvent(socket, "auth:ready");
    const expired = nextEvent(socket, "auth:expired");
    await dropAndRecover(server, socket);
    await expired;
    expect(server.rejections).toEqual([expect.objectContaining({ phase: "recovery", code: "UNAVAILABLE" })]);
  });

  it("re-runs the middleware when skipMiddlewares is false, with the token of the new handshake", async () => {
    const handshakes: unknown[] = [];
    const server = await serve(
      {
        verify: async (token: string) => {
          handshakes.push(token);
          return { sub: "u", exp: Math.floor(Date.now() / 1000) + 60 };
        },
      },
      false,
    );
    const socket = client(server.url, { token: "first" });
    await nextEvent(socket, "auth:ready");
    const events = record(socket);
    await dropAndRecover(server, socket, () => {
      socket.auth = { token: "second" };
    });
    await waitUntil(() => events.some((entry) => entry.event === "auth:ready"), { what: "auth:ready" });
    expect(handshakes).toEqual(["first", "second"]);
    expect(events.filter((entry) => entry.event === "auth:ready")).toHaveLength(1);
  });

  it("guardRecovered() installs the same check up front, and twice is harmless", async () => {
    const clock = manualClock();
    const server = await serve({ clock });
    guardRecovered(server.io, server.auth);
    guardRecovered(server.io, server.auth);
    const socket = client(server.url, { token: await signToken() });
    await nextEvent(socket, "auth:ready");
    const events = record(socket);
    await dropAndRecover(server, socket);
    await waitUntil(() => events.some((entry) => entry.event === "auth:ready"), { what: "auth:ready" });
    expect(events.filter((entry) => entry.event === "auth:ready")).toHaveLength(1);
    expect(clock.pending()).toBe(2);
  });

  it("guardRecovered() refuses a function that authenticate() did not make", async () => {
    const server = await serve();
    expect(() => guardRecovered(server.io, (_socket, next) => next())).toThrow(/returned by authenticate/);
  });
});
