/**
 * When socket.io's Manager gives up (`reconnectionAttempts` exhausted → `reconnect_failed`), the socket stays
 * `active` but nothing is scheduled any more: the client must say so (idle) rather than claim to be connecting.
 */
import { afterEach, expect, it } from "vitest";
import { type AuthedSocket, createAuthedSocket } from "../../src/index.js";
import { signToken } from "../helpers/jwt.js";
import { startServer } from "../helpers/server.js";

const clients: AuthedSocket[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

it("after the Manager gave up reconnecting (reconnectionAttempts), the client is idle and connect() tries again", async () => {
  const server = await startServer();
  const { url } = server;
  await server.close(); // nothing listens on this port any more
  const states: string[] = [];
  const client = createAuthedSocket(url, {
    getToken: () => signToken({ ttlSec: 600 }),
    refresh: () => signToken({ ttlSec: 600 }),
    logger: null,
    socket: { reconnectionAttempts: 2, reconnectionDelay: 50, reconnectionDelayMax: 50 },
    on: { state: ({ to }) => states.push(to) },
  });
  clients.push(client);
  const failed = new Promise<void>((resolve) => client.socket.io.once("reconnect_failed", () => resolve()));
  await failed; // socket.io gave up: nothing will ever retry by itself
  expect(client.state).toBe("idle");
  expect(states.at(-1)).toBe("idle");
  client.connect();
  expect(client.state).toBe("connecting");
});

it("a server that never answers the handshake (a middleware that never calls next): after socket.timeout the client warns and tries again", async () => {
  const server = await startServer();
  let handshakes = 0;
  server.io.use((_socket, next) => {
    // The first handshake hangs, as behind a middleware with a forgotten next() or a connect handler that threw.
    if (++handshakes > 1) next();
  });
  const warnings: string[] = [];
  const states: string[] = [];
  const client = createAuthedSocket(server.url, {
    refresh: () => signToken({ ttlSec: 600 }),
    logger: { warn: (message: string) => warnings.push(message) },
    // socket.io's `timeout` also bounds opening the transport: 400 ms was too short for that beside the Chromium
    // suites on a two-core machine (a transport timeout then retried before the handshake wait ran out).
    socket: { timeout: 2000 },
    retry: { baseDelayMs: 50, maxDelayMs: 50 },
    on: { state: ({ to }) => states.push(to) },
  });
  clients.push(client);
  try {
    await client.waitFor("authenticated", { timeoutMs: 8000 });
    expect({ handshakes, states }).toEqual({
      handshakes: 2,
      states: ["connecting", "reconnecting", "connecting", "authenticated"],
    });
    expect(warnings).toEqual([
      "authed-socket: no answer to the handshake in 2000 ms (socket.timeout); retrying",
    ]);
  } finally {
    client.close();
    await server.close();
  }
});
