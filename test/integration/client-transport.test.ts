import { afterEach, describe, expect, it } from "vitest";
import { type AuthedSocket, type AuthedSocketEvents, createAuthedSocket } from "../../src/index.js";
import { startAuthServer } from "../helpers/auth-server.js";
import { signToken } from "../helpers/jwt.js";
import { waitUntil } from "../helpers/wait.js";

const clients: AuthedSocket[] = [];
const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
});

describe("where the token travels", () => {
  it('tokenIn "header" sends Authorization: Bearer and nothing in handshake.auth', async () => {
    const s = await startAuthServer({ tokenFrom: "header" });
    servers.push(s);
    const token = await signToken();
    const client = createAuthedSocket(s.url, {
      getToken: () => token,
      refresh: () => signToken(),
      tokenIn: "header",
      logger: null,
    });
    clients.push(client);
    await client.waitFor("authenticated", { timeoutMs: 5000 });
    expect(s.handshakes.map((h) => h.verdict)).toEqual(["accepted"]);
    expect(s.handshakes[0]?.authorization).toBe(`Bearer ${token}`);
    expect(s.handshakes[0]?.token).toBe(token);
    const [socket] = await s.io.fetchSockets();
    expect(socket?.handshake.auth).toEqual({});
  });

  it('tokenIn "header" carries a refreshed token into the next handshake', async () => {
    const s = await startAuthServer({ tokenFrom: "header", style: "code" });
    servers.push(s);
    const foreign = await signToken({
      secret: new TextEncoder().encode("another-secret-that-is-32-bytes-long"),
    });
    const client = createAuthedSocket(s.url, {
      getToken: () => foreign,
      refresh: () => signToken(),
      tokenIn: "header",
      logger: null,
    });
    clients.push(client);
    await client.waitFor("authenticated", { timeoutMs: 5000 });
    expect(s.handshakes.map((h) => h.verdict)).toEqual(["invalid", "accepted"]);
  });

  it('tokenIn "query" puts the token in the query string and warns once', async () => {
    const s = await startAuthServer({ tokenFrom: "query" });
    servers.push(s);
    const warnings: string[] = [];
    const token = await signToken();
    const client = createAuthedSocket(s.url, {
      getToken: () => token,
      refresh: () => signToken(),
      tokenIn: "query",
      logger: { warn: (m) => warnings.push(m) },
    });
    clients.push(client);
    await client.waitFor("authenticated", { timeoutMs: 5000 });
    expect(s.handshakes[0]?.query.token).toBe(token);
    expect(warnings.filter((w) => w.includes("query"))).toHaveLength(1);
    expect(warnings.join(" ")).not.toContain(token);
  });

  it("sends the fields of socket.auth along with the token", async () => {
    const s = await startAuthServer();
    servers.push(s);
    const client = createAuthedSocket(s.url, {
      refresh: () => signToken(),
      socket: { auth: { deviceId: "d-1" } },
      logger: null,
    });
    clients.push(client);
    await client.waitFor("authenticated", { timeoutMs: 5000 });
    const sockets = await s.io.fetchSockets();
    expect(sockets[0]?.handshake.auth).toMatchObject({ deviceId: "d-1" });
  });
});

describe("hostile provider results", () => {
  it.each([
    ["a number", 42],
    ["an object without token", { accessToken: "x" }],
    ["a token with a string expiresAt", { token: "opaque", expiresAt: "soon" }],
  ])("%s is a refresh_failed with a clear error, never a crash", async (_name, bad) => {
    const s = await startAuthServer();
    servers.push(s);
    let calls = 0;
    const failures: AuthedSocketEvents["refresh_failed"][] = [];
    const client = createAuthedSocket(s.url, {
      refresh: async () => (calls++ === 0 ? (bad as never) : signToken()),
      retry: { baseDelayMs: 10, maxDelayMs: 20 },
      logger: null,
      on: { refresh_failed: (f) => failures.push(f) },
    });
    clients.push(client);
    await client.waitFor("authenticated", { timeoutMs: 5000 });
    expect(failures).toHaveLength(1);
    expect(failures[0]?.error.code).toBe("ERR_INVALID_TOKEN");
    expect(failures[0]?.error.message).toMatch(/^refresh (must return|returned)/);
  });

  it("an opaque (non-JWT) token works and is refreshed when the server refuses it", async () => {
    const s = await startAuthServer({ style: "message" });
    servers.push(s);
    let calls = 0;
    const client = createAuthedSocket(s.url, {
      getToken: () => "opaque-session-id",
      refresh: async () => {
        calls++;
        return signToken();
      },
      logger: null,
    });
    clients.push(client);
    await client.waitFor("authenticated", { timeoutMs: 5000 });
    expect(calls).toBe(1);
    expect(s.handshakes.map((h) => h.verdict)).toEqual(["invalid", "accepted"]);
  });

  it("a throwing lifecycle listener does not break the client", async () => {
    const s = await startAuthServer();
    servers.push(s);
    const errors: unknown[] = [];
    const client = createAuthedSocket(s.url, {
      refresh: () => signToken(),
      logger: { error: (_m, e) => errors.push(e) },
      on: {
        refreshing: () => {
          throw new Error("listener bug");
        },
      },
    });
    clients.push(client);
    await client.waitFor("authenticated", { timeoutMs: 5000 });
    await waitUntil(() => errors.length > 0, { what: "the listener error to be logged" });
    expect(String(errors[0])).toContain("listener bug");
  });
});
