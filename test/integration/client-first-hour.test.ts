import { afterEach, describe, expect, it, vi } from "vitest";
import { type AuthedSocket, createAuthedSocket } from "../../src/index.js";
import { signToken } from "../helpers/jwt.js";
import { jwtServer as startJwtServer } from "../helpers/jwt-server.js";
import { startServer, type TestServer } from "../helpers/server.js";
import { waitUntil } from "../helpers/wait.js";

const clients: AuthedSocket[] = [];
const servers: TestServer[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
});

async function jwtServer(state: { refuse: boolean } = { refuse: false }) {
  const server = await startJwtServer(state);
  servers.push(server);
  return server;
}

async function closedPortUrl(): Promise<string> {
  const gone = await startServer();
  await gone.close();
  return gone.url;
}

function consoleWarnings() {
  const spy = vi.spyOn(console, "warn").mockImplementation(() => undefined);
  return () => spy.mock.calls.map((call) => String(call[0]));
}

const fastRetry = { baseDelayMs: 5, maxDelayMs: 10 };

describe("a server that refuses every token, with the default logger (item 5)", () => {
  it("warns on logged_out with the reason and the server's refusal; ERR_AUTH_REJECTED carries it as cause", async () => {
    const warnings = consoleWarnings();
    const server = await jwtServer({ refuse: true });
    const tokens: string[] = [];
    const client = createAuthedSocket(server.url, {
      refresh: async () => {
        const token = await signToken();
        tokens.push(token);
        return token;
      },
    });
    clients.push(client);
    const waited = await client.waitFor("authenticated").catch((error: unknown) => error);
    expect(waited).toMatchObject({ code: "ERR_LOGGED_OUT" });
    const rejected = (waited as Error).cause as Error & { code?: string };
    expect(rejected.code).toBe("ERR_AUTH_REJECTED");
    expect((rejected.cause as Error).message).toBe("invalid signature");
    expect(warnings().filter((w) => w.includes("logged out"))).toEqual([
      `authed-socket: logged out (auth_rejected): the server refused 3 fresh tokens in a row; the last refusal: "invalid signature". Check that the server verifies with the issuer's secret or key, algorithm, issuer and audience, and its clock.`,
    ]);
    for (const token of tokens) expect(warnings().join("\n")).not.toContain(token);
  });
});

describe("a server that cannot be reached, with the default logger (item 5)", () => {
  it("warns once with the URL, the attempts and the last error; waitFor's timeout says the same", async () => {
    const warnings = consoleWarnings();
    const url = await closedPortUrl();
    const client = createAuthedSocket(url, {
      refresh: () => signToken(),
      socket: { reconnectionDelay: 10, reconnectionDelayMax: 20 },
    });
    clients.push(client);
    let attempts = 0;
    client.socket.io.on("reconnect_attempt", () => attempts++);
    const waited = await client.waitFor("authenticated", { timeoutMs: 2000 }).catch((e: Error) => e);
    expect(attempts).toBeGreaterThan(4);
    expect(warnings()).toEqual([
      `authed-socket: cannot reach ${url}: 3 attempts failed, the last with xhr poll error (no HTTP response); still retrying`,
    ]);
    expect((waited as Error).message).toMatch(
      new RegExp(
        `^no "authenticated" within 2000 ms \\(cannot reach ${url.replace(/\./g, "\\.")}: \\d+ attempts`,
      ),
    );
  });
});

describe("debug: true (item 5)", () => {
  it("narrates the lifecycle at debug level, never a token", async () => {
    const server = await jwtServer();
    const lines: string[] = [];
    const tokens: string[] = [];
    const client = createAuthedSocket(server.url, {
      refresh: async () => {
        const token = await signToken({ ttlSec: 60 });
        tokens.push(token);
        return token;
      },
      debug: true,
      logger: { debug: (m) => lines.push(m), warn: (m) => lines.push(m) },
    });
    clients.push(client);
    await client.waitFor("authenticated");
    expect(lines.slice(0, 4)).toEqual([
      "authed-socket: state idle → connecting",
      "authed-socket: refreshing (missing)",
      expect.stringMatching(/^authed-socket: refreshed: a token that expires in (59|60) s$/),
      "authed-socket: state connecting → authenticated",
    ]);
    expect(lines[4]).toMatch(/^authed-socket: authenticated \(handshake\) with a token that expires in/);
    expect(lines.join("\n")).not.toContain(tokens[0]);
  });
});

describe("what refresh returns (item 6)", () => {
  it("{ accessToken } is named, with the fix, and ends in logged_out after 3 attempts instead of retrying for ever", async () => {
    const warnings = consoleWarnings();
    const server = await jwtServer();
    let calls = 0;
    const client = createAuthedSocket(server.url, {
      refresh: async () => {
        calls++;
        return { accessToken: await signToken() } as never;
      },
      retry: fastRetry,
    });
    clients.push(client);
    const { reason, error } = await client.waitFor("logged_out");
    expect(reason).toBe("refresh_failed");
    expect(error?.code).toBe("ERR_INVALID_TOKEN");
    expect(error?.message).toBe(
      'refresh returned an object without "token" (fields "accessToken"); return { token: result.accessToken } instead (3 times in a row: a programming error, not a passing failure)',
    );
    expect(calls).toBe(3);
    expect(warnings().at(-1)).toMatch(
      /^authed-socket: logged out \(refresh_failed\): refresh returned an object/,
    );
  });

  it('a refresh that throws "refresh failed" never reads "refresh failed: refresh failed"', async () => {
    const warnings = consoleWarnings();
    const server = await jwtServer();
    const client = createAuthedSocket(server.url, {
      refresh: () => {
        throw new Error("refresh failed");
      },
      retry: { ...fastRetry, attempts: 2 },
    });
    clients.push(client);
    const { error } = await client.waitFor("logged_out");
    expect(error?.message).toBe("refresh threw refresh failed");
    expect(warnings().length).toBeGreaterThan(0);
    for (const line of warnings()) expect(line).not.toMatch(/refresh failed: refresh failed/);
  });
});

describe("emits after logged_out (item 7)", () => {
  it("fail at once with ERR_LOGGED_OUT, reach no server, and work again after connect()", async () => {
    const state = { refuse: true };
    const server = await jwtServer(state);
    const client = createAuthedSocket(server.url, { refresh: () => signToken(), logger: null });
    clients.push(client);
    await client.waitFor("logged_out");
    // A 60-s ack timeout: only a refusal at once settles this within the test's timeout.
    await expect(client.socket.timeout(60_000).emitWithAck("chat", "lost")).rejects.toMatchObject({
      code: "ERR_LOGGED_OUT",
      message: expect.stringContaining("logged_out: auth_rejected"),
    });
    const acked = await new Promise<unknown>((resolve) =>
      client.socket.timeout(60_000).emit("chat", "lost too", (err: unknown) => resolve(err)),
    );
    expect(acked).toMatchObject({ code: "ERR_LOGGED_OUT" });
    state.refuse = false;
    client.connect();
    await client.waitFor("authenticated");
    await expect(client.socket.timeout(5000).emitWithAck("chat", "delivered")).resolves.toBe("ok");
    expect(server.received).toEqual(["chat"]);
  });

  it("after close() they fail at once with ERR_CLOSED", async () => {
    const server = await jwtServer();
    const client = createAuthedSocket(server.url, { refresh: () => signToken(), logger: null });
    clients.push(client);
    await client.waitFor("authenticated");
    client.close();
    await expect(client.socket.timeout(60_000).emitWithAck("chat")).rejects.toMatchObject({
      code: "ERR_CLOSED",
    });
  });
});

describe("the URL (item 8)", () => {
  it("a URL object connects like its string", async () => {
    const server = await jwtServer();
    const client = createAuthedSocket(new URL(server.url), { refresh: () => signToken(), logger: null });
    clients.push(client);
    await expect(client.waitFor("authenticated")).resolves.toMatchObject({ via: "handshake" });
    await waitUntil(() => client.socket.connected, { what: "the socket connected" });
  });

  it("anything else is a TypeError naming url and what it got", () => {
    expect(() => createAuthedSocket(42 as never, { refresh: () => null })).toThrow(
      /"url" must be a non-empty string or a URL \(got a number\)/,
    );
  });
});
