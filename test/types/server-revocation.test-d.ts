import { RateLimiterMemory, RateLimiterRedis } from "rate-limiter-flexible";
import { createClient } from "redis";
import { Server } from "socket.io";
import { describe, expectTypeOf, it } from "vitest";
import {
  authenticate,
  type HandshakeErrorData,
  jwtVerifier,
  memoryRevocationStore,
  type RefreshAck,
  type RevocationStore,
  type RevokeResult,
  redisRevocationStore,
  revokeSessions,
} from "../../src/server/index.js";

const verify = jwtVerifier({ secret: "x".repeat(32), algorithms: ["HS256"] });

describe("revocation and rate-limit types", () => {
  it("rate-limiter-flexible's limiters fit rateLimit as they are", () => {
    const redis = createClient();
    authenticate({
      verify,
      rateLimit: {
        handshakePerIp: new RateLimiterMemory({ points: 1, duration: 1 }),
        refreshPerSubject: new RateLimiterRedis({
          storeClient: redis,
          useRedisPackage: true,
          points: 1,
          duration: 1,
        }),
        ipOf: (socket) => socket.handshake.address,
      },
    });
  });

  it("a node-redis v4 client fits redisRevocationStore; both stores are RevocationStores", () => {
    expectTypeOf(redisRevocationStore({ client: createClient() })).toMatchTypeOf<RevocationStore>();
    expectTypeOf(memoryRevocationStore()).toMatchTypeOf<RevocationStore>();
  });

  it("revokeSessions takes a server and the middleware, and resolves to what it cut", () => {
    const auth = authenticate({ verify });
    const io = new Server();
    expectTypeOf(revokeSessions(io, auth, "u", { jti: "j" })).toEqualTypeOf<Promise<RevokeResult>>();
    expectTypeOf(
      revokeSessions([io, io.of("/admin")], auth, "u", { issuedBefore: new Date() }),
    ).toEqualTypeOf<Promise<RevokeResult>>();
  });

  it("a RATE_LIMITED ack always carries retryAfterMs; other refusals never need it", () => {
    expectTypeOf({ ok: false, code: "RATE_LIMITED", retryAfterMs: 10 } as const).toMatchTypeOf<RefreshAck>();
    expectTypeOf({ ok: false, code: "RATE_LIMITED" } as const).not.toMatchTypeOf<RefreshAck>();
    expectTypeOf({ ok: false, code: "TOKEN_REVOKED" } as const).toMatchTypeOf<RefreshAck>();
    expectTypeOf<HandshakeErrorData["retryAfterMs"]>().toEqualTypeOf<number | undefined>();
  });
});
