/**
 * logout() drops what was emitted while disconnected — also with socket.io-client's `retries` option, where emits wait
 * in a queue of their own that survives a disconnect: an emit made in user 1's session must never be delivered in
 * user 2's session after logout() + connect().
 */
import { jwtVerify } from "jose";
import { afterEach, expect, it } from "vitest";
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

async function chatServer() {
  const server = await startServer();
  servers.push(server);
  const chats: { sub: string; text: string }[] = [];
  server.io.use(async (socket, next) => {
    try {
      const { payload } = await jwtVerify(
        String((socket.handshake.auth as { token?: string }).token),
        TEST_SECRET,
      );
      socket.data.sub = payload.sub;
      next();
    } catch {
      next(new Error("Invalid or expired token"));
    }
  });
  server.io.on("connection", (socket) => {
    socket.on("chat", (text: string, ack?: (ok: boolean) => void) => {
      chats.push({ sub: socket.data.sub as string, text });
      ack?.(true);
    });
  });
  return { server, chats };
}

async function run(socketOptions: Record<string, unknown>) {
  const { server, chats } = await chatServer();
  let user = "user-1";
  const client = createAuthedSocket(server.url, {
    getToken: () => signToken({ subject: user, ttlSec: 600 }),
    refresh: () => signToken({ subject: user, ttlSec: 600 }),
    logger: null,
    socket: socketOptions,
  });
  clients.push(client);
  await client.waitFor("authenticated", { timeoutMs: 5000 });
  // The network drops; user 1 types a message while the client is reconnecting, then signs out.
  for (const s of server.io.sockets.sockets.values()) s.conn.close();
  await waitUntil(() => !client.socket.connected, { what: "the drop" });
  client.socket.emit("chat", "private note of user-1");
  client.logout();
  // User 2 signs in on the same client.
  user = "user-2";
  client.connect();
  await client.waitFor("authenticated", { timeoutMs: 5000 });
  // Barrier: a message of user 2, acknowledged; anything queued before it on this connection arrived before it.
  await client.socket.timeout(5000).emitWithAck("chat", "barrier");
  return chats.filter((c) => c.text !== "barrier");
}

it("control: without `retries`, an emit buffered in user 1's session is dropped by logout()", async () => {
  expect(await run({})).toEqual([]);
});

it("with `retries`, an emit queued in user 1's session is not delivered in user 2's session", async () => {
  expect(await run({ retries: 2, ackTimeout: 1000 })).toEqual([]);
});
