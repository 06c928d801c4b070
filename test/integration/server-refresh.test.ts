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
  manualClock,
  record,
  refresh,
} from "../helpers/companion.js";
import { signToken, TEST_SECRET } from "../helpers/jwt.js";
import { startServer, type TestServer } from "../helpers/server.js";
import { nextEvent, waitUntil } from "../helpers/wait.js";

const servers: TestServer[] = [];

afterEach(async () => {
  closeClients();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

const verify = jwtVerifier({ secret: TEST_SECRET, algorithms: ["HS256"] });

async function serve(
  options: Partial<AuthenticateOptions> = {},
): Promise<TestServer & { rejections: AuthRejection[] }> {
  const server = await startServer();
  servers.push(server);
  const rejections: AuthRejection[] = [];
  server.io.use(authenticate({ verify, onReject: (rejection) => rejections.push(rejection), ...options }));
  return Object.assign(server, { rejections });
}

async function ready(socket: ClientSocket): Promise<void> {
  await nextEvent(socket, "auth:ready");
}

function expOf(token: string): number {
  return (
    (JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()) as { exp: number }).exp * 1000
  );
}

describe("in-band refresh (auth:refresh)", () => {
  it("rotates the token: ack ok, socket.data.auth updated, expiry timers moved to the new token", async () => {
    const clock = manualClock();
    const server = await serve({ clock, expiringBeforeMs: 5000, graceMs: 1000 });
    const first = await signToken({ subject: "alice", ttlSec: 60, claims: { v: 1 } });
    const socket = client(server.url, { token: first });
    const events = record(socket);
    await ready(socket);

    const second = await signToken({ subject: "alice", ttlSec: 600, claims: { v: 2 } });
    expect(await refresh(socket, { token: second })).toEqual({ ok: true, expiresAt: expOf(second) });
    const [serverSocket] = await server.io.fetchSockets();
    expect(serverSocket?.data.auth).toEqual({
      subject: "alice",
      claims: expect.objectContaining({ v: 2 }),
      expiresAt: expOf(second),
    });

    // Past the first token's expiry and grace: nothing happens, the old timers are gone.
    clock.advance(expOf(first) + 1000 - clock.now() + 1);
    expect(socket.connected).toBe(true);
    expect(clock.pending()).toBe(2);

    const expiring = nextEvent(socket, "auth:expiring");
    clock.advance(expOf(second) - 5000 - clock.now());
    expect(await expiring).toEqual({ expiresAt: expOf(second) });
    expect(events.map((entry) => entry.event)).toEqual(["auth:ready", "auth:expiring"]);
  });

  it("refuses an invalid token with TOKEN_INVALID and keeps the connection on the old token", async () => {
    const clock = manualClock();
    const server = await serve({ clock, graceMs: 0 });
    const token = await signToken({ ttlSec: 60 });
    const socket = client(server.url, { token });
    await ready(socket);
    const forged = await signToken({
      secret: new TextEncoder().encode("not-the-server-secret-but-long-enough"),
    });
    expect(await refresh(socket, { token: forged })).toEqual({ ok: false, code: "TOKEN_INVALID" });
    expect(socket.connected).toBe(true);
    expect(server.rejections).toEqual([expect.objectContaining({ phase: "refresh", code: "TOKEN_INVALID" })]);

    // The old token's watchdog still runs.
    const gone = disconnected(socket);
    clock.advance(expOf(token) - clock.now());
    expect(await gone).toBe("io server disconnect");
  });

  it("refuses an expired token with TOKEN_EXPIRED", async () => {
    const server = await serve();
    const socket = client(server.url, { token: await signToken() });
    await ready(socket);
    expect(await refresh(socket, { token: await signToken({ ttlSec: -60 }) })).toEqual({
      ok: false,
      code: "TOKEN_EXPIRED",
    });
  });

  it("acks SUBJECT_MISMATCH for another user's token, then disconnects", async () => {
    const server = await serve();
    const socket = client(server.url, { token: await signToken({ subject: "alice" }) });
    await ready(socket);
    const order: unknown[] = [];
    const gone = disconnected(socket);
    socket.on("disconnect", () => order.push("disconnect"));
    socket.emit("auth:refresh", { token: await signToken({ subject: "mallory" }) }, (ack: unknown) =>
      order.push(ack),
    );
    expect(await gone).toBe("io server disconnect");
    expect(order).toEqual([{ ok: false, code: "SUBJECT_MISMATCH" }, "disconnect"]);
  });

  it("refuses a revoked token with TOKEN_REVOKED (isRevoked in band)", async () => {
    const server = await serve({ isRevoked: (claims) => claims.revoked === true });
    const socket = client(server.url, { token: await signToken() });
    await ready(socket);
    const gone = disconnected(socket);
    expect(await refresh(socket, { token: await signToken({ claims: { revoked: true } }) })).toEqual({
      ok: false,
      code: "TOKEN_REVOKED",
    });
    // The session is over: the connection does not live on with its old token (see "of a revoked token" below).
    await gone;
  });

  it("acks FORBIDDEN and disconnects when authorize refuses the new claims", async () => {
    const server = await serve({ authorize: (claims) => claims.banned !== true });
    const socket = client(server.url, { token: await signToken() });
    await ready(socket);
    const gone = disconnected(socket);
    expect(await refresh(socket, { token: await signToken({ claims: { banned: true } }) })).toEqual({
      ok: false,
      code: "FORBIDDEN",
    });
    await gone;
  });

  it("does not serve auth:refresh when inBand is false", async () => {
    const server = await serve({ inBand: false });
    const socket = client(server.url, { token: await signToken() });
    await ready(socket);
    await expect(refresh(socket, { token: await signToken() }, 300)).rejects.toThrow(/timed out/);
  });

  it("runs refreshes one at a time and refuses a flood with UNAVAILABLE", async () => {
    const gates: Array<() => void> = [];
    const server = await serve({
      verify: async (token: string) => {
        if (token.startsWith("slow:")) await new Promise<void>((resolve) => gates.push(resolve));
        return { sub: "alice", exp: Math.floor(Date.now() / 1000) + 60 };
      },
    });
    const socket = client(server.url, { token: "fast" });
    await ready(socket);
    const acks = Array.from({ length: 12 }, (_, index) => refresh(socket, { token: `slow:${index}` }));
    const settled: unknown[] = [];
    for (const ack of acks) void ack.then((value) => settled.push(value));
    // The overflow is refused at once, while the first verification still hangs and the next four wait.
    await waitUntil(() => settled.length === 7 && gates.length === 1, { what: "the overflow refusals" });
    for (let released = 0; released < 5; released += 1) {
      // One verification at a time: the next starts only once the previous one was released.
      await waitUntil(() => gates.length === 1, { what: `verification ${released + 1}` });
      gates.shift()?.();
      await waitUntil(() => settled.length === 8 + released, { what: `ack ${released + 1}` });
      expect(gates.length).toBeLessThanOrEqual(1);
    }
    const results = (await Promise.all(acks)) as RefreshAck[];
    expect(results.filter((ack) => ack.ok)).toHaveLength(5);
    expect(results.filter((ack) => !ack.ok)).toEqual(Array(7).fill({ ok: false, code: "UNAVAILABLE" }));
    expect(socket.connected).toBe(true);
  });

  describe("hostile payloads never crash the server", () => {
    const cases: Array<[string, unknown[], RefreshAck | undefined]> = [
      ["no payload, only the ack", [], { ok: false, code: "TOKEN_MISSING" }],
      ["null", [null], { ok: false, code: "TOKEN_MISSING" }],
      ["a bare string", ["eyJhbGciOi"], { ok: false, code: "TOKEN_INVALID" }],
      ["a number", [42], { ok: false, code: "TOKEN_INVALID" }],
      ["an array", [[{ token: "x" }]], { ok: false, code: "TOKEN_INVALID" }],
      ["an empty object", [{}], { ok: false, code: "TOKEN_MISSING" }],
      ["an empty token", [{ token: "" }], { ok: false, code: "TOKEN_MISSING" }],
      ["a numeric token", [{ token: 7 }], { ok: false, code: "TOKEN_INVALID" }],
      ["an object token", [{ token: { toString: "x" } }], { ok: false, code: "TOKEN_INVALID" }],
      [
        "a __proto__ payload",
        [JSON.parse('{"__proto__": {"token": "x"}}')],
        { ok: false, code: "TOKEN_MISSING" },
      ],
      ["a 500 kB token", [{ token: "x".repeat(500_000) }], { ok: false, code: "TOKEN_INVALID" }],
      ["extra arguments", [{ token: "a.b.c" }, "extra", 1], { ok: false, code: "TOKEN_INVALID" }],
    ];
    it.each(cases)("%s", async (_name, args, expected) => {
      const server = await serve();
      const socket = client(server.url, { token: await signToken() });
      await ready(socket);
      const ack = await socket.timeout(5000).emitWithAck("auth:refresh", ...args);
      expect(ack).toEqual(expected);
      expect(socket.connected).toBe(true);
      expect(await refresh(socket, { token: await signToken() })).toMatchObject({ ok: true });
    });

    it("ignores a request without an ack function", async () => {
      const server = await serve();
      const socket = client(server.url, { token: await signToken() });
      await ready(socket);
      socket.emit("auth:refresh", { token: await signToken({ subject: "mallory" }) });
      socket.emit("auth:refresh");
      // The subject switch was ignored (no ack, no disconnect): the next request is served normally.
      expect(await refresh(socket, { token: await signToken() })).toMatchObject({ ok: true });
      expect(socket.connected).toBe(true);
    });

    it("survives an ack callback invoked after the socket is gone", async () => {
      const server = await serve({
        verify: async (token: string) => {
          await new Promise((resolve) => setTimeout(resolve, token === "slow" ? 100 : 0));
          return { sub: "u", exp: Math.floor(Date.now() / 1000) + 60 };
        },
      });
      const socket = client(server.url, { token: "fast" });
      await ready(socket);
      socket.emit("auth:refresh", { token: "slow" }, () => undefined);
      socket.disconnect();
      const next = client(server.url, { token: "fast" });
      await connected(next);
      expect(await refresh(next, { token: "fast" })).toMatchObject({ ok: true });
    });
  });
});

describe("in-band refresh of a revoked token", () => {
  // disconnectUser() is a kick; a revocation held by isRevoked must end the connection the moment the client shows a
  // covered token, not leave it up until the old token's expiry.
  it("is refused, and the connection is cut at once with auth:revoked", async () => {
    const revoked = new Set<string>();
    const server = await serve({
      isRevoked: (claims) => revoked.has(String((claims as { sub?: unknown }).sub)),
    });
    const socket = client(server.url, { token: await signToken({ subject: "alice", ttlSec: 60 }) });
    const events = record(socket);
    await ready(socket);
    revoked.add("alice");
    const gone = disconnected(socket);
    expect(await refresh(socket, { token: await signToken({ subject: "alice", ttlSec: 60 }) })).toMatchObject(
      {
        ok: false,
      },
    );
    expect(await gone).toBe("io server disconnect");
    expect(events.map((e) => e.event)).toContain("auth:revoked");
  });
});
