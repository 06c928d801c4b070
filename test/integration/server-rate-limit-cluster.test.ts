/**
 * Rate limits shared by two nodes through rate-limiter-flexible's Redis store on a real redis-server: a user's
 * handshakes count against one budget whichever node they reach.
 */
import { RateLimiterRedis } from "rate-limiter-flexible";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authenticate, jwtVerifier } from "../../src/server/index.js";
import { client, closeClients, connected, refused } from "../helpers/companion.js";
import { signToken, TEST_SECRET } from "../helpers/jwt.js";
import { REDIS_INSTALL_HINT, type RedisServer, redisServerAvailable, startRedis } from "../helpers/redis.js";
import { startServer, type TestServer } from "../helpers/server.js";
import { needsProgram } from "../helpers/system-program.js";

const need = needsProgram(
  "server-rate-limit-cluster.test.ts",
  "redis-server",
  redisServerAvailable(),
  REDIS_INSTALL_HINT,
);

type RedisClient = ReturnType<typeof createClient>;

describe.skipIf(need.skip)("rate limits shared by two nodes (RateLimiterRedis)", () => {
  let redis: RedisServer;
  const redisClients: RedisClient[] = [];
  const nodes: TestServer[] = [];

  async function startNode(): Promise<TestServer> {
    const storeClient = createClient({ url: redis.url });
    storeClient.on("error", () => undefined);
    redisClients.push(storeClient);
    await storeClient.connect();
    const node = await startServer();
    node.io.use(
      authenticate({
        verify: jwtVerifier({ secret: TEST_SECRET, algorithms: ["HS256"] }),
        rateLimit: {
          handshakePerSubject: new RateLimiterRedis({
            storeClient,
            useRedisPackage: true,
            keyPrefix: "handshake",
            points: 2,
            duration: 60,
          }),
        },
      }),
    );
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
    await Promise.all(redisClients.map((redisClient) => redisClient.quit().catch(() => undefined)));
    await redis?.stop();
  });

  it("one handshake on A and one on B spend the user's budget of two; the third, on A, is RATE_LIMITED", async () => {
    const [nodeA, nodeB] = [await startNode(), await startNode()];
    if (!nodeA || !nodeB) throw new Error("nodes did not start");
    await connected(client(nodeA.url, { token: await signToken({ subject: "alice" }) }));
    await connected(client(nodeB.url, { token: await signToken({ subject: "alice" }) }));
    const refusal = await refused(client(nodeA.url, { token: await signToken({ subject: "alice" }) }));
    expect(refusal.data).toEqual({ code: "RATE_LIMITED", retryAfterMs: expect.any(Number) });
    await connected(client(nodeB.url, { token: await signToken({ subject: "bob" }) }));
  });
});
