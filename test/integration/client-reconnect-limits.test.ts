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
