/**
 * A session restored by connectionStateRecovery receives nothing — neither the packets it missed, nor what the
 * application's own `connection` handler sends, nor room broadcasts — until the companion has re-checked it. socket.io
 * writes the missed packets in the Socket constructor, before any middleware or listener, so the companion withholds
 * them at the adapter and releases them only on acceptance.
 */
import type { Socket as ServerSocket } from "socket.io";
import { afterEach, describe, expect, it } from "vitest";
import { authenticate, jwtVerifier, type SocketMiddleware, userRoom } from "../../src/server/index.js";
import {
  type ClientSocket,
  client,
  closeClients,
  manualClock,
  record,
  refused,
} from "../helpers/companion.js";
import { signToken, TEST_SECRET } from "../helpers/jwt.js";
import { startServer, type TestServer } from "../helpers/server.js";
import { nextEvent, waitUntil } from "../helpers/wait.js";

const servers: TestServer[] = [];
afterEach(async () => {
  closeClients();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(
  options: Partial<Parameters<typeof authenticate>[0]> = {},
  skipMiddlewares = true,
  onConnection?: (socket: ServerSocket) => void,
) {
  const server = await startServer({
    connectionStateRecovery: { maxDisconnectionDuration: 60_000, skipMiddlewares },
  });
  servers.push(server);
  const reasons: string[] = [];
  // Typical app: its connection handler is registered at start-up, i.e. before authenticate()'s lazy listener.
  server.io.on("connection", (socket) => {
    socket.on("disconnect", (reason) => reasons.push(reason));
    onConnection?.(socket);
  });
  const auth: SocketMiddleware = authenticate({
    verify: jwtVerifier({ secret: TEST_SECRET, algorithms: ["HS256"] }),
    ...options,
  });
  server.io.use(auth);
  return Object.assign(server, { reasons });
}

async function drop(server: Awaited<ReturnType<typeof serve>>, socket: ClientSocket): Promise<void> {
  const tick = nextEvent(socket, "tick");
  server.io.emit("tick");
  await tick;
  const before = server.reasons.length;
  socket.io.engine.close();
  await waitUntil(() => server.reasons.length > before, { what: "server-side disconnect" });
}

describe("a restored session receives nothing before its re-check", () => {
  it("a session revoked while away must not receive the packets it missed", async () => {
    const revoked = new Set<string>();
    const server = await serve({
      isRevoked: (claims) => revoked.has(String((claims as { sub?: unknown }).sub)),
    });
    const socket = client(server.url, { token: await signToken({ subject: "alice" }) });
    await nextEvent(socket, "auth:ready");
    const events = record(socket);
    await drop(server, socket);
    // Meanwhile: alice is revoked, and her user room gets a private message.
    revoked.add("alice");
    server.io.to(userRoom("alice")).emit("private", "salary slip");
    socket.connect();
    await waitUntil(() => events.some((e) => e.event === "auth:revoked"), { what: "auth:revoked" });
    // Expected: nothing but the revocation. Actual: "private" arrives first.
    expect(events.map((e) => e.event)).not.toContain("private");
  });

  it("a client holding only pid/offset (no token) of an expired session must not receive the missed packets", async () => {
    const clock = manualClock();
    const server = await serve({ clock, graceMs: 1000 });
    const socket = client(server.url, { token: await signToken({ subject: "alice", ttlSec: 60 }) });
    await nextEvent(socket, "auth:ready");
    const events = record(socket);
    await drop(server, socket);
    clock.advance(120_000); // the token is long dead
    server.io.to(userRoom("alice")).emit("private", "salary slip");
    socket.auth = {}; // no token at all: only the recovery credentials socket.io-client adds (pid, offset)
    socket.connect();
    await waitUntil(() => events.some((e) => e.event === "auth:expired"), { what: "auth:expired" });
    expect(events.map((e) => e.event)).not.toContain("private");
  });

  it("the app's connection handler must not serve a recovered session that is about to be refused", async () => {
    const revoked = new Set<string>();
    const server = await serve(
      { isRevoked: (claims) => revoked.has(String((claims as { sub?: unknown }).sub)) },
      true,
      (socket) => {
        // Common pattern: push the user's state on connect, trusting socket.data.auth.
        const auth = socket.data.auth as { subject: string } | undefined;
        if (auth) socket.emit("inbox", `inbox of ${auth.subject}`);
      },
    );
    const socket = client(server.url, { token: await signToken({ subject: "alice" }) });
    await nextEvent(socket, "inbox");
    const events = record(socket);
    await drop(server, socket);
    revoked.add("alice");
    socket.connect();
    await waitUntil(() => events.some((e) => e.event === "auth:revoked"), { what: "auth:revoked" });
    expect(events.map((e) => e.event)).not.toContain("inbox");
  });

  it("with skipMiddlewares: false, a refused handshake gets none of the missed packets", async () => {
    const revoked = new Set<string>();
    const server = await serve(
      { isRevoked: (claims) => revoked.has(String((claims as { sub?: unknown }).sub)) },
      false,
    );
    const socket = client(server.url, { token: await signToken({ subject: "alice" }) });
    await nextEvent(socket, "auth:ready");
    const raw: unknown[] = [];
    socket.io.on("packet", (packet: { type: number; data?: unknown }) => raw.push(packet.data));
    await drop(server, socket);
    revoked.add("alice");
    server.io.to(userRoom("alice")).emit("private", "salary slip");
    socket.connect();
    const refusal = await refused(socket);
    expect(refusal.data).toEqual({ code: "TOKEN_REVOKED" });
    expect(JSON.stringify(raw)).not.toContain("salary slip");
  });

  it("an accepted restored session gets what it missed, the app's emits and its rooms back", async () => {
    const server = await serve({ isRevoked: async () => false }, true, (socket) => {
      void socket.join("lobby");
      socket.emit("inbox", "hello");
    });
    const socket = client(server.url, { token: await signToken({ subject: "alice" }) });
    await nextEvent(socket, "inbox");
    const events = record(socket);
    await drop(server, socket);
    server.io.to(userRoom("alice")).emit("private", "while away");
    socket.connect();
    await waitUntil(() => events.some((e) => e.event === "auth:ready"), { what: "auth:ready" });
    expect(events.map((e) => e.event)).toEqual(["tick", "disconnect", "private", "inbox", "auth:ready"]);
    // Its rooms are back: a broadcast to the app's room reaches it.
    const lobby = nextEvent<string>(socket, "lobby-news");
    server.io.to("lobby").emit("lobby-news", "rooms restored");
    expect(await lobby).toBe("rooms restored");
  });
});
