/**
 * Servers that enforce expiry without the companion: a docs-style `io.use` JWT check plus a timer that, at the
 * handshake token's `exp`, emits `auth_error { code: "TOKEN_EXPIRED" }` and disconnects (what Flask-SocketIO apps and
 * many Node servers do). Real socket.io server on 127.0.0.1, real HS256 tokens.
 */
import { afterEach, describe, expect, it } from "vitest";
import { type AuthedSocket, createAuthedSocket } from "../../src/index.js";
import { ackLoop } from "../helpers/ack-loop.js";
import { startAuthServer } from "../helpers/auth-server.js";
import { signToken } from "../helpers/jwt.js";
import { waitUntil } from "../helpers/wait.js";

const clients: AuthedSocket[] = [];
const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
});

async function cuttingServer(options: Parameters<typeof startAuthServer>[0] = {}) {
  const s = await startAuthServer({ cutAtExpiry: true, ...options });
  servers.push(s);
  return s;
}

describe("a server that cuts connections at the token's expiry", () => {
  it("2-s tokens over 5 lifetimes, an acked emit every 50 ms: no ack lost after the first kick, never logged out, each token refreshed once", async () => {
    const s = await cuttingServer();
    let refreshes = 0;
    const reasons: string[] = [];
    const loggedOut: string[] = [];
    const disconnectedFor: number[] = [];
    const client = createAuthedSocket(s.url, {
      refresh: async ({ reason }) => {
        refreshes++;
        reasons.push(reason);
        return signToken({ ttlSec: 2 });
      },
      logger: null,
      on: { logged_out: ({ reason }) => loggedOut.push(reason) },
    });
    clients.push(client);
    let downAt = 0;
    client.socket.on("disconnect", () => (downAt = Date.now()));
    client.socket.on("connect", () => downAt && disconnectedFor.push(Date.now() - downAt));
    await client.waitFor("authenticated", { timeoutMs: 5000 });
    const loop = ackLoop(client);
    // Whole-second iat/exp: a "2-s" token lives 1–2 s and is refreshed in its window, so ten refreshes span about
    // five nominal lifetimes.
    await waitUntil(() => refreshes >= 11, { timeoutMs: 20_000, what: "ten more refreshes" });
    const acks = await loop.stop();
    // The first kick is how the client learns that this server cuts at expiry. The lesson lasts from that kick to the
    // handshake that follows it: an emit on the wire then dies with the connection the server cut. After it, none.
    const kickedAt = s.kicks[0]?.at ?? 0;
    const lessonOver = s.accepted().find((h) => h.at >= kickedAt)?.at ?? kickedAt;
    expect({
      lostAfterTheLesson: acks.lost.filter((l) => l.sentAt > lessonOver).map((l) => `#${l.n}: ${l.why}`),
      lostAtTheLesson: acks.lost.length <= 1,
      loggedOut,
      // The first kick teaches the client that this server cuts at expiry; after it, it re-handshakes in time.
      kicks: s.kicks.length <= 1,
      // One refresh per token: the first, then only proactive ones — never a second, forced refresh after a kick
      // (before: "rejected" refreshes of a token the client had already replaced, and a logout).
      reasons: [...new Set(reasons)],
      everyOtherAckBack: acks.acked + acks.lost.length === acks.sent,
      refusedHandshakes: s.handshakes.filter((h) => h.verdict !== "accepted").length,
    }).toEqual({
      lostAfterTheLesson: [],
      lostAtTheLesson: true,
      loggedOut: [],
      kicks: true,
      reasons: ["missing", "expiring"],
      everyOtherAckBack: true,
      refusedHandshakes: 0,
    });
    // Time disconnected per rotation is a figure of bench/cutting.ts, not asserted here.
    expect(disconnectedFor.length).toBeGreaterThan(0);
  }, 30_000);

  it("kicked at expiry while holding a newer token: reconnects at once with it, without another refresh", async () => {
    const s = await cuttingServer();
    const reasons: string[] = [];
    const issued: string[] = [];
    const client = createAuthedSocket(s.url, {
      refresh: async ({ reason }) => {
        reasons.push(reason);
        const token = await signToken({ ttlSec: 3 });
        issued.push(token);
        return token;
      },
      logger: null,
    });
    clients.push(client);
    await client.waitFor("authenticated", { timeoutMs: 5000 });
    // The proactive refresh lands while the live connection keeps the first token (no in-band protocol here).
    await waitUntil(() => issued.length >= 2, { timeoutMs: 5000, what: "the proactive refresh" });
    await waitUntil(() => s.kicks.length === 1, { timeoutMs: 5000, what: "the kick at expiry" });
    const kickedAt = s.kicks[0]?.at as number;
    const heldAtKick = issued.at(-1);
    await waitUntil(() => s.accepted().some((h) => h.at >= kickedAt), {
      timeoutMs: 2000,
      what: "the reconnect",
    });
    const next = s.accepted().find((h) => h.at >= kickedAt);
    expect({
      // The token presented after the kick is the one already held at the kick: no refresh in between.
      presentedTheHeldToken: next?.token === heldAtKick,
      reconnectDelayUnder250ms: (next?.at as number) - kickedAt < 250,
      forcedRefreshes: reasons.filter((r) => r === "rejected").length,
    }).toEqual({ presentedTheHeldToken: true, reconnectDelayUnder250ms: true, forcedRefreshes: 0 });
  });

  it("the app can say so up front (rotation: 'reconnect'): no kick at all, every refresh re-handshakes before expiry", async () => {
    const s = await cuttingServer();
    let refreshes = 0;
    const client = createAuthedSocket(s.url, {
      refresh: async () => {
        refreshes++;
        return signToken({ ttlSec: 2 });
      },
      rotation: "reconnect",
      logger: null,
    });
    clients.push(client);
    await client.waitFor("authenticated", { timeoutMs: 5000 });
    await waitUntil(() => refreshes >= 4, { timeoutMs: 15_000, what: "three proactive refreshes" });
    await waitUntil(() => s.accepted().length >= 4 && client.state === "authenticated", {
      timeoutMs: 3000,
      what: "their re-handshakes",
    });
    expect({ kicks: s.kicks.length, state: client.state }).toEqual({ kicks: 0, state: "authenticated" });
  });
});

describe("a server that does not enforce expiry", () => {
  it("a proactive refresh causes no re-handshake: the connection stays as it is", async () => {
    const s = await startAuthServer();
    servers.push(s);
    let refreshes = 0;
    const client = createAuthedSocket(s.url, {
      refresh: async () => {
        refreshes++;
        return signToken({ ttlSec: 3 });
      },
      logger: null,
    });
    clients.push(client);
    await client.waitFor("authenticated", { timeoutMs: 5000 });
    await waitUntil(() => refreshes >= 3, { timeoutMs: 10_000, what: "two proactive refreshes" });
    expect({ handshakes: s.handshakes.length, connected: client.socket.connected }).toEqual({
      handshakes: 1,
      connected: true,
    });
  });
});

describe("the transport a re-handshake opens on", () => {
  /**
   * Two rotations of 2-s tokens against a cutting server (`rotation: "reconnect"`): the transport each of the first
   * three engine connections opened on, the kicks, and the client.
   */
  async function twoRotations(socket: { rememberUpgrade?: boolean } = {}) {
    const s = await cuttingServer();
    const opened: string[] = [];
    s.io.engine.on("connection", (conn: { transport: { name: string } }) => opened.push(conn.transport.name));
    const client = createAuthedSocket(s.url, {
      refresh: async () => signToken({ ttlSec: 2 }),
      rotation: "reconnect",
      logger: null,
      socket,
    });
    clients.push(client);
    await client.waitFor("authenticated", { timeoutMs: 5000 });
    await waitUntil(() => s.accepted().length >= 3, { timeoutMs: 8000, what: "two rotations" });
    return { opened: opened.slice(0, 3), kicks: s.kicks.length, client };
  }

  it("a rotation of a connection that runs on websocket opens the next one on websocket, with no polling handshake", async () => {
    const { opened, kicks } = await twoRotations();
    expect({ opened, kicks }).toEqual({ opened: ["polling", "websocket", "websocket"], kicks: 0 });
  });

  it("an app that set socket.rememberUpgrade keeps its choice: every connection starts with polling", async () => {
    const { opened, client } = await twoRotations({ rememberUpgrade: false });
    expect(opened).toEqual(["polling", "polling", "polling"]);
    expect(client.socket.io.opts.rememberUpgrade).toBe(false);
  });
});

describe("a rotation while the app emits faster than its acks return", () => {
  it("acks take 150 ms, an acked emit every 50 ms: every rotation drains and no ack is lost", async () => {
    // Without holding new emits, some ack would be awaited at every instant, and each drain would end at its bound
    // with acks on the wire.
    const s = await cuttingServer({ echoDelayMs: 150 });
    const outgoing: unknown[] = [];
    const client = createAuthedSocket(s.url, {
      refresh: async () => signToken({ ttlSec: 2 }),
      rotation: "reconnect",
      logger: null,
    });
    clients.push(client);
    client.socket.onAnyOutgoing((event: unknown) => outgoing.push(event));
    await client.waitFor("authenticated", { timeoutMs: 5000 });
    const loop = ackLoop(client);
    await waitUntil(() => s.accepted().length >= 4, { timeoutMs: 10_000, what: "three rotations" });
    const { sent, acked, lost } = await loop.stop();
    expect({ lost, kicks: s.kicks.length, allAcked: acked === sent }).toEqual({
      lost: [],
      kicks: 0,
      allAcked: true,
    });
    // onAnyOutgoing heard each emit once, held or not.
    expect(outgoing).toHaveLength(sent);
  });
});
