/**
 * While a restored session is re-checked (a revocation store that hangs, say), what the client sends is held — but
 * not without end: past the cap the session is refused, so holding recovery credentials cannot make the server retain
 * an unbounded number of packets.
 */
import { afterEach, describe, expect, it } from "vitest";
import { authenticate, jwtVerifier } from "../../src/server/index.js";
import { client, closeClients } from "../helpers/companion.js";
import { signToken, TEST_SECRET } from "../helpers/jwt.js";
import { startServer, type TestServer } from "../helpers/server.js";
import { nextEvent, waitUntil } from "../helpers/wait.js";

const servers: TestServer[] = [];
afterEach(async () => {
  closeClients();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

describe("the re-check of a restored session is bounded", () => {
  it("caps (or times out) the packets held during a pending recovery check", async () => {
    const server = await startServer({
      connectionStateRecovery: { maxDisconnectionDuration: 60_000, skipMiddlewares: true },
    });
    servers.push(server);
    let checks = 0;
    let arrived = 0;
    let released = 0;
    const reasons: string[] = [];
    // The app's handler runs before authenticate()'s listener: wrap socket.use to observe the gate.
    server.io.on("connection", (socket) => {
      socket.on("disconnect", (reason) => reasons.push(reason));
      const use = socket.use.bind(socket);
      socket.use = ((fn: Parameters<typeof use>[0]) =>
        use((packet, next) => {
          arrived += 1;
          fn(packet, (err) => {
            released += 1;
            next(err);
          });
        })) as typeof socket.use;
    });
    server.io.use(
      authenticate({
        verify: jwtVerifier({ secret: TEST_SECRET, algorithms: ["HS256"] }),
        // Handshake answers; the recovery check hangs like a store that is down.
        isRevoked: () => (++checks === 1 ? false : new Promise<boolean>(() => undefined)),
        // The tokenless path (stored claims + isRevoked) is the one under test here.
        requireTokenOnRecovery: false,
      }),
    );
    const socket = client(server.url, { token: await signToken() });
    await nextEvent(socket, "auth:ready");
    const tick = nextEvent(socket, "tick");
    server.io.emit("tick");
    await tick;
    socket.io.engine.close();
    await waitUntil(() => reasons.length === 1, { what: "session persisted" });
    socket.auth = {}; // no token: the stored claims + isRevoked decide
    socket.connect();
    await nextEvent(socket, "connect");

    const payload = "x".repeat(10_000);
    for (let i = 0; i < 3000; i += 1) socket.emit("chat", payload); // ~30 MB
    await waitUntil(() => arrived >= 3000 || reasons.length > 1, {
      what: "the flood to arrive",
      timeoutMs: 15_000,
    });
    // Actual: 3000 packets (~30 MB) retained, none released, the socket still connected.
    expect(released).toBe(0);
    expect(arrived - released).toBeLessThanOrEqual(1000);
  });
});
