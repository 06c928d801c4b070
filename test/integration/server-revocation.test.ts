/**
 * revokeSessions() on one server with the default in-memory store: live sockets covered by the revocation get
 * auth:revoked and are cut; a covered token is refused with TOKEN_REVOKED at the handshake, in band and on
 * recovery; a handshake in flight during the call does not slip through.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  type AuthenticateOptions,
  type AuthRejection,
  authenticate,
  jwtVerifier,
  memoryRevocationStore,
  type RevocationStore,
  revokeSessions,
  type SocketMiddleware,
} from "../../src/server/index.js";
import {
  client,
  closeClients,
  connected,
  disconnected,
  record,
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

// A tolerance, so a token minted "a second from now" (clear of a revocation made now) verifies.
const verify = jwtVerifier({ secret: TEST_SECRET, algorithms: ["HS256"], clockToleranceSec: 2 });

interface RevocationServer extends TestServer {
  auth: SocketMiddleware;
  rejections: AuthRejection[];
}

async function serve(
  options: Partial<AuthenticateOptions> = {},
  serverOptions: Parameters<typeof startServer>[0] = {},
): Promise<RevocationServer> {
  const server = await startServer(serverOptions);
  servers.push(server);
  const rejections: AuthRejection[] = [];
  const auth = authenticate({ verify, onReject: (rejection) => rejections.push(rejection), ...options });
  server.io.use(auth);
  return Object.assign(server, { auth, rejections });
}

function claimsOf(token: string): { jti: string; iat: number } {
  return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString());
}

/** A token issued a whole second after now: iat is whole seconds, so it is clear of a revocation made now. */
function nextSecond(): number {
  return Math.floor(Date.now() / 1000) + 1;
}

const revoked = (reason: string) => [
  { event: "auth:revoked", payload: { reason } },
  { event: "disconnect", payload: "io server disconnect" },
];

describe("revokeSessions: every session of a user", () => {
  it("cuts the user's live sockets with auth:revoked and refuses the same token at the next handshake", async () => {
    const server = await serve();
    const aliceToken = await signToken({ subject: "alice" });
    const alice = [client(server.url, { token: aliceToken }), client(server.url, { token: aliceToken })];
    const bob = client(server.url, { token: await signToken({ subject: "bob" }) });
    await Promise.all([...alice, bob].map((socket) => nextEvent(socket, "auth:ready")));
    const logs = alice.map(record);
    const bobLog = record(bob);

    const result = await revokeSessions(server.io, server.auth, "alice", { reason: "password_changed" });

    expect(result).toEqual({ disconnected: 2 });
    await waitUntil(() => logs.every((log) => log.length === 2), { what: "both sockets cut" });
    for (const log of logs) expect(log).toEqual(revoked("password_changed"));
    expect(bobLog).toEqual([]);
    expect(bob.connected).toBe(true);

    const again = await refused(client(server.url, { token: aliceToken }));
    expect(again.data).toEqual({ code: "TOKEN_REVOKED" });
    expect(server.rejections.at(-1)).toMatchObject({ phase: "handshake", code: "TOKEN_REVOKED" });
    // A token issued after the revocation (a new login) is not covered.
    await connected(client(server.url, { token: await signToken({ subject: "alice", iat: nextSecond() }) }));
  });

  it("refuses a covered token in band and cuts that connection", async () => {
    const server = await serve();
    const old = await signToken({ subject: "alice" });
    const fresh = await signToken({ subject: "alice", iat: nextSecond() });
    await revokeSessions(server.io, server.auth, "alice", { reason: "logout_everywhere" });
    const socket = client(server.url, { token: fresh });
    await nextEvent(socket, "auth:ready");
    const log = record(socket);
    const gone = disconnected(socket);
    expect(await refresh(socket, { token: old })).toEqual({ ok: false, code: "TOKEN_REVOKED" });
    expect(await gone).toBe("io server disconnect");
    expect(log).toEqual(revoked("logout_everywhere"));
  });
});

describe("revokeSessions: issued before an instant, or one jti", () => {
  it("issuedBefore cuts only the sockets whose token is older", async () => {
    const server = await serve();
    const now = Math.floor(Date.now() / 1000);
    const older = client(server.url, {
      token: await signToken({ subject: "alice", iat: now - 100, ttlSec: 1000 }),
    });
    const newer = client(server.url, { token: await signToken({ subject: "alice", iat: now }) });
    await Promise.all([older, newer].map((socket) => nextEvent(socket, "auth:ready")));
    const olderLog = record(older);
    const result = await revokeSessions(server.io, server.auth, "alice", {
      issuedBefore: (now - 50) * 1000,
      reason: "device_lost",
    });
    expect(result).toEqual({ disconnected: 1 });
    await waitUntil(() => olderLog.length === 2, { what: "the older socket cut" });
    expect(olderLog).toEqual(revoked("device_lost"));
    expect(newer.connected).toBe(true);
  });

  it("jti cuts that one session; the token is refused anywhere after, other tokens are not", async () => {
    const server = await serve();
    const target = await signToken({ subject: "alice" });
    const other = await signToken({ subject: "alice" });
    const one = client(server.url, { token: target });
    const two = client(server.url, { token: other });
    await Promise.all([one, two].map((socket) => nextEvent(socket, "auth:ready")));
    const oneLog = record(one);
    await revokeSessions(server.io, server.auth, "alice", { jti: claimsOf(target).jti, reason: "stolen" });
    await waitUntil(() => oneLog.length === 2, { what: "the session of that jti cut" });
    expect(oneLog).toEqual(revoked("stolen"));
    expect(two.connected).toBe(true);
    expect((await refused(client(server.url, { token: target }))).data).toEqual({ code: "TOKEN_REVOKED" });
    await connected(client(server.url, { token: other }));
  });

  it("validates its input and names the field at fault", async () => {
    const server = await serve();
    await expect(revokeSessions(server.io, {}, "alice")).rejects.toThrow(/`auth`/);
    await expect(revokeSessions({} as never, server.auth, "alice")).rejects.toThrow(/`target`/);
    await expect(revokeSessions(server.io, server.auth, "")).rejects.toThrow(/`subject`/);
    await expect(revokeSessions(server.io, server.auth, "a", { reason: "" })).rejects.toThrow(/`reason`/);
    await expect(revokeSessions(server.io, server.auth, "a", { maxTokenLifetimeMs: 0 })).rejects.toThrow(
      /`maxTokenLifetimeMs`/,
    );
  });
});

describe("a handshake in flight during the revocation does not slip through", () => {
  it("verified before the call, accepted after it: refused with TOKEN_REVOKED (checked right before accepting)", async () => {
    let release: () => void = () => undefined;
    const verifying = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered: () => void = () => undefined;
    const inVerify = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const server = await serve({
      verify: async (token) => {
        const claims = await verify(token);
        entered();
        await verifying;
        return claims;
      },
    });
    const socket = client(server.url, { token: await signToken({ subject: "alice" }) });
    const refusal = refused(socket);
    await inVerify;
    await revokeSessions(server.io, server.auth, "alice");
    release();
    expect((await refusal).data).toEqual({ code: "TOKEN_REVOKED" });
  });

  it("checked just before the revocation landed: cut with auth:revoked once it joins its user room", async () => {
    // The store's first answer is a read made before the revocation (a replica lagging, a read racing the write);
    // the revocation's own sweep finds no socket yet. Only the re-check after the join can catch it.
    const inner = memoryRevocationStore();
    let reads = 0;
    let releaseFirstRead: () => void = () => undefined;
    const firstReadReleased = new Promise<void>((resolve) => {
      releaseFirstRead = resolve;
    });
    let firstReadTaken: () => void = () => undefined;
    const firstRead = new Promise<void>((resolve) => {
      firstReadTaken = resolve;
    });
    const racing: RevocationStore = {
      add: (revocation) => inner.add(revocation),
      async find(subject, token) {
        reads += 1;
        if (reads > 1) return inner.find(subject, token);
        const snapshot = await inner.find(subject, token);
        firstReadTaken();
        await firstReadReleased;
        return snapshot;
      },
    };
    const server = await serve({ revocations: racing });
    const socket = client(server.url, { token: await signToken({ subject: "alice" }) });
    const log = record(socket);
    await firstRead;
    expect(await revokeSessions(server.io, server.auth, "alice", { reason: "raced" })).toEqual({
      disconnected: 0,
    });
    releaseFirstRead();
    await waitUntil(() => log.some((entry) => entry.event === "disconnect"), { what: "the late cut" });
    expect(log.filter((entry) => entry.event !== "auth:ready")).toEqual(revoked("raced"));
    expect(server.rejections.at(-1)).toMatchObject({ phase: "revocation", code: "TOKEN_REVOKED" });
  });
});

describe("a restored session presenting a covered token", () => {
  it("is cut with auth:revoked instead of being restored", async () => {
    const server = await serve(
      {},
      { connectionStateRecovery: { maxDisconnectionDuration: 60_000, skipMiddlewares: true } },
    );
    const token = await signToken({ subject: "alice" });
    const socket = client(server.url, { token, reconnection: false });
    await nextEvent(socket, "auth:ready");
    // socket.io recovers only from a known offset, which the client learns from a broadcast.
    const tick = nextEvent(socket, "tick");
    server.io.emit("tick");
    await tick;
    const serverSide = [...server.io.of("/").sockets.values()][0];
    const gone = new Promise((resolve) => serverSide?.once("disconnect", resolve));
    socket.io.engine.close();
    await gone;
    await revokeSessions(server.io, server.auth, "alice", { reason: "while_away" });
    const log = record(socket);
    socket.connect();
    await waitUntil(() => log.some((entry) => entry.event === "disconnect"), {
      what: "the restored session cut",
    });
    expect(socket.recovered).toBe(true);
    expect(log).toEqual(revoked("while_away"));
    expect(server.rejections.at(-1)).toMatchObject({ phase: "recovery", code: "TOKEN_REVOKED" });
  });
});
