/**
 * disconnectUser() ("log out everywhere") also reaches a device whose transport happens to be down: the session
 * socket.io keeps for its recovery is marked, and on return it gets auth:revoked instead of its old session.
 */
import { afterEach, describe, expect, it } from "vitest";
import { authenticate, countConnections, disconnectUser, jwtVerifier } from "../../src/server/index.js";
import { client, closeClients, record } from "../helpers/companion.js";
import { signToken, TEST_SECRET } from "../helpers/jwt.js";
import { startServer, type TestServer } from "../helpers/server.js";
import { nextEvent, waitUntil } from "../helpers/wait.js";

const servers: TestServer[] = [];
afterEach(async () => {
  closeClients();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

describe("disconnectUser vs sessions awaiting recovery", () => {
  it("a session persisted for recovery must not come back after disconnectUser()", async () => {
    const server = await startServer({
      connectionStateRecovery: { maxDisconnectionDuration: 60_000, skipMiddlewares: true },
    });
    servers.push(server);
    const reasons: string[] = [];
    server.io.on("connection", (socket) => socket.on("disconnect", (reason) => reasons.push(reason)));
    server.io.use(authenticate({ verify: jwtVerifier({ secret: TEST_SECRET, algorithms: ["HS256"] }) }));

    const socket = client(server.url, { token: await signToken({ subject: "alice" }) });
    await nextEvent(socket, "auth:ready");
    const tick = nextEvent(socket, "tick");
    server.io.emit("tick");
    await tick;
    socket.io.engine.close(); // flaky network: the session is persisted for recovery
    await waitUntil(() => reasons.length === 1, { what: "server-side disconnect" });

    disconnectUser(server.io, "alice", "logout"); // "log out everywhere"
    const events = record(socket);
    socket.connect(); // the client's normal automatic reconnect
    await waitUntil(() => events.some((e) => e.event === "auth:ready" || e.event === "auth:revoked"), {
      what: "auth:ready or auth:revoked",
    });
    // The device that was away learns it was logged out, exactly as the connected ones did.
    expect(events.map((e) => e.event)).not.toContain("auth:ready");
    expect(events.find((e) => e.event === "auth:revoked")?.payload).toEqual({ reason: "logout" });
    await waitUntil(() => !socket.connected, { what: "the disconnect" });
    expect(await countConnections(server.io, "alice")).toBe(0);
  });
});
