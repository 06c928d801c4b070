// Revocation and rate limits (issue 11.1–11.2), in one run:
// - propagation: revokeSessions() on node A until the user's socket on node B receives auth:revoked, two socket.io
//   servers joined by @socket.io/redis-adapter with the Redis revocation store, on a throw-away redis-server;
// - bytes per revoked user: the memory store (V8 heap after GC) and the Redis store (used_memory), 20,000 users;
// - handshakes per second with rate limiting off, on (memory limiter) and on (Redis limiter), per IP + per subject
//   with a budget never reached, in alternating rounds on one machine so the ratio is what the limiter costs.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createAdapter } from "@socket.io/redis-adapter";
import { SignJWT } from "jose";
import { RateLimiterMemory, RateLimiterRedis } from "rate-limiter-flexible";
import { createClient } from "redis";
import type { Server } from "socket.io";
import { io as rawIo, type Socket } from "socket.io-client";
import {
  type AuthenticateOptions,
  authenticate,
  jwtVerifier,
  memoryRevocationStore,
  redisRevocationStore,
  revokeSessions,
} from "../src/server/index.js";
import { redisServerAvailable, startRedis } from "../test/helpers/redis.js";
import { BENCH_SECRET, benchServer } from "./server.js";

type RedisClient = ReturnType<typeof createClient>;
const verify = jwtVerifier({ secret: BENCH_SECRET, algorithms: ["HS256"] });
const sign = (subject: string) =>
  new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(subject)
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(BENCH_SECRET);

const stats = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) =>
    Number((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0).toFixed(2));
  return { n: sorted.length, medianMs: at(0.5), p95Ms: at(0.95), maxMs: at(1) };
};

function connect(url: string, token: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = rawIo(url, {
      forceNew: true,
      transports: ["websocket"],
      reconnection: false,
      auth: { token },
    });
    socket.once("auth:ready", () => resolve(socket));
    socket.once("connect_error", (error) => {
      socket.close();
      reject(error);
    });
  });
}

async function propagation(url: string, rounds: number) {
  const clients: RedisClient[] = [];
  const redisClient = async () => {
    const c = createClient({ url });
    c.on("error", () => undefined);
    clients.push(c);
    await c.connect();
    return c;
  };
  const nodes: Array<{
    io: Server;
    url: string;
    close(): Promise<void>;
    auth: unknown;
  }> = [];
  for (let i = 0; i < 2; i++) {
    const [pub, sub, data] = [await redisClient(), await redisClient(), await redisClient()];
    let handle: Server | undefined;
    const auth = authenticate({ verify, revocations: redisRevocationStore({ client: data }) });
    const server = await benchServer((io) => {
      handle = io;
      io.adapter(createAdapter(pub, sub));
      io.use(auth);
    });
    if (!handle) throw new Error("no server");
    nodes.push({ ...server, io: handle, auth });
  }
  const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
  const cut: number[] = [];
  const refusedAfter: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const subject = `user-${round}`;
    const token = await sign(subject);
    const socket = await connect(b.url, token);
    const received = new Promise<number>((resolve) =>
      socket.once("auth:revoked", () => resolve(performance.now())),
    );
    const started = performance.now();
    await revokeSessions(a.io, a.auth, subject, { reason: "bench" });
    const returned = performance.now();
    cut.push((await received) - started);
    // The first handshake on B after the call returns is already refused (the store is shared): its round trip.
    const refusedAt = await connect(b.url, token).then(
      (s) => {
        s.close();
        throw new Error("a revoked token was accepted on node B");
      },
      () => performance.now(),
    );
    refusedAfter.push(refusedAt - returned);
    socket.close();
  }
  for (const node of nodes) await node.close();
  for (const c of clients) await c.quit().catch(() => undefined);
  return {
    revokeOnAToAuthRevokedOnB: stats(cut),
    nextHandshakeOnBRefusedRoundTrip: stats(refusedAfter),
  };
}

function gc(): () => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

async function bytesPerUser(url: string | undefined, users: number) {
  const collect = gc();
  collect();
  const before = process.memoryUsage().heapUsed;
  const store = memoryRevocationStore();
  const now = Date.now();
  for (let i = 0; i < users; i++)
    await store.add({
      subject: `user-${i}-abcdefgh`,
      issuedBefore: now,
      reason: "password_changed",
      expiresAt: now + 3_600_000,
    });
  collect();
  const memory = Math.round((process.memoryUsage().heapUsed - before) / users);
  if (store.size !== users) throw new Error("store lost entries");
  let redisBytes: number | null = null;
  if (url) {
    const c = createClient({ url });
    c.on("error", () => undefined);
    await c.connect();
    await c.flushAll();
    const used = async () => Number(/used_memory:(\d+)/.exec(await c.info("memory"))?.[1]);
    const start = await used();
    const redisStore = redisRevocationStore({ client: c });
    for (let i = 0; i < users; i += 500)
      await Promise.all(
        Array.from({ length: Math.min(500, users - i) }, (_, j) =>
          redisStore.add({
            subject: `user-${i + j}-abcdefgh`,
            issuedBefore: now,
            reason: "password_changed",
            expiresAt: now + 3_600_000,
          }),
        ),
      );
    redisBytes = Math.round(((await used()) - start) / users);
    await c.quit();
  }
  return {
    users,
    subjectLength: 15,
    reason: "password_changed",
    memoryStoreHeapBytes: memory,
    redisStoreUsedMemoryBytes: redisBytes,
  };
}

async function handshakeRounds(
  url: string | undefined,
  rounds: number,
  perRound: number,
  concurrency: number,
) {
  const huge = { points: 1e9, duration: 60 };
  let limiterClient: RedisClient | undefined;
  if (url) {
    limiterClient = createClient({ url });
    limiterClient.on("error", () => undefined);
    await limiterClient.connect();
  }
  const kinds: Record<string, () => AuthenticateOptions["rateLimit"]> = {
    off: () => undefined,
    memoryLimiter: () => ({
      handshakePerIp: new RateLimiterMemory({ ...huge, keyPrefix: "ip" }),
      handshakePerSubject: new RateLimiterMemory({ ...huge, keyPrefix: "sub" }),
    }),
    ...(limiterClient
      ? {
          redisLimiter: () => ({
            handshakePerIp: new RateLimiterRedis({
              storeClient: limiterClient,
              useRedisPackage: true,
              ...huge,
              keyPrefix: "ip",
            }),
            handshakePerSubject: new RateLimiterRedis({
              storeClient: limiterClient,
              useRedisPackage: true,
              ...huge,
              keyPrefix: "sub",
            }),
          }),
        }
      : {}),
  };
  const token = await sign("bench");
  const results: Record<string, number[]> = Object.fromEntries(Object.keys(kinds).map((k) => [k, []]));
  for (let round = -1; round < rounds; round++)
    for (const [kind, limits] of Object.entries(kinds)) {
      const rateLimit = limits();
      const server = await benchServer((io) =>
        io.use(authenticate({ verify, ...(rateLimit ? { rateLimit } : {}) })),
      );
      let next = 0;
      const worker = async () => {
        while (next++ < perRound) (await connect(server.url, token)).close();
      };
      const started = performance.now();
      await Promise.all(Array.from({ length: concurrency }, worker));
      const perSecond = perRound / ((performance.now() - started) / 1000);
      await server.close();
      if (round >= 0) results[kind]?.push(perSecond); // round -1 warms up
    }
  await limiterClient?.quit();
  const median = (values: number[]) =>
    Math.round([...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0);
  const off = median(results.off ?? []);
  return {
    rounds,
    handshakesPerRound: perRound,
    concurrency,
    perSecondMedian: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)])),
    ratioToOff: Object.fromEntries(
      Object.entries(results).map(([k, v]) => [k, Number((median(v) / off).toFixed(3))]),
    ),
  };
}

export async function revocation() {
  const redis = redisServerAvailable() ? await startRedis() : undefined;
  try {
    return {
      redis: redis ? "redis-server on 127.0.0.1" : "redis-server not installed: Redis figures skipped",
      propagation: redis ? await propagation(redis.url, 50) : null,
      bytesPerRevokedUser: await bytesPerUser(redis?.url, 20_000),
      handshakesPerSecond: await handshakeRounds(redis?.url, 5, 400, 20),
    };
  } finally {
    await redis?.stop();
  }
}
