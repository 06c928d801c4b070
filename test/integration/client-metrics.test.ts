/**
 * instrumentClient(client, meter) against a real socket.io server running the companion, with real JWTs: each
 * client instrument of docs/metrics.md records what the client's lifecycle did, read back through a real
 * OpenTelemetry SDK MeterProvider.
 */
import { metrics as otelMetrics } from "@opentelemetry/api";
import { afterEach, describe, expect, it } from "vitest";
import { type AuthedSocket, createAuthedSocket, instrumentClient } from "../../src/index.js";
import { authenticate, jwtVerifier } from "../../src/server/index.js";
import { signToken, TEST_SECRET } from "../helpers/jwt.js";
import { type TestMeter, testMeter } from "../helpers/metrics.js";
import { startServer, type TestServer } from "../helpers/server.js";
import { waitUntil } from "../helpers/wait.js";

const clients: AuthedSocket[] = [];
const servers: TestServer[] = [];
const meters: TestMeter[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await Promise.all(meters.splice(0).map((m) => m.provider.shutdown()));
});

async function serve(): Promise<TestServer> {
  const server = await startServer();
  servers.push(server);
  server.io.use(authenticate({ verify: jwtVerifier({ secret: TEST_SECRET, algorithms: ["HS256"] }) }));
  return server;
}

function meter(): TestMeter {
  const m = testMeter();
  meters.push(m);
  return m;
}

type Options = Parameters<typeof createAuthedSocket>[1];

function connect(url: string, options: Partial<Options> & Pick<Options, "refresh">): AuthedSocket {
  const client = createAuthedSocket(url, {
    getToken: () => null,
    logger: null,
    autoConnect: false,
    socket: { reconnectionDelay: 10, reconnectionDelayMax: 20 },
    ...options,
  } as Options);
  clients.push(client);
  return client;
}

describe("client metrics", () => {
  it("refresh duration: from the first attempt to the new token, by outcome and reason, in seconds", async () => {
    const server = await serve();
    const m = meter();
    let fakeNow = 1000;
    const client = connect(server.url, {
      refresh: async () => {
        fakeNow += 250;
        return signToken();
      },
    });
    instrumentClient(client, m.meter, { now: () => fakeNow });
    client.connect();
    await client.waitFor("authenticated", { timeoutMs: 5000 });
    const success = await m.histogram("authed_socket.client.refresh.duration", {
      outcome: "success",
      reason: "missing",
    });
    expect(success).toEqual({ count: 1, sum: 0.25, unit: "s" });
  });

  it("a refresh that fails every attempt is one failure, timed to the last attempt, and a logged_out refresh_failed", async () => {
    const server = await serve();
    const m = meter();
    let fakeNow = 0;
    const client = connect(server.url, {
      refresh: async () => {
        fakeNow += 100;
        throw new Error("identity provider down");
      },
      retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 },
    });
    instrumentClient(client, m.meter, { now: () => fakeNow });
    const loggedOut = client.waitFor("logged_out", { timeoutMs: 5000 });
    client.connect();
    expect(await loggedOut).toMatchObject({ reason: "refresh_failed" });
    const failure = await m.histogram("authed_socket.client.refresh.duration", { outcome: "failure" });
    expect(failure).toEqual({ count: 1, sum: 0.3, unit: "s" });
    expect(await m.sum("authed_socket.client.logouts", { reason: "refresh_failed" })).toBe(1);
  });

  it("rotations by way: the first token is not one, an in-band refresh and a re-handshake after a drop are", async () => {
    const server = await serve();
    const m = meter();
    const client = connect(server.url, { refresh: () => signToken() });
    instrumentClient(client, m.meter);
    client.connect();
    await client.waitFor("authenticated", { timeoutMs: 5000 });
    expect(await m.sum("authed_socket.client.rotations")).toBe(0);

    // waitFor("authenticated") would resolve at once: the client is authenticated already.
    const ways: string[] = [];
    client.on("authenticated", ({ via }) => ways.push(via));
    await client.refresh();
    await waitUntil(() => ways.length === 1, { what: "the in-band rotation" });
    expect(ways).toEqual(["in-band"]);
    expect(await m.sum("authed_socket.client.rotations", { via: "in-band" })).toBe(1);

    const again = client.waitFor("state", { timeoutMs: 5000 });
    client.socket.io.engine.close();
    await again;
    await client.waitFor("authenticated", { timeoutMs: 5000 });
    expect(await m.sum("authed_socket.client.rotations", { via: "handshake" })).toBe(1);
    expect(await m.sum("authed_socket.client.rotations")).toBe(2);
  });

  it("reconnect duration: from leaving authenticated on a drop to authenticated again, one point per drop", async () => {
    const server = await serve();
    const m = meter();
    let fakeNow = 0;
    const client = connect(server.url, { refresh: () => signToken() });
    instrumentClient(client, m.meter, { now: () => fakeNow });
    client.connect();
    await client.waitFor("authenticated", { timeoutMs: 5000 });
    expect((await m.histogram("authed_socket.client.reconnect.duration")).count).toBe(0);

    const left = client.waitFor("state", { timeoutMs: 5000 });
    client.socket.io.engine.close();
    expect((await left).from).toBe("authenticated");
    fakeNow += 1500;
    await client.waitFor("authenticated", { timeoutMs: 5000 });
    await waitUntil(() => client.state === "authenticated", { what: "authenticated again" });
    expect(await m.histogram("authed_socket.client.reconnect.duration")).toEqual({
      count: 1,
      sum: 1.5,
      unit: "s",
    });
  });

  it("logged_out by reason, and stop() ends recording", async () => {
    const server = await serve();
    const m = meter();
    const client = connect(server.url, { refresh: () => signToken() });
    const stop = instrumentClient(client, m.meter);
    client.connect();
    await client.waitFor("authenticated", { timeoutMs: 5000 });
    client.logout();
    expect(await m.sum("authed_socket.client.logouts", { reason: "logout" })).toBe(1);

    stop();
    client.connect();
    await client.waitFor("authenticated", { timeoutMs: 5000 });
    client.logout();
    expect(await m.sum("authed_socket.client.logouts", { reason: "logout" })).toBe(1);
    expect((await m.histogram("authed_socket.client.refresh.duration")).count).toBe(1);
  });

  it("names what it was given at fault", () => {
    const client = connect("http://127.0.0.1:1", { refresh: () => null });
    expect(() => instrumentClient(client, {} as never)).toThrow(/`meter`/);
    expect(() => instrumentClient({} as never, meter().meter)).toThrow(/`client`/);
  });
});

describe("a client not instrumented", () => {
  it("records nothing, not even on the global meter provider, through refresh, drop, rotation and logout", async () => {
    const server = await serve();
    const global = meter();
    otelMetrics.setGlobalMeterProvider(global.provider);
    try {
      const client = connect(server.url, { refresh: () => signToken() });
      client.connect();
      await client.waitFor("authenticated", { timeoutMs: 5000 });
      await client.refresh();
      const left = client.waitFor("state", { timeoutMs: 5000 });
      client.socket.io.engine.close();
      await left;
      await client.waitFor("authenticated", { timeoutMs: 5000 });
      client.logout();
      expect(await global.names()).toEqual([]);
    } finally {
      otelMetrics.disable();
    }
  });
});
