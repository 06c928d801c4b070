/**
 * Revocation across a cluster: two socket.io servers joined by @socket.io/redis-adapter, sharing a
 * redisRevocationStore on a real redis-server. Revoke on node A → node B cuts the user's live sockets and refuses
 * the same token at a handshake, in band and on recovery. Also the Redis store's own contract (coverage, TTLs).
 */
import { type createAdapter, RedisAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  authenticate,
  jwtVerifier,
  type RevocationStore,
  redisRevocationStore,
  revokeSessions,
  type SocketMiddleware,
} from "../../src/server/index.js";
import { client, closeClients, disconnected, record, refresh, refused } from "../helpers/companion.js";
import { signToken, TEST_SECRET } from "../helpers/jwt.js";
import { REDIS_INSTALL_HINT, type RedisServer, redisServerAvailable, startRedis } from "../helpers/redis.js";
import { startServer, type TestServer } from "../helpers/server.js";
import { needsProgram } from "../helpers/system-program.js";
import { nextEvent, waitUntil } from "../helpers/wait.js";

const need = needsProgram(
  "server-revocation-cluster.test.ts",
  "redis-server",
  redisServerAvailable(),
  REDIS_INSTALL_HINT,
);

type RedisClient = ReturnType<typeof createClient>;

/**
 * @socket.io/redis-adapter does not keep sessions for connectionStateRecovery. With sticky sessions a device that
 * drops comes back to the node it left, so this adapter keeps that node's sessions in memory (and stamps broadcast
 * offsets, which the client must have seen to ask for recovery). It stands for any adapter that restores sessions.
 */
class RecoveringRedisAdapter extends RedisAdapter {
  private readonly kept = new Map<string, unknown>();
  private offset = 0;

  override persistSession(session: { pid: string }): void {
    this.kept.set(session.pid, session);
  }

  override async restoreSession(pid: string): Promise<never> {
    const session = this.kept.get(pid);
    this.kept.delete(pid);
    return (session ? { ...(session as object), missedPackets: [] } : null) as never;
  }

  override broadcast(packet: { type: number; id?: number; data: unknown[] }, opts: { flags?: object }): void {
    if (packet.type === 2 && packet.id === undefined && !(opts.flags as { volatile?: boolean })?.volatile)
      packet.data.push(String(++this.offset));
    super.broadcast(packet as never, opts as never);
  }
}

describe.skipIf(need.skip)("revocation across two nodes (redis-adapter + redisRevocationStore)", () => {
  let redis: RedisServer;
  const redisClients: RedisClient[] = [];
  const nodes: Array<TestServer & { auth: SocketMiddleware }> = [];
  let nodeA: TestServer & { auth: SocketMiddleware };
  let nodeB: TestServer & { auth: SocketMiddleware };
  let store: RevocationStore;
  let storeClient: RedisClient;

  async function connectedClient(): Promise<RedisClient> {
    const redisClient = createClient({ url: redis.url });
    // The suite stops redis at the end; a late reconnect error must not fail the run.
    redisClient.on("error", () => undefined);
    redisClients.push(redisClient);
    await redisClient.connect();
    return redisClient;
  }

  async function startNode(): Promise<TestServer & { auth: SocketMiddleware }> {
    const [pub, sub, data] = [await connectedClient(), await connectedClient(), await connectedClient()];
    // socket.io builds one adapter per namespace with `new`: a class bound to this node's clients.
    const Bound = class extends RecoveringRedisAdapter {
      constructor(nsp: unknown) {
        super(nsp, pub, sub, { requestsTimeout: 3000 });
      }
    };
    const node = await startServer({
      adapter: Bound as unknown as ReturnType<typeof createAdapter>,
      connectionStateRecovery: { maxDisconnectionDuration: 60_000, skipMiddlewares: true },
    });
    const auth = authenticate({
      // A tolerance, so a token minted "a second from now" (clear of a revocation made now) verifies.
      verify: jwtVerifier({ secret: TEST_SECRET, algorithms: ["HS256"], clockToleranceSec: 2 }),
      revocations: redisRevocationStore({ client: data }),
    });
    node.io.use(auth);
    const withAuth = Object.assign(node, { auth });
    nodes.push(withAuth);
    return withAuth;
  }

  beforeAll(async () => {
    need.requireIt();
    redis = await startRedis();
    nodeA = await startNode();
    nodeB = await startNode();
    storeClient = await connectedClient();
    store = redisRevocationStore({ client: storeClient, prefix: "contract:" });
  });

  afterAll(async () => {
    closeClients();
    await Promise.all(nodes.map((node) => node.close()));
    await Promise.all(redisClients.map((redisClient) => redisClient.quit().catch(() => undefined)));
    await redis?.stop();
  });

  const revoked = (reason: string) => [
    { event: "auth:revoked", payload: { reason } },
    { event: "disconnect", payload: "io server disconnect" },
  ];

  it("revoke on A cuts the user's socket on B, and B refuses the same token at the next handshake", async () => {
    const token = await signToken({ subject: "carol" });
    const onB = client(nodeB.url, { token });
    const daveOnB = client(nodeB.url, { token: await signToken({ subject: "dave" }) });
    await Promise.all([onB, daveOnB].map((socket) => nextEvent(socket, "auth:ready")));
    const log = record(onB);
    expect(await revokeSessions(nodeA.io, nodeA.auth, "carol", { reason: "password_changed" })).toEqual({
      disconnected: 1,
    });
    await waitUntil(() => log.length === 2, { what: "carol's socket on B cut" });
    expect(log).toEqual(revoked("password_changed"));
    expect(daveOnB.connected).toBe(true);
    expect((await refused(client(nodeB.url, { token }))).data).toEqual({ code: "TOKEN_REVOKED" });
  });

  it("revoke one jti on A: B refuses that token in band and cuts the connection", async () => {
    const stolen = await signToken({ subject: "erin" });
    const jti = JSON.parse(Buffer.from(stolen.split(".")[1] ?? "", "base64url").toString()).jti as string;
    const socket = client(nodeB.url, { token: await signToken({ subject: "erin" }) });
    await nextEvent(socket, "auth:ready");
    await revokeSessions(nodeA.io, nodeA.auth, "erin", { jti, reason: "stolen" });
    expect(socket.connected).toBe(true);
    const log = record(socket);
    const gone = disconnected(socket);
    expect(await refresh(socket, { token: stolen })).toEqual({ ok: false, code: "TOKEN_REVOKED" });
    expect(await gone).toBe("io server disconnect");
    expect(log).toEqual(revoked("stolen"));
  });

  it("a device on B that was away while A revoked it is not restored on B", async () => {
    const token = await signToken({ subject: "frank" });
    const socket = client(nodeB.url, { token });
    await nextEvent(socket, "auth:ready");
    const tick = nextEvent(socket, "tick");
    nodeB.io.emit("tick");
    await tick;
    const serverSide = [...nodeB.io.of("/").sockets.values()].find((s) => s.data.auth?.subject === "frank");
    const away = new Promise((resolve) => serverSide?.once("disconnect", resolve));
    socket.io.engine.close();
    await away;
    // Node A has never seen this device; only the shared store can tell B.
    expect(await revokeSessions(nodeA.io, nodeA.auth, "frank", { reason: "while_away" })).toEqual({
      disconnected: 0,
    });
    const log = record(socket);
    socket.connect();
    await waitUntil(() => log.some((entry) => entry.event === "disconnect"), {
      what: "the restored session cut",
    });
    expect(socket.recovered).toBe(true);
    expect(log).toEqual(revoked("while_away"));
  });

  describe("redisRevocationStore", () => {
    it("covers tokens issued before the instant (iat in whole seconds), those without iat, and one jti", async () => {
      const at = 1_700_000_000_500;
      await store.add({ subject: "s1", issuedBefore: at, reason: "r1", expiresAt: Date.now() + 60_000 });
      expect(await store.find("s1", { iat: 1_699_999_999 })).toBe("r1");
      expect(await store.find("s1", { iat: 1_700_000_000 })).toBe("r1"); // same second: covered (fail closed)
      expect(await store.find("s1", { iat: 1_700_000_001 })).toBeUndefined();
      expect(await store.find("s1", {})).toBe("r1");
      expect(await store.find("other", { iat: 1 })).toBeUndefined();
      await store.add({ subject: "s2", jti: "j1", reason: "r2", expiresAt: Date.now() + 60_000 });
      expect(await store.find("s2", { jti: "j1", iat: 1 })).toBe("r2");
      expect(await store.find("s2", { jti: "j2", iat: 1 })).toBeUndefined();
    });

    it("keeps the later instant and the longer TTL, and Redis forgets the entry when its tokens expire", async () => {
      const now = Date.now();
      await store.add({ subject: "s3", issuedBefore: 2_000_000, reason: "later", expiresAt: now + 60_000 });
      await store.add({ subject: "s3", issuedBefore: 1_000_000, reason: "earlier", expiresAt: now + 5_000 });
      expect(await store.find("s3", { iat: 1500 })).toBe("later");
      const ttl = Number(await storeClient.sendCommand(["PTTL", "contract:b:s3"]));
      expect(ttl).toBeGreaterThan(50_000);
      await store.add({ subject: "s4", jti: "short", reason: "r", expiresAt: Date.now() + 150 });
      expect(await store.find("s4", { jti: "short" })).toBe("r");
      // Redis expires the key by itself: wait for it to be gone, with a deadline.
      await expect
        .poll(() => store.find("s4", { jti: "short" }), { timeout: 3000, interval: 50 })
        .toBeUndefined();
      expect(await storeClient.sendCommand(["EXISTS", `contract:j:2:s4:short`])).toBe(0);
    });

    it("a Redis that fails refuses the check (UNAVAILABLE on the handshake), never lets it through", async () => {
      const broken = redisRevocationStore({
        client: { sendCommand: () => Promise.reject(new Error("connection lost")) },
      });
      const node = await startServer();
      nodes.push(Object.assign(node, { auth: nodeA.auth }));
      node.io.use(
        authenticate({
          verify: jwtVerifier({ secret: TEST_SECRET, algorithms: ["HS256"] }),
          revocations: broken,
        }),
      );
      const refusal = await refused(client(node.url, { token: await signToken({ subject: "gina" }) }));
      expect(refusal.data).toEqual({ code: "UNAVAILABLE" });
    });
  });
});
