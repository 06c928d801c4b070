/**
 * authenticate({ meter }) against a real socket.io server with real JWTs: each instrument of docs/metrics.md
 * counts what happened, read back through a real OpenTelemetry SDK MeterProvider.
 */
import { metrics as otelMetrics } from "@opentelemetry/api";
import { RateLimiterMemory } from "rate-limiter-flexible";
import { afterEach, describe, expect, it } from "vitest";
import {
  type AuthenticateOptions,
  authenticate,
  jwtVerifier,
  revokeSessions,
  type SocketMiddleware,
} from "../../src/server/index.js";
import {
  type ClientSocket,
  client,
  closeClients,
  connected,
  disconnected,
  manualClock,
  refresh,
  refused,
} from "../helpers/companion.js";
import { signToken, TEST_SECRET } from "../helpers/jwt.js";
import { type TestMeter, testMeter } from "../helpers/metrics.js";
import { startServer, type TestServer } from "../helpers/server.js";
import { nextEvent } from "../helpers/wait.js";

const servers: TestServer[] = [];
const meters: TestMeter[] = [];

afterEach(async () => {
  closeClients();
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await Promise.all(meters.splice(0).map((m) => m.provider.shutdown()));
});

const verify = jwtVerifier({ secret: TEST_SECRET, algorithms: ["HS256"] });

async function serve(
  options: Partial<AuthenticateOptions> = {},
): Promise<TestServer & { metrics: TestMeter; auth: SocketMiddleware }> {
  const server = await startServer();
  servers.push(server);
  const metrics = testMeter();
  meters.push(metrics);
  const auth = authenticate({ verify, meter: metrics.meter, ...options });
  server.io.use(auth);
  return Object.assign(server, { metrics, auth });
}

const ready = (socket: ClientSocket) => nextEvent(socket, "auth:ready");

describe("server metrics", () => {
  it("handshakes: counted by result and code", async () => {
    const server = await serve();
    await connected(client(server.url, { token: await signToken() }));
    await connected(client(server.url, { token: await signToken() }));
    await refused(client(server.url, {}));
    await refused(client(server.url, { token: "not-a-jwt" }));
    await refused(client(server.url, { token: await signToken({ ttlSec: -60 }) }));
    const { metrics } = server;
    expect(await metrics.sum("authed_socket.server.handshakes", { result: "accepted" })).toBe(2);
    expect(
      await metrics.sum("authed_socket.server.handshakes", { result: "refused", code: "TOKEN_MISSING" }),
    ).toBe(1);
    expect(
      await metrics.sum("authed_socket.server.handshakes", { result: "refused", code: "TOKEN_INVALID" }),
    ).toBe(1);
    expect(
      await metrics.sum("authed_socket.server.handshakes", { result: "refused", code: "TOKEN_EXPIRED" }),
    ).toBe(1);
  });

  it("verification time: one histogram point per verifier call, in seconds, by result", async () => {
    const server = await serve();
    await connected(client(server.url, { token: await signToken() }));
    await refused(
      client(server.url, { token: await signToken({ secret: new TextEncoder().encode("x".repeat(40)) }) }),
    );
    const ok = await server.metrics.histogram("authed_socket.server.verification.duration", { result: "ok" });
    const error = await server.metrics.histogram("authed_socket.server.verification.duration", {
      result: "error",
    });
    expect(ok).toMatchObject({ count: 1, unit: "s" });
    expect(error.count).toBe(1);
    expect(ok.sum).toBeGreaterThan(0);
    expect(ok.sum).toBeLessThan(5);
  });

  it("in-band refreshes: counted by result and code", async () => {
    const server = await serve();
    const socket = client(server.url, { token: await signToken({ subject: "alice" }) });
    await ready(socket);
    expect(await refresh(socket, { token: await signToken({ subject: "alice" }) })).toMatchObject({
      ok: true,
    });
    expect(await refresh(socket, { token: "garbage" })).toMatchObject({ ok: false, code: "TOKEN_INVALID" });
    expect(await refresh(socket, {})).toMatchObject({ ok: false, code: "TOKEN_MISSING" });
    const { metrics } = server;
    expect(await metrics.sum("authed_socket.server.refreshes", { result: "accepted" })).toBe(1);
    expect(
      await metrics.sum("authed_socket.server.refreshes", { result: "refused", code: "TOKEN_INVALID" }),
    ).toBe(1);
    expect(
      await metrics.sum("authed_socket.server.refreshes", { result: "refused", code: "TOKEN_MISSING" }),
    ).toBe(1);
    expect((await metrics.histogram("authed_socket.server.verification.duration")).count).toBe(3);
  });

  it("rate-limited refusals: counted by phase, and as refused handshakes / refreshes with code RATE_LIMITED", async () => {
    const server = await serve({
      rateLimit: {
        handshakePerIp: new RateLimiterMemory({ points: 1, duration: 60 }),
        refreshPerSubject: new RateLimiterMemory({ points: 1, duration: 60 }),
      },
    });
    const socket = client(server.url, { token: await signToken() });
    await ready(socket);
    await refused(client(server.url, { token: await signToken() }));
    expect(await refresh(socket, { token: await signToken() })).toMatchObject({ ok: true });
    expect(await refresh(socket, { token: await signToken() })).toMatchObject({
      ok: false,
      code: "RATE_LIMITED",
    });
    const { metrics } = server;
    expect(await metrics.sum("authed_socket.server.rate_limited_refusals", { phase: "handshake" })).toBe(1);
    expect(await metrics.sum("authed_socket.server.rate_limited_refusals", { phase: "refresh" })).toBe(1);
    expect(await metrics.sum("authed_socket.server.handshakes", { code: "RATE_LIMITED" })).toBe(1);
    expect(await metrics.sum("authed_socket.server.refreshes", { code: "RATE_LIMITED" })).toBe(1);
  });

  it("expiry cuts: a connection cut with auth:expired past grace is counted once", async () => {
    const clock = manualClock();
    const server = await serve({ clock, graceMs: 1000 });
    const socket = client(server.url, { token: await signToken({ ttlSec: 60 }) });
    await ready(socket);
    const expired = nextEvent(socket, "auth:expired");
    const gone = disconnected(socket);
    clock.advance(61_000);
    await expired;
    await gone;
    expect(await server.metrics.sum("authed_socket.server.expiry_cuts")).toBe(1);
  });

  it("revocations: revokeSessions() counted by scope, the sockets it cut and the revoked refresh by phase", async () => {
    const server = await serve();
    const first = client(server.url, { token: await signToken({ subject: "mallory" }) });
    const second = client(server.url, { token: await signToken({ subject: "mallory" }) });
    await Promise.all([ready(first), ready(second)]);
    const cut = Promise.all([disconnected(first), disconnected(second)]);
    expect(await revokeSessions(server.io, server.auth, "mallory", { reason: "stolen" })).toEqual({
      disconnected: 2,
    });
    await cut;
    await revokeSessions(server.io, server.auth, "nobody", { jti: "abc" });
    const { metrics } = server;
    expect(await metrics.sum("authed_socket.server.revocations", { scope: "user" })).toBe(1);
    expect(await metrics.sum("authed_socket.server.revocations", { scope: "jti" })).toBe(1);
    expect(await metrics.sum("authed_socket.server.revoked_disconnects", { phase: "revoke" })).toBe(2);

    // A token issued before the revocation, presented in band: refused with TOKEN_REVOKED and the socket cut,
    // counted as a refresh-phase revoked disconnect.
    const old = await signToken({ subject: "eve", iat: Math.floor(Date.now() / 1000) - 10 });
    const socket = client(server.url, { token: await signToken({ subject: "eve" }) });
    await ready(socket);
    await revokeSessions(server.io, server.auth, "eve", { issuedBefore: Date.now() - 5000 });
    const gone = disconnected(socket);
    expect(await refresh(socket, { token: old })).toMatchObject({ ok: false, code: "TOKEN_REVOKED" });
    await gone;
    expect(await metrics.sum("authed_socket.server.revocations", { scope: "issued_before" })).toBe(1);
    expect(await metrics.sum("authed_socket.server.revoked_disconnects", { phase: "refresh" })).toBe(1);
  });

  it("a meter that is not a Meter is refused at creation, naming the option", () => {
    expect(() => authenticate({ verify, meter: {} as never })).toThrow(/`meter`/);
  });
});

describe("without a meter", () => {
  it("nothing is recorded, not even on the global meter provider, and every path still works", async () => {
    const global = testMeter();
    meters.push(global);
    // The companion must not reach for the API's global provider: only a meter it is given.
    otelMetrics.setGlobalMeterProvider(global.provider);
    const server = await startServer();
    servers.push(server);
    const auth = authenticate({
      verify,
      rateLimit: { refreshPerSubject: new RateLimiterMemory({ points: 1, duration: 60 }) },
    });
    server.io.use(auth);
    const socket = client(server.url, { token: await signToken() });
    await ready(socket);
    await refused(client(server.url, {}));
    expect(await refresh(socket, { token: await signToken() })).toMatchObject({ ok: true });
    expect(await refresh(socket, { token: await signToken() })).toMatchObject({ code: "RATE_LIMITED" });
    const gone = disconnected(socket);
    expect(await revokeSessions(server.io, auth, "user-1")).toEqual({ disconnected: 1 });
    await gone;
    expect(await global.names()).toEqual([]);
    otelMetrics.disable();
  });
});
