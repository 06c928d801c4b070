import { jwtVerify } from "jose";
import type { Socket as ServerSocket } from "socket.io";
import { afterEach, describe, expect, it } from "vitest";
import { type AuthedSocket, createAuthedSocket } from "../../src/index.js";
import { authenticate, jwtVerifier } from "../../src/server/index.js";
import { signToken, TEST_SECRET } from "../helpers/jwt.js";
import { startServer, type TestServer } from "../helpers/server.js";
import { nextEvent, waitUntil } from "../helpers/wait.js";

const clients: AuthedSocket[] = [];
const servers: TestServer[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A server with connectionStateRecovery; each user joins `user:<sub>` on a fresh (not restored) connection. */
async function serve(skipMiddlewares: boolean, companion: boolean) {
  const server = await startServer({
    connectionStateRecovery: { maxDisconnectionDuration: 60_000, skipMiddlewares },
  });
  servers.push(server);
  if (companion) {
    server.io.use(authenticate({ verify: jwtVerifier({ secret: TEST_SECRET, algorithms: ["HS256"] }) }));
  } else {
    server.io.use((socket, next) => {
      const token = (socket.handshake.auth as { token?: unknown }).token;
      if (typeof token !== "string") return next(new Error("unauthorized"));
      jwtVerify(token, TEST_SECRET).then(
        ({ payload }) => {
          socket.data.auth = { subject: payload.sub };
          next();
        },
        () => next(new Error("unauthorized")),
      );
    });
  }
  const connections: ServerSocket[] = [];
  server.io.on("connection", (socket) => {
    connections.push(socket);
    if (!socket.recovered) socket.join(`user:${(socket.data.auth as { subject: string }).subject}`);
  });
  return Object.assign(server, { connections });
}

describe("a recovery session never outlives its user", () => {
  for (const skipMiddlewares of [true, false])
    for (const companion of [true, false])
      it(`bob logging in after alice on one client gets none of alice's session (skipMiddlewares ${skipMiddlewares}, ${companion ? "companion" : "plain io.use"})`, async () => {
        const s = await serve(skipMiddlewares, companion);
        let token = await signToken({ subject: "alice" });
        const client = createAuthedSocket(s.url, {
          getToken: () => token,
          refresh: () => token,
          logger: null,
          socket: { reconnectionDelay: 10, reconnectionDelayMax: 20 },
        });
        clients.push(client);
        const loggedOut: unknown[] = [];
        client.on("logged_out", (e) => loggedOut.push(e));
        await client.waitFor("authenticated", { timeoutMs: 5000 });

        // A transport blip that socket.io recovers: the client now holds alice's session id and offset.
        const tick = nextEvent(client.socket, "tick");
        s.io.emit("tick", 1);
        await tick;
        const before = s.connections.length;
        client.socket.io.engine.close();
        await waitUntil(() => s.connections.length > before && client.socket.connected, {
          what: "the recovered connection",
        });
        expect(s.connections.at(-1)?.recovered).toBe(true);

        client.logout();
        token = await signToken({ subject: "bob" });
        const count = s.connections.length;
        client.connect();
        await client.waitFor("authenticated", { timeoutMs: 5000 });
        await waitUntil(() => s.connections.length > count, { what: "bob's connection" });
        const bob = s.connections.at(-1) as ServerSocket;

        expect(bob.recovered).toBe(false);
        expect((bob.data.auth as { subject: string }).subject).toBe("bob");
        expect([...bob.rooms]).not.toContain("user:alice");
        const received: unknown[] = [];
        client.socket.on("for-alice", (m: unknown) => received.push(m));
        const control = nextEvent(client.socket, "for-bob");
        s.io.to("user:alice").emit("for-alice", "secret");
        s.io.to("user:bob").emit("for-bob", "hello");
        await control;
        expect(received).toEqual([]);
        expect(loggedOut.filter((e) => (e as { reason: string }).reason !== "logout")).toEqual([]);
        expect(client.state).toBe("authenticated");
      });
});
