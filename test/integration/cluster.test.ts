import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  authenticate,
  countConnections,
  disconnectUser,
  jwtVerifier,
  userRoom,
} from "../../src/server/index.js";
import { client, closeClients, record } from "../helpers/companion.js";
import { signToken, TEST_SECRET } from "../helpers/jwt.js";
import { REDIS_INSTALL_HINT, type RedisServer, redisServerAvailable, startRedis } from "../helpers/redis.js";
import { startServer, type TestServer } from "../helpers/server.js";
import { needsProgram } from "../helpers/system-program.js";
import { nextEvent, waitUntil } from "../helpers/wait.js";

const need = needsProgram("cluster.test.ts", "redis-server", redisServerAvailable(), REDIS_INSTALL_HINT);

type RedisClient = ReturnType<typeof createClient>;

describe.skipIf(need.skip)("cluster: two nodes joined by @socket.io/redis-adapter", () => {
  let redis: RedisServer;
  const clients: RedisClient[] = [];
  const nodes: TestServer[] = [];

  async function startNode(): Promise<TestServer> {
    const pub = createClient({ url: redis.url });
    const sub = pub.duplicate();
    for (const redisClient of [pub, sub]) {
      // The suite stops redis at the end; a late reconnect error must not fail the run.
      redisClient.on("error", () => undefined);
      clients.push(redisClient);
    }
    await Promise.all([pub.connect(), sub.connect()]);
    const node = await startServer({ adapter: createAdapter(pub, sub, { requestsTimeout: 3000 }) });
    node.io.use(authenticate({ verify: jwtVerifier({ secret: TEST_SECRET, algorithms: ["HS256"] }) }));
    nodes.push(node);
    return node;
  }

  beforeAll(async () => {
    need.requireIt();
    redis = await startRedis();
  });

  afterAll(async () => {
    closeClients();
    await Promise.all(nodes.map((node) => node.close()));
    await Promise.all(clients.map((redisClient) => redisClient.quit().catch(() => undefined)));
    await redis?.stop();
  });

  it("counts a user's sockets on both nodes from either node, and disconnectUser on A cuts the socket on B", async () => {
    const [nodeA, nodeB] = [await startNode(), await startNode()];
    if (!nodeA || !nodeB) throw new Error("nodes did not start");
    const onA = client(nodeA.url, { token: await signToken({ subject: "alice" }) });
    const onB = client(nodeB.url, { token: await signToken({ subject: "alice" }) });
    const bobOnB = client(nodeB.url, { token: await signToken({ subject: "bob" }) });
    await Promise.all([onA, onB, bobOnB].map((socket) => nextEvent(socket, "auth:ready")));

    expect(await countConnections(nodeA.io, "alice")).toBe(2);
    expect(await countConnections(nodeB.io, "alice")).toBe(2);
    expect(await countConnections(nodeA.io, "bob")).toBe(1);

    // The user room spans the cluster.
    const notes = Promise.all([nextEvent(onA, "note"), nextEvent(onB, "note")]);
    nodeA.io.to(userRoom("alice")).emit("note", "from A");
    expect(await notes).toEqual(["from A", "from A"]);

    const logA = record(onA);
    const logB = record(onB);
    const logBob = record(bobOnB);
    disconnectUser(nodeA.io, "alice", "password_changed");
    await waitUntil(() => logA.length === 2 && logB.length === 2, { what: "both of alice's sockets cut" });
    const expected = [
      { event: "auth:revoked", payload: { reason: "password_changed" } },
      { event: "disconnect", payload: "io server disconnect" },
    ];
    expect(logA).toEqual(expected);
    expect(logB).toEqual(expected);
    expect(logBob).toEqual([]);
    expect(bobOnB.connected).toBe(true);

    await waitUntil(() => nodeB.io.of("/").sockets.size === 1, { what: "node B to drop alice" });
    expect(await countConnections(nodeB.io, "alice")).toBe(0);
    expect(await countConnections(nodeA.io, "alice")).toBe(0);
    expect(await countConnections(nodeA.io, "bob")).toBe(1);
  });
});
