/**
 * Rate limits (rate-limiter-flexible, memory store) on handshakes and in-band refreshes: RATE_LIMITED with
 * retryAfterMs at the handshake and in the auth:refresh ack; a socket that asks again while told to wait is cut; a
 * flood of 1,000 auth:refresh a second from one socket costs the other clients no ack.
 */
import { RateLimiterMemory } from "rate-limiter-flexible";
import { afterEach, describe, expect, it } from "vitest";
import {
  type AuthenticateOptions,
  type AuthRejection,
  authenticate,
  jwtVerifier,
  type RefreshAck,
} from "../../src/server/index.js";
import {
  type ClientSocket,
  client,
  closeClients,
  connected,
  disconnected,
  refresh,
  refused,
} from "../helpers/companion.js";
import { signToken, TEST_SECRET } from "../helpers/jwt.js";
import { startServer, type TestServer } from "../helpers/server.js";
import { nextEvent, waitUntil } from "../helpers/wait.js";

const servers: TestServer[] = [];

afterEach(async () => {
  closeClients();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

const jwt = jwtVerifier({ secret: TEST_SECRET, algorithms: ["HS256"] });

async function serve(
  options: Partial<AuthenticateOptions> = {},
): Promise<TestServer & { rejections: AuthRejection[]; verifications: () => number }> {
  const server = await startServer();
  servers.push(server);
  const rejections: AuthRejection[] = [];
  let verifications = 0;
  server.io.use(
    authenticate({
      verify: (token) => {
        verifications += 1;
        return jwt(token);
      },
      onReject: (rejection) => rejections.push(rejection),
      ...options,
    }),
  );
  server.io.on("connection", (socket) => {
    socket.on("echo", (value: unknown, ack: (value: unknown) => void) => ack(value));
  });
  return Object.assign(server, { rejections, verifications: () => verifications });
}

const ready = (socket: ClientSocket) => nextEvent(socket, "auth:ready");

describe("handshake limits", () => {
  it("per IP: over the limit, connect_error RATE_LIMITED with data.retryAfterMs, before any verification", async () => {
    const server = await serve({
      rateLimit: { handshakePerIp: new RateLimiterMemory({ points: 2, duration: 60 }) },
    });
    await connected(client(server.url, { token: await signToken({ subject: "a" }) }));
    await connected(client(server.url, { token: await signToken({ subject: "b" }) }));
    const refusal = await refused(client(server.url, { token: await signToken({ subject: "c" }) }));
    expect(refusal.data).toEqual({ code: "RATE_LIMITED", retryAfterMs: expect.any(Number) });
    const { retryAfterMs } = refusal.data as { retryAfterMs: number };
    expect(retryAfterMs).toBeGreaterThan(0);
    expect(retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(server.verifications()).toBe(2);
    expect(server.rejections.at(-1)).toMatchObject({
      phase: "handshake",
      code: "RATE_LIMITED",
      retryAfterMs,
    });
  });

  it("per subject: one user over the limit is refused, another user is not", async () => {
    const server = await serve({
      rateLimit: { handshakePerSubject: new RateLimiterMemory({ points: 1, duration: 60 }) },
    });
    await connected(client(server.url, { token: await signToken({ subject: "alice" }) }));
    const refusal = await refused(client(server.url, { token: await signToken({ subject: "alice" }) }));
    expect(refusal.data).toMatchObject({ code: "RATE_LIMITED" });
    await connected(client(server.url, { token: await signToken({ subject: "bob" }) }));
  });

  it("a limiter whose store fails refuses with UNAVAILABLE (fail closed), the server stays up", async () => {
    const server = await serve({
      rateLimit: { handshakePerIp: { consume: () => Promise.reject(new Error("redis down")) } },
    });
    const refusal = await refused(client(server.url, { token: await signToken() }));
    expect(refusal.data).toEqual({ code: "UNAVAILABLE" });
    expect(server.rejections.at(-1)?.error).toBeInstanceOf(Error);
  });

  it("options are checked at creation and the message names the option", () => {
    const verify = jwt;
    expect(() => authenticate({ verify, rateLimit: { handshakePerIp: {} as never } })).toThrow(
      /`rateLimit\.handshakePerIp`/,
    );
    expect(() => authenticate({ verify, rateLimit: { ipOf: "x" as never } })).toThrow(/`rateLimit\.ipOf`/);
    expect(() => authenticate({ verify, rateLimit: 5 as never })).toThrow(/`rateLimit`/);
  });

  it("ipOf chooses the key: two addresses behind one proxy are counted apart", async () => {
    const server = await serve({
      rateLimit: {
        handshakePerIp: new RateLimiterMemory({ points: 1, duration: 60 }),
        ipOf: (socket) => String(socket.handshake.headers["x-client"]),
      },
    });
    const token = await signToken();
    await connected(client(server.url, { token, headers: { "x-client": "one" } }));
    await connected(client(server.url, { token, headers: { "x-client": "two" } }));
    expect((await refused(client(server.url, { token, headers: { "x-client": "one" } }))).data).toMatchObject(
      {
        code: "RATE_LIMITED",
      },
    );
  });
});

describe("in-band refresh limits", () => {
  it("over the limit: ack { ok: false, RATE_LIMITED, retryAfterMs }, the connection keeps its token", async () => {
    const server = await serve({
      rateLimit: { refreshPerSubject: new RateLimiterMemory({ points: 1, duration: 60 }) },
    });
    const socket = client(server.url, { token: await signToken({ subject: "alice" }) });
    await ready(socket);
    expect(await refresh(socket, { token: await signToken({ subject: "alice" }) })).toMatchObject({
      ok: true,
    });
    const limited = (await refresh(socket, { token: await signToken({ subject: "alice" }) })) as RefreshAck;
    expect(limited).toEqual({ ok: false, code: "RATE_LIMITED", retryAfterMs: expect.any(Number) });
    expect(socket.connected).toBe(true);
    expect(server.rejections.at(-1)).toMatchObject({ phase: "refresh", code: "RATE_LIMITED" });
  });

  it("asking again before retryAfterMs is over: refused, then cut", async () => {
    const server = await serve({
      rateLimit: { refreshPerIp: new RateLimiterMemory({ points: 1, duration: 60 }) },
    });
    const socket = client(server.url, { token: await signToken({ subject: "alice" }) });
    await ready(socket);
    await refresh(socket, { token: await signToken({ subject: "alice" }) });
    expect(await refresh(socket, { token: await signToken({ subject: "alice" }) })).toMatchObject({
      code: "RATE_LIMITED",
    });
    const gone = disconnected(socket);
    const early = await refresh(socket, { token: await signToken({ subject: "alice" }) });
    expect(early).toMatchObject({ ok: false, code: "RATE_LIMITED" });
    expect(await gone).toBe("io server disconnect");
  });

  it("a client that waits retryAfterMs is served again, not cut", async () => {
    const server = await serve({
      rateLimit: { refreshPerSubject: new RateLimiterMemory({ points: 1, duration: 1 }) },
    });
    const socket = client(server.url, { token: await signToken({ subject: "alice" }) });
    await ready(socket);
    await refresh(socket, { token: await signToken({ subject: "alice" }) });
    const limited = (await refresh(socket, { token: await signToken({ subject: "alice" }) })) as {
      retryAfterMs: number;
    };
    expect(limited.retryAfterMs).toBeLessThanOrEqual(1000);
    // The wait is the behaviour under test: the protocol asks the client for exactly this.
    await new Promise((resolve) => setTimeout(resolve, limited.retryAfterMs));
    expect(await refresh(socket, { token: await signToken({ subject: "alice" }) })).toMatchObject({
      ok: true,
    });
    expect(socket.connected).toBe(true);
  });

  it("a socket flooding auth:refresh (1,000/s) is refused then cut; the other clients lose no ack", async () => {
    const server = await serve({
      rateLimit: { refreshPerSubject: new RateLimiterMemory({ points: 5, duration: 60 }) },
    });
    const others = await Promise.all(
      Array.from({ length: 10 }, async (_, index) => {
        const socket = client(server.url, { token: await signToken({ subject: `user-${index}` }) });
        await ready(socket);
        return socket;
      }),
    );
    const flooder = client(server.url, { token: await signToken({ subject: "mallory" }) });
    await ready(flooder);
    const floodToken = await signToken({ subject: "mallory" });
    const answers: Array<RefreshAck | "no ack"> = [];
    const cut = disconnected(flooder, 10_000);
    // 1,000 requests over one second, in bursts of 10 every 10 ms.
    let sent = 0;
    const flood = setInterval(() => {
      for (let i = 0; i < 10 && sent < 1000; i += 1, sent += 1)
        flooder
          .timeout(3000)
          .emit("auth:refresh", { token: floodToken }, (error: Error | null, ack: RefreshAck) =>
            answers.push(error ? "no ack" : ack),
          );
      if (sent >= 1000) clearInterval(flood);
    }, 10);
    // Meanwhile every other client keeps emitting acknowledged messages and refreshes once.
    let acked = 0;
    let emitted = 0;
    const traffic = others.map(async (socket, index) => {
      const refreshed = refresh(socket, { token: await signToken({ subject: `user-${index}` }) });
      for (let n = 0; n < 50; n += 1) {
        emitted += 1;
        const echoed = await socket.timeout(5000).emitWithAck("echo", n);
        expect(echoed).toBe(n);
        acked += 1;
      }
      expect(await refreshed).toMatchObject({ ok: true });
    });
    expect(await cut).toBe("io server disconnect");
    await Promise.all(traffic);
    clearInterval(flood);
    expect(acked).toBe(emitted);
    expect(acked).toBe(500);
    for (const socket of others) expect(socket.connected).toBe(true);
    await waitUntil(
      () => answers.some((answer) => answer !== "no ack" && !answer.ok && answer.code === "RATE_LIMITED"),
      {
        what: "a RATE_LIMITED ack to the flooder",
      },
    );
    // The flooder was served its budget, then refused, then cut long before the 1,000th request.
    expect(answers.filter((answer) => answer !== "no ack" && answer.ok)).toHaveLength(5);
    expect(server.rejections.filter((r) => r.code === "RATE_LIMITED").length).toBeGreaterThan(0);
    expect(server.rejections.filter((r) => r.phase === "refresh").length).toBeLessThan(1000);
  });
});
