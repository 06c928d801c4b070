import { decodeJwt } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import {
  type AuthedSocket,
  type AuthedSocketEvents,
  createAuthedSocket,
  type RefreshContext,
  UnauthorizedError,
} from "../../src/index.js";
import { startAuthServer } from "../helpers/auth-server.js";
import { signForeignToken, signToken } from "../helpers/jwt.js";
import { waitUntil } from "../helpers/wait.js";

const clients: AuthedSocket[] = [];
const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
});

async function server(options: Parameters<typeof startAuthServer>[0] = {}) {
  const s = await startAuthServer(options);
  servers.push(s);
  return s;
}

function track(client: AuthedSocket) {
  clients.push(client);
  const seen: { [K in keyof AuthedSocketEvents]?: AuthedSocketEvents[K][] } = {};
  for (const name of [
    "state",
    "authenticated",
    "refreshing",
    "refreshed",
    "refresh_failed",
    "logged_out",
  ] as const) {
    client.on(name, (payload) => {
      const list = (seen[name] ?? []) as unknown[];
      list.push(payload);
      seen[name] = list as never;
    });
  }
  return seen;
}

/**
 * A client whose stored token is signed with a key no test server trusts (only the server can tell it is bad), with a
 * counting `refresher`; tracked, so it is closed after the test.
 */
async function foreignTokenClient(s: { url: string }) {
  const r = refresher();
  const foreign = await signForeignToken();
  const client = createAuthedSocket(s.url, { getToken: () => foreign, refresh: r.refresh, logger: null });
  return { r, client, seen: track(client) };
}

/** A refresh provider that signs real tokens and counts calls. */
function refresher(ttlSec = 60) {
  const calls: RefreshContext[] = [];
  return {
    calls,
    refresh: async (ctx: RefreshContext) => {
      calls.push(ctx);
      return signToken({ ttlSec });
    },
  };
}

describe("getting the first token", () => {
  it("refreshes first when no token is stored", async () => {
    const s = await server();
    const r = refresher();
    const client = createAuthedSocket(s.url, { getToken: () => null, refresh: r.refresh, logger: null });
    track(client);
    await client.waitFor("authenticated", { timeoutMs: 5000 });
    expect(r.calls.map((c) => c.reason)).toEqual(["missing"]);
    expect(s.handshakes.map((h) => h.verdict)).toEqual(["accepted"]);
  });

  it("never hands a stored token it knows is expired to the handshake", async () => {
    const s = await server();
    const r = refresher();
    const expired = await signToken({ ttlSec: -30 });
    const client = createAuthedSocket(s.url, { getToken: () => expired, refresh: r.refresh, logger: null });
    track(client);
    await client.waitFor("authenticated", { timeoutMs: 5000 });
    expect(s.handshakes.map((h) => h.token)).not.toContain(expired);
    expect(r.calls).toHaveLength(1);
  });
});

describe("server refusals", () => {
  it('recovers from "Invalid or expired token" (no data) with exactly one refresh', async () => {
    const s = await server({ style: "message" });
    // A token signed with another key: the client cannot know it is bad, only the server can.
    const { r, client, seen } = await foreignTokenClient(s);
    await client.waitFor("authenticated", { timeoutMs: 5000 });
    expect(r.calls.map((c) => c.reason)).toEqual(["rejected"]);
    expect(s.handshakes.map((h) => h.verdict)).toEqual(["invalid", "accepted"]);
    expect(seen.logged_out).toBeUndefined();
  });

  it.each([
    ["TOKEN_INVALID", "invalid"],
    ["TOKEN_EXPIRED", "expired-by-server"],
  ])("recovers from err.data.code %s", async (_code, kind) => {
    const s = await server({ style: "code" });
    const r = refresher();
    // The server decides: a foreign signature is invalid; for "expired" we hand a token whose exp passed on the
    // server but which the client believes in (expiresIn overrides the JWT's exp on the client side).
    const bad =
      kind === "invalid"
        ? {
            token: await signForeignToken(),
          }
        : { token: await signToken({ ttlSec: -5 }), expiresIn: 60_000 };
    const client = createAuthedSocket(s.url, { getToken: () => bad, refresh: r.refresh, logger: null });
    track(client);
    await client.waitFor("authenticated", { timeoutMs: 5000 });
    expect(r.calls).toHaveLength(1);
    expect(s.accepted()).toHaveLength(1);
  });

  it("treats TOKEN_MISSING as a reason to refresh", async () => {
    const s = await server({ style: "code" });
    const r = refresher();
    // The client sends its token in a header while this server reads handshake.auth: every handshake arrives
    // without a token and is refused with TOKEN_MISSING.
    const client = createAuthedSocket(s.url, { refresh: r.refresh, tokenIn: "header", logger: null });
    const seen = track(client);
    const out = await client.waitFor("logged_out", { timeoutMs: 8000 });
    // Every handshake reached the server without handshake.auth.token: refused as missing, refreshed each time,
    // and the loop stopped at maxAuthRejections.
    expect(out.reason).toBe("auth_rejected");
    expect(s.handshakes.every((h) => h.verdict === "missing")).toBe(true);
    expect(r.calls.filter((c) => c.reason === "rejected").length).toBeGreaterThanOrEqual(2);
    expect(seen.authenticated).toBeUndefined();
  });

  it("logs out on FORBIDDEN without any retry", async () => {
    const s = await server({ style: "code", forbid: true });
    const r = refresher();
    const client = createAuthedSocket(s.url, { refresh: r.refresh, logger: null });
    track(client);
    const out = await client.waitFor("logged_out", { timeoutMs: 5000 });
    expect(out.reason).toBe("forbidden");
    expect(out.error?.code).toBe("ERR_FORBIDDEN");
    const count = s.handshakes.length;
    expect(count).toBe(1);
    // Give the client every chance to misbehave: wait for a fresh handshake on another client to complete.
    const probe = createAuthedSocket((await server()).url, { refresh: r.refresh, logger: null });
    clients.push(probe);
    await probe.waitFor("authenticated", { timeoutMs: 5000 });
    expect(s.handshakes.length).toBe(count);
    expect(client.state).toBe("logged_out");
  });

  it("recovers from a server that accepts, then emits auth_error and disconnects", async () => {
    const s = await server({ style: "accept-then-complain" });
    const { r, client, seen } = await foreignTokenClient(s);
    await waitUntil(() => (seen.authenticated?.length ?? 0) >= 2, {
      what: "a second authenticated",
      timeoutMs: 8000,
    });
    expect(r.calls.map((c) => c.reason)).toEqual(["rejected"]);
    expect(s.handshakes.map((h) => h.verdict)).toEqual(["invalid", "accepted"]);
    expect(client.state).toBe("authenticated");
    expect(client.socket.connected).toBe(true);
  });

  it("takes a server's disconnect before it answered the CONNECT as a refusal, and drops the auth_error sent with it", async () => {
    const s = await server({ style: "complain-before-connect" });
    const { r, client, seen } = await foreignTokenClient(s);
    await client.waitFor("authenticated", { timeoutMs: 8000 });
    // Long enough for a stale auth_error to have been delivered on the new connection and acted on.
    await client.socket.timeout(2000).emitWithAck("echo", "after");
    expect({
      reasons: r.calls.map((c) => c.reason),
      verdicts: s.handshakes.map((h) => h.verdict),
      authenticated: seen.authenticated?.length,
      state: client.state,
    }).toEqual({
      reasons: ["rejected"],
      verdicts: ["invalid", "accepted"],
      authenticated: 1,
      state: "authenticated",
    });
  });

  it("a server that accepts and then disconnects a bad token without a word (a NestJS handleConnection): one forced refresh, then connected", async () => {
    const s = await server({ style: "disconnect-on-connection" });
    const { r, client } = await foreignTokenClient(s);
    await waitUntil(() => s.accepted().length >= 1, { what: "an accepted handshake", timeoutMs: 8000 });
    await client.socket.timeout(2000).emitWithAck("echo", "after");
    expect({
      reasons: r.calls.map((c) => c.reason),
      verdicts: s.handshakes.map((h) => h.verdict),
      state: client.state,
    }).toEqual({ reasons: ["rejected"], verdicts: ["invalid", "accepted"], state: "authenticated" });
  });

  it("a server that disconnects a settled connection without a word (a kick): the same token again, no refresh, not a refusal", async () => {
    const s = await server();
    const r = refresher();
    let offsetMs = 0; // the client's clock, moved past the 2-s settle time instead of waiting for it
    const client = createAuthedSocket(s.url, {
      refresh: r.refresh,
      logger: null,
      clock: { now: () => Date.now() + offsetMs },
    });
    await client.waitFor("authenticated", { timeoutMs: 5000 });
    offsetMs = 3000;
    s.sockets.at(-1)?.disconnect(true);
    await waitUntil(() => s.accepted().length >= 2, { what: "a second accepted handshake", timeoutMs: 8000 });
    expect({
      reasons: r.calls.map((c) => c.reason),
      sameToken: s.handshakes[1]?.token === s.handshakes[0]?.token,
    }).toEqual({ reasons: ["missing"], sameToken: true });
  });

  it("a server that disconnects every token right after accepting it: logged out with auth_rejected after maxAuthRejections", async () => {
    const s = await server({ style: "disconnect-on-connection", refuseAll: true });
    const r = refresher();
    const client = createAuthedSocket(s.url, { refresh: r.refresh, logger: null, maxAuthRejections: 3 });
    const out = await client.waitFor("logged_out", { timeoutMs: 8000 });
    expect({ reason: out.reason, handshakes: s.handshakes.length, refreshes: r.calls.length }).toEqual({
      reason: "auth_rejected",
      handshakes: 3,
      refreshes: 3,
    });
  });

  it("gives up with auth_rejected against a server that refuses every token, and stops handshaking", async () => {
    const s = await server({ style: "message", refuseAll: true });
    const r = refresher();
    const client = createAuthedSocket(s.url, { refresh: r.refresh, logger: null, maxAuthRejections: 3 });
    track(client);
    const out = await client.waitFor("logged_out", { timeoutMs: 8000 });
    expect(out.reason).toBe("auth_rejected");
    expect(s.handshakes).toHaveLength(3);
    const probe = createAuthedSocket((await server()).url, { refresh: r.refresh, logger: null });
    clients.push(probe);
    await probe.waitFor("authenticated", { timeoutMs: 5000 });
    expect(s.handshakes).toHaveLength(3);
    expect(client.socket.active).toBe(false);
  });
});

describe("token lifetimes", () => {
  it("re-handshakes over five lifetimes of 2-second tokens with fresh tokens only, and ends connected", async () => {
    const s = await server({ style: "message" });
    const r = refresher(2);
    const client = createAuthedSocket(s.url, { refresh: r.refresh, logger: null, rotation: "reconnect" });
    const seen = track(client);
    await client.waitFor("authenticated", { timeoutMs: 5000 });
    await waitUntil(() => (seen.refreshed?.length ?? 0) >= 6, { what: "six refreshes", timeoutMs: 15_000 });
    expect(s.handshakes.length).toBeGreaterThanOrEqual(5);
    expect(s.handshakes.filter((h) => h.verdict !== "accepted")).toEqual([]);
    for (const h of s.handshakes) {
      const exp = decodeJwt(h.token as string).exp as number;
      expect(exp * 1000).toBeGreaterThan(h.at);
    }
    expect(seen.logged_out).toBeUndefined();
    await client.waitFor("authenticated", { timeoutMs: 5000 });
    expect(client.socket.connected).toBe(true);
  });

  it("reconnects with a refreshed token after the server drops the transport once the token expired", async () => {
    const s = await server({ style: "message" });
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => (open = resolve));
    let n = 0;
    const client = createAuthedSocket(s.url, {
      // The first token lives 1 s; the refresh that replaces it is held back until the transport has dropped.
      refresh: async () =>
        n++ === 0 ? signToken({ ttlSec: 1 }) : gate.then(() => signToken({ ttlSec: 60 })),
      refreshMarginMs: 0,
      jitter: 0,
      logger: null,
    });
    const seen = track(client);
    await client.waitFor("authenticated", { timeoutMs: 5000 });
    await waitUntil(() => (seen.refreshing?.length ?? 0) >= 2, { what: "the proactive refresh" });
    await waitUntil(() => client.expiresAt !== null && Date.now() > client.expiresAt, { what: "expiry" });
    s.sockets[0]?.conn.close(); // what a server enforcing expiry does
    await waitUntil(() => client.state === "reconnecting" || client.state === "connecting", {
      what: "reconnecting",
    });
    open();
    await waitUntil(() => (seen.authenticated?.length ?? 0) >= 2, {
      what: "re-authentication",
      timeoutMs: 8000,
    });
    expect(s.handshakes.map((h) => h.verdict)).toEqual(["accepted", "accepted"]);
    expect(s.handshakes[1]?.token).not.toBe(s.handshakes[0]?.token);
    expect(n).toBe(2);
  });
});

describe("refresh failures", () => {
  it("retries a refresh that throws twice, then connects", async () => {
    const s = await server();
    let calls = 0;
    const client = createAuthedSocket(s.url, {
      refresh: async () => {
        calls++;
        if (calls <= 2) throw new Error("503 from the token service");
        return signToken();
      },
      retry: { baseDelayMs: 20, maxDelayMs: 50 },
      logger: null,
    });
    const seen = track(client);
    await client.waitFor("authenticated", { timeoutMs: 8000 });
    expect(calls).toBe(3);
    expect(seen.refresh_failed?.map((f) => f.attempt)).toEqual([1, 2]);
    expect(seen.refresh_failed?.every((f) => f.error.code === "ERR_REFRESH_FAILED")).toBe(true);
  });

  it("logs out when refresh returns null, and never reconnects", async () => {
    const s = await server();
    const client = createAuthedSocket(s.url, { refresh: () => null, logger: null });
    track(client);
    const out = await client.waitFor("logged_out", { timeoutMs: 5000 });
    expect(out.reason).toBe("refresh_rejected");
    expect(s.handshakes).toHaveLength(0);
    expect(client.socket.active).toBe(false);
  });

  it("logs out when refresh throws UnauthorizedError", async () => {
    const s = await server();
    const client = createAuthedSocket(s.url, {
      refresh: () => {
        throw new UnauthorizedError("refresh token revoked");
      },
      logger: null,
    });
    track(client);
    const out = await client.waitFor("logged_out", { timeoutMs: 5000 });
    expect(out.reason).toBe("refresh_rejected");
    expect(out.error?.code).toBe("ERR_UNAUTHORIZED");
  });

  it("aborts a hanging refresh after refreshTimeoutMs and retries", async () => {
    const s = await server();
    const signals: AbortSignal[] = [];
    const client = createAuthedSocket(s.url, {
      refresh: ({ signal }) => {
        signals.push(signal);
        return signals.length === 1 ? new Promise<string>(() => {}) : signToken();
      },
      refreshTimeoutMs: 200,
      retry: { baseDelayMs: 10, maxDelayMs: 20 },
      logger: null,
    });
    const seen = track(client);
    await client.waitFor("authenticated", { timeoutMs: 5000 });
    expect(signals).toHaveLength(2);
    expect(signals[0]?.aborted).toBe(true);
    expect(seen.refresh_failed?.[0]?.error.code).toBe("ERR_REFRESH_TIMEOUT");
  });

  it("shares one refresh between five simultaneous triggers", async () => {
    const s = await server();
    const r = refresher();
    const client = createAuthedSocket(s.url, { refresh: r.refresh, logger: null });
    track(client);
    await client.waitFor("authenticated", { timeoutMs: 5000 });
    const before = r.calls.length;
    await Promise.all([
      client.refresh(),
      client.refresh(),
      client.refresh(),
      client.refresh(),
      client.refresh(),
    ]);
    expect(r.calls.length - before).toBe(1);
  });
});

describe("ending the session", () => {
  it("logout during an in-flight refresh: no reconnect, socket.auth cleared, late token ignored", async () => {
    const s = await server();
    let release: (token: string) => void = () => {};
    const client = createAuthedSocket(s.url, {
      refresh: () => new Promise<string>((resolve) => (release = resolve)),
      logger: null,
    });
    const seen = track(client);
    await waitUntil(() => (seen.refreshing?.length ?? 0) === 1, { what: "the refresh to start" });
    client.logout();
    release(await signToken());
    // The late token must change nothing: wait for a probe handshake on another server as a barrier.
    const probe = createAuthedSocket((await server()).url, { refresh: () => signToken(), logger: null });
    clients.push(probe);
    await probe.waitFor("authenticated", { timeoutMs: 5000 });
    expect(client.state).toBe("logged_out");
    expect(client.socket.auth).toEqual({});
    expect(client.socket.active).toBe(false);
    expect(client.expiresAt).toBeNull();
    expect(s.handshakes).toHaveLength(0);
    expect(seen.logged_out).toEqual([{ reason: "logout" }]);
  });

  it("logout fails acknowledgements of emits buffered while disconnected instead of leaving them hanging", async () => {
    const s = await server();
    const client = createAuthedSocket(s.url, { refresh: () => new Promise<string>(() => {}), logger: null });
    track(client);
    const pending = client.socket.timeout(60_000).emitWithAck("echo", 1);
    client.logout();
    await expect(pending).rejects.toThrow(/session ended/);
    expect(client.socket.sendBuffer).toHaveLength(0);
  });

  it("connect() after logout asks for a token again", async () => {
    const s = await server();
    const r = refresher();
    const client = createAuthedSocket(s.url, { refresh: r.refresh, logger: null });
    track(client);
    await client.waitFor("authenticated", { timeoutMs: 5000 });
    client.logout();
    client.connect();
    await client.waitFor("authenticated", { timeoutMs: 5000 });
    expect(r.calls).toHaveLength(2);
    expect(s.accepted()).toHaveLength(2);
  });
});
