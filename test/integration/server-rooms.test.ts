/**
 * Room guards (`authenticate({ rooms })`): a join the claims do not allow is refused, and every in-band refresh
 * (and every restored session) re-checks the rooms the socket is in — rooms the new claims no longer allow are left
 * at once and the client is told (`auth:rooms_revoked`, the client's `rooms_left` event).
 */
import type { Socket as ServerSocket } from "socket.io";
import { afterEach, describe, expect, it } from "vitest";
import { type AuthedSocket, createAuthedSocket } from "../../src/index.js";
import {
  type AuthenticateOptions,
  authenticate,
  jwtVerifier,
  ProtocolEvent,
  userRoom,
} from "../../src/server/index.js";
import { type ClientSocket, client, closeClients, refresh } from "../helpers/companion.js";
import { signToken, TEST_SECRET } from "../helpers/jwt.js";
import { startServer, type TestServer } from "../helpers/server.js";
import { nextEvent, waitUntil } from "../helpers/wait.js";

/** What `nextEvent` needs; the client's typed `once` fits once its event names are widened. */
type Emitterish = Parameters<typeof nextEvent>[0];

const servers: TestServer[] = [];
const clients: AuthedSocket[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  closeClients();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

interface Claims {
  sub?: string;
  roles?: string[];
}

/** Admins may be in "admin"; everyone in "lobby" and in their own "user:<sub>" rooms; nobody anywhere else. */
const rooms = (claims: Claims, room: string): boolean =>
  room === "lobby" ||
  room === `user:${claims.sub}` ||
  (room === "admin" && claims.roles?.includes("admin") === true);

interface RoomServer extends TestServer {
  sockets: ServerSocket[];
}

/** A server whose sockets join whatever room they ask for with `join`, and answer `joined?` with their rooms. */
async function serve(
  options: Partial<AuthenticateOptions<Claims>> = {},
  serverOptions: Parameters<typeof startServer>[0] = {},
): Promise<RoomServer> {
  const server = await startServer(serverOptions);
  servers.push(server);
  const sockets: ServerSocket[] = [];
  server.io.use(
    authenticate<Claims>({
      verify: jwtVerifier({ secret: TEST_SECRET, algorithms: ["HS256"] }),
      rooms,
      ...options,
    }),
  );
  server.io.on("connection", (socket) => {
    sockets.push(socket);
    // As careless apps write it: whatever the client sent goes to socket.join.
    socket.on("join-any", (room: string, ack: (rooms: string[]) => void) => {
      void socket.join(room);
      ack([...socket.rooms]);
    });
    socket.on("join", async (room: unknown, ack: unknown) => {
      if (typeof room !== "string" || typeof ack !== "function") return;
      await socket.join(room);
      ack([...socket.rooms].sort());
    });
  });
  return Object.assign(server, { sockets });
}

/** An authed-socket client of the server at `url`, once authenticated; `token` is read at every call. */
async function authedClient(url: string, token: () => string): Promise<AuthedSocket> {
  const c = createAuthedSocket(url, {
    getToken: token,
    refresh: async () => token(),
    logger: null,
    socket: { transports: ["websocket"], forceNew: true },
  });
  clients.push(c);
  await c.waitFor("authenticated", { timeoutMs: 5000 });
  return c;
}

function join(socket: ClientSocket | AuthedSocket["socket"], room: string): Promise<string[]> {
  return (socket as ClientSocket).timeout(5000).emitWithAck("join", room) as Promise<string[]>;
}

const admin = (sub = "alice") => signToken({ subject: sub, ttlSec: 600, claims: { roles: ["admin"] } });
const plain = (sub = "alice") => signToken({ subject: sub, ttlSec: 600, claims: { roles: [] } });

describe("room guards: joining", () => {
  it("joins a room the claims allow and refuses one they do not, without throwing", async () => {
    const server = await serve();
    const socket = client(server.url, { token: await plain() });
    await nextEvent(socket, "auth:ready");
    const id = server.sockets[0]?.id as string;

    expect(await join(socket, "lobby")).toEqual([id, "lobby", userRoom("alice")].sort());
    // "admin" needs the admin role: the join is refused, the socket keeps its other rooms and the connection.
    expect(await join(socket, "admin")).toEqual([id, "lobby", userRoom("alice")].sort());
    expect(socket.connected).toBe(true);
  });

  it("filters a server-side socketsJoin too, which goes through socket.join", async () => {
    const server = await serve();
    const socket = client(server.url, { token: await plain() });
    await nextEvent(socket, "auth:ready");
    server.io.in(userRoom("alice")).socketsJoin(["admin", "lobby"]);
    const serverSocket = server.sockets[0] as ServerSocket;
    await waitUntil(() => serverSocket.rooms.has("lobby"), { what: "the lobby join" });
    expect(serverSocket.rooms.has("admin")).toBe(false);
  });
});

describe("room guards: an in-band refresh re-checks every joined room", () => {
  it("a demoted admin leaves the admin room the moment the new token arrives, is told which rooms, and no longer receives them", async () => {
    const server = await serve();
    let next = await admin();
    const c = await authedClient(server.url, () => next);
    const serverSocket = server.sockets[0] as ServerSocket;
    await join(c.socket, "admin");
    await join(c.socket, "lobby");
    expect(serverSocket.rooms.has("admin")).toBe(true);

    const received: unknown[] = [];
    c.socket.on("secret" as never, ((payload: unknown) => received.push(payload)) as never);
    let connects = 0;
    c.socket.on("connect", () => {
      connects += 1;
    });
    const left = nextEvent<{ rooms: string[] }>(c as unknown as Emitterish, "rooms_left");
    const authenticated = nextEvent<{ via: string }>(c as unknown as Emitterish, "authenticated");

    next = await plain();
    await c.refresh();
    expect(await authenticated).toEqual(expect.objectContaining({ via: "in-band" }));
    expect(await left).toEqual({ rooms: ["admin"] });
    expect(serverSocket.rooms.has("admin")).toBe(false);
    expect(serverSocket.rooms.has("lobby")).toBe(true);
    expect(serverSocket.rooms.has(userRoom("alice"))).toBe(true);
    expect(serverSocket.rooms.has(serverSocket.id)).toBe(true);
    expect(c.socket.connected).toBe(true);
    expect(serverSocket.connected).toBe(true);

    // The admin room no longer reaches it; the lobby still does (sent after, so it arrives after the admin one would).
    server.io.to("admin").emit("secret", "for admins");
    server.io.to("lobby").emit("secret", "for everyone");
    await waitUntil(() => received.length > 0, { what: "the lobby message" });
    expect(received).toEqual(["for everyone"]);
    expect(connects).toBe(0);
  });

  it("sends auth:rooms_revoked before the ok ack, and nothing when every room is still allowed", async () => {
    const server = await serve();
    const socket = client(server.url, { token: await admin() });
    await nextEvent(socket, "auth:ready");
    await join(socket, "admin");
    const order: string[] = [];
    socket.on(ProtocolEvent.RoomsRevoked, (payload: unknown) => order.push(JSON.stringify(payload)));

    expect(await refresh(socket, { token: await admin() })).toEqual(expect.objectContaining({ ok: true }));
    expect(order).toEqual([]);

    const ack = await refresh(socket, { token: await plain() });
    order.push("ack");
    expect(ack).toEqual(expect.objectContaining({ ok: true }));
    expect(order).toEqual(['{"rooms":["admin"]}', "ack"]);
  });

  it("a promoted user is not joined to the admin room by the refresh", async () => {
    const server = await serve();
    const socket = client(server.url, { token: await plain() });
    await nextEvent(socket, "auth:ready");
    expect(await join(socket, "admin")).not.toContain("admin");

    expect(await refresh(socket, { token: await admin() })).toEqual(expect.objectContaining({ ok: true }));
    const serverSocket = server.sockets[0] as ServerSocket;
    expect(serverSocket.rooms.has("admin")).toBe(false);
    // Now allowed: joining works, on request only.
    expect(await join(socket, "admin")).toContain("admin");
  });
});

describe("room guards: restored sessions", () => {
  it("a session restored by connectionStateRecovery with a demoted token leaves the rooms it may no longer be in", async () => {
    const server = await serve(
      {},
      { connectionStateRecovery: { maxDisconnectionDuration: 60_000, skipMiddlewares: true } },
    );
    let token = await admin();
    const socket = client(server.url, { auth: {}, reconnection: true });
    socket.auth = (cb) => cb({ token });
    await nextEvent(socket, "auth:ready");
    await join(socket, "admin");
    await join(socket, "lobby");

    const left = nextEvent<{ rooms: string[] }>(socket, ProtocolEvent.RoomsRevoked);
    token = await plain();
    // A transport loss the server sees as such: the session is kept for recovery.
    socket.io.engine.close();
    await waitUntil(() => server.sockets.length === 2, { what: "the restored session" });
    const restored = server.sockets[1] as ServerSocket;
    expect(restored.recovered).toBe(true);
    expect(await left).toEqual({ rooms: ["admin"] });
    expect(restored.rooms.has("admin")).toBe(false);
    expect(restored.rooms.has("lobby")).toBe(true);
  });
});

describe("room guards: what was sent while away", () => {
  it.each([true, false])(
    "a restored session (skipMiddlewares: %s) that missed messages and lost a room is cut, not restored: nothing of that room is replayed",
    async (skipMiddlewares) => {
      const server = await serve(
        {},
        { connectionStateRecovery: { maxDisconnectionDuration: 60_000, skipMiddlewares } },
      );
      let token = await admin();
      const socket = client(server.url, { auth: {}, reconnection: true });
      socket.auth = (cb) => cb({ token });
      await nextEvent(socket, "auth:ready");
      await join(socket, "admin");
      await join(socket, "lobby");
      const received: unknown[] = [];
      socket.on("secret", (payload: unknown) => received.push(payload));

      token = await plain();
      const gone = nextEvent(server.sockets[0] as ServerSocket, "disconnect");
      const expired = nextEvent(socket, "auth:expired");
      socket.io.engine.close();
      await gone;
      // While it is away: one message it may no longer see, one it may.
      server.io.to("admin").emit("secret", "for admins");
      server.io.to("lobby").emit("secret", "for everyone");
      // The missed packets come without their rooms and cannot be sorted: the session is cut, not restored.
      await expired;
      await waitUntil(() => !socket.connected, { what: "the cut" });
      expect(received).toEqual([]);

      // Its next connection is never in the admin room and is never handed what was sent there.
      socket.connect();
      await nextEvent(socket, "auth:ready");
      const next = server.sockets[server.sockets.length - 1] as ServerSocket;
      expect(next.rooms.has("admin")).toBe(false);
      server.io.to(userRoom("alice")).emit("secret", "after");
      await waitUntil(() => received.includes("after"), { what: "the message sent after the return" });
      expect(received).not.toContain("for admins");
    },
  );
});

describe("room guards: failing closed", () => {
  it("a guard that throws or answers with a promise refuses the join; the socket and the server stay up", async () => {
    const server = await serve({
      rooms: (_claims, room) => {
        if (room === "throws") throw new Error("guard bug");
        if (room === "async") return Promise.resolve(true) as unknown as boolean;
        return room === "lobby";
      },
    });
    const socket = client(server.url, { token: await plain() });
    await nextEvent(socket, "auth:ready");
    expect(await join(socket, "throws")).not.toContain("throws");
    expect(await join(socket, "async")).not.toContain("async");
    expect(await join(socket, "lobby")).toContain("lobby");
  });

  it("a room that is not a string (a client sent a number) is refused, not thrown", async () => {
    const server = await serve({ rooms: () => true });
    const socket = client(server.url, { token: await plain() });
    await nextEvent(socket, "auth:ready");
    const rooms = (await socket.timeout(5000).emitWithAck("join-any", 42)) as unknown[];
    expect(rooms).not.toContain(42);
    expect(await join(socket, "lobby")).toContain("lobby");
  });

  it("rejects a `rooms` option that is not a function, naming it", () => {
    expect(() =>
      authenticate({
        verify: jwtVerifier({ secret: TEST_SECRET, algorithms: ["HS256"] }),
        rooms: "admin" as never,
      }),
    ).toThrow(/`rooms` must be a function/);
  });
});

describe("rooms_left on the client", () => {
  it("emits rooms_left only for a bounded array of strings; other payloads are ignored", async () => {
    const server = await serve();
    const token = await plain();
    const c = await authedClient(server.url, () => token);
    const seen: unknown[] = [];
    c.on("rooms_left", (payload) => seen.push(payload));
    const serverSocket = server.sockets[0] as ServerSocket;
    for (const payload of [
      null,
      { rooms: "admin" },
      { rooms: [1, 2] },
      { rooms: Array.from({ length: 257 }, (_, i) => `r${i}`) },
    ])
      serverSocket.emit(ProtocolEvent.RoomsRevoked, payload);
    serverSocket.emit(ProtocolEvent.RoomsRevoked, { rooms: ["admin"] });
    // Delivered in order: once the valid one is seen, every malformed one before it has been handled.
    await waitUntil(() => seen.length > 0, { what: "rooms_left" });
    expect(seen).toEqual([{ rooms: ["admin"] }]);
    expect(c.state).toBe("authenticated");
  });
});
