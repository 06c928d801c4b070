/**
 * Client and companion together, over real sockets with real JWTs: rotation in band with no downtime and no lost
 * acknowledgement, and revocation that ends the session for good.
 */
import { afterEach, expect, it } from "vitest";
import { type AuthedSocket, type AuthedSocketEvents, createAuthedSocket } from "../../src/index.js";
import { authenticate, disconnectUser, jwtVerifier } from "../../src/server/index.js";
import { signToken, TEST_SECRET } from "../helpers/jwt.js";
import { startServer, type TestServer } from "../helpers/server.js";
import { waitUntil } from "../helpers/wait.js";

const clients: AuthedSocket[] = [];
const servers: TestServer[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
});

async function companionServer() {
  const server = await startServer();
  servers.push(server);
  let handshakes = 0;
  let refused = 0;
  const guard = authenticate({ verify: jwtVerifier({ secret: TEST_SECRET, algorithms: ["HS256"] }) });
  server.io.use((socket, next) =>
    guard(socket, (err?: Error) => {
      handshakes++;
      if (err) refused++;
      next(err);
    }),
  );
  server.io.on("connection", (socket) => {
    socket.on("echo", (n: unknown, ack: unknown) => {
      if (typeof ack === "function") ack(n);
    });
  });
  return { ...server, handshakes: () => handshakes, refused: () => refused };
}

it("2-second tokens over 12 rotations: no disconnect, no refused handshake, every acknowledgement arrives", async () => {
  const server = await companionServer();
  const events: AuthedSocketEvents["authenticated"][] = [];
  let disconnects = 0;
  const client = createAuthedSocket(server.url, {
    // 2 s, not 1: with whole-second claims a "1-second" token may have a few ms to live on arrival, and on a loaded
    // two-core CI machine (Chromium suites alongside) the first handshake or a rotation then lands after expiry.
    refresh: () => signToken({ subject: "e2e", ttlSec: 2 }),
    logger: null,
    on: { authenticated: (e) => events.push(e) },
  });
  clients.push(client);
  client.socket.on("disconnect", () => void disconnects++);
  await client.waitFor("authenticated", { timeoutMs: 5000 });

  let sent = 0;
  let acked = 0;
  const failures: unknown[] = [];
  const pending = new Set<Promise<void>>();
  const ticker = setInterval(() => {
    const n = ++sent;
    const p = client.socket
      .timeout(5000)
      .emitWithAck("echo", n)
      .then(
        (back: unknown) => {
          if (back === n) acked++;
          else failures.push(`wrong echo ${String(back)} for ${n}`);
        },
        (error: unknown) => void failures.push(error),
      )
      .finally(() => pending.delete(p));
    pending.add(p);
  }, 50);
  try {
    await waitUntil(() => events.filter((e) => e.via === "in-band").length >= 12, {
      what: "12 in-band rotations",
      timeoutMs: 50_000,
    });
  } finally {
    clearInterval(ticker);
  }
  await Promise.allSettled([...pending]);

  expect(disconnects).toBe(0);
  expect(server.handshakes()).toBe(1);
  expect(server.refused()).toBe(0);
  expect(events.filter((e) => e.via === "handshake")).toHaveLength(1);
  expect(failures).toEqual([]);
  expect(acked).toBe(sent);
  // Emits ran across the whole run (2-s tokens, whole-second claims: 12 rotations take 10–18 s).
  expect(sent).toBeGreaterThan(60);
}, 60_000);

it("revocation: logged_out(revoked) and no further handshake from that client", async () => {
  const server = await companionServer();
  const client = createAuthedSocket(server.url, {
    refresh: () => signToken({ subject: "mallory" }),
    logger: null,
  });
  clients.push(client);
  await client.waitFor("authenticated", { timeoutMs: 5000 });
  const out = client.waitFor("logged_out", { timeoutMs: 5000 });
  disconnectUser(server.io, "mallory", "account suspended");
  const { reason, error } = await out;
  expect(reason).toBe("revoked");
  expect(error?.message).toContain("account suspended");
  const handshakesAtRevoke = server.handshakes();

  // Barrier: another client on the same server completes a handshake and a manual in-band rotation.
  const other = createAuthedSocket(server.url, {
    refresh: () => signToken({ subject: "bob" }),
    logger: null,
  });
  clients.push(other);
  await other.waitFor("authenticated", { timeoutMs: 5000 });
  // Refreshing right after the handshake, before auth:ready has arrived: the new token still goes in band, as soon
  // as the server advertises it. (waitFor would resolve at once: `other` is already authenticated.)
  const rotated = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no in-band rotation within 3 s")), 3000);
    other.once("authenticated", (e) => {
      clearTimeout(timer);
      resolve(e.via);
    });
  });
  await other.refresh();
  expect(await rotated).toBe("in-band");
  expect(server.handshakes()).toBe(handshakesAtRevoke + 1);
  expect(client.state).toBe("logged_out");
  expect(client.socket.active).toBe(false);
});
