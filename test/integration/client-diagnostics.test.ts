import { io, type Socket } from "socket.io-client";
import { afterEach, describe, expect, it } from "vitest";
import {
  createDiagnostics,
  emitAfterLoggedOut,
  refuseEmits,
  UNREACHABLE_AFTER,
  watch,
} from "../../src/diagnostics.js";
import { createEmitter } from "../../src/events.js";
import { createLog } from "../../src/log.js";
import { signToken } from "../helpers/jwt.js";
import { jwtServer as startJwtServer } from "../helpers/jwt-server.js";
import { startServer, type TestServer } from "../helpers/server.js";
import { nextEvent, waitUntil } from "../helpers/wait.js";

const sockets: Socket[] = [];
const servers: TestServer[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  for (const s of servers.splice(0)) await s.close();
});

function recorder(secrets: string[] = []) {
  const lines: { level: string; message: string }[] = [];
  const sink = (level: string) => (message: string) => lines.push({ level, message });
  const log = createLog({ debug: sink("debug"), info: sink("info"), warn: sink("warn") }, () => secrets);
  return { log, lines, warnings: () => lines.filter((l) => l.level === "warn").map((l) => l.message) };
}

async function jwtServer(state: { refuse: boolean } = { refuse: false }) {
  const server = await startJwtServer(state);
  servers.push(server);
  return server;
}

function watchedSocket(url: string, options: Parameters<typeof io>[1], secrets: string[] = []) {
  const recorded = recorder(secrets);
  const socket = io(url, { forceNew: true, autoConnect: false, ...options });
  sockets.push(socket);
  const diagnostics = createDiagnostics({ log: recorded.log, url, debug: true, now: Date.now });
  const events = createEmitter(() => undefined);
  watch(diagnostics, socket, events);
  return { socket, diagnostics, events, ...recorded };
}

describe("a real server that refuses every token", () => {
  it("the refusal socket.io-client reports is on record, quoted, redacted, and the cause of ERR_AUTH_REJECTED", async () => {
    const server = await jwtServer({ refuse: true });
    const token = await signToken();
    const { socket, diagnostics, warnings, lines } = watchedSocket(server.url, { auth: { token } }, [token]);
    const refused = nextEvent<Error>(socket, "connect_error");
    socket.connect();
    const error = await refused;
    expect(socket.active).toBe(false); // a middleware refusal: socket.io will not retry by itself
    const rejected = diagnostics.authRejected(3);
    expect(rejected.cause).toBe(error);
    expect(rejected.message).toBe(
      'the server refused 3 fresh tokens in a row; the last refusal: "invalid signature"',
    );
    diagnostics.loggedOut("auth_rejected", rejected);
    expect(warnings()).toEqual([
      `authed-socket: logged out (auth_rejected): the server refused 3 fresh tokens in a row; the last refusal: "invalid signature". Check that the server verifies with the issuer's secret or key, algorithm, issuer and audience, and its clock.`,
    ]);
    expect(JSON.stringify(lines)).not.toContain(token);
  });
});

describe("a port nobody listens on", () => {
  it(`warns once after ${UNREACHABLE_AFTER} failed attempts with the URL and socket.io's last error`, async () => {
    const gone = await startServer();
    const url = gone.url;
    await gone.close();
    const { socket, warnings } = watchedSocket(url, {
      reconnectionDelay: 10,
      reconnectionDelayMax: 20,
      transports: ["websocket"],
    });
    let failures = 0;
    socket.on("connect_error", () => failures++);
    socket.connect();
    await waitUntil(() => failures >= UNREACHABLE_AFTER + 3, {
      what: "six failed attempts",
      timeoutMs: 10_000,
    });
    expect(warnings()).toEqual([
      `authed-socket: cannot reach ${url}: ${UNREACHABLE_AFTER} attempts failed, the last with websocket error (connect ECONNREFUSED ${url.replace("http://", "")}); still retrying`,
    ]);
  });

  it("with the polling transport the last error says no HTTP response came", async () => {
    const gone = await startServer();
    const url = gone.url;
    await gone.close();
    const { socket, diagnostics } = watchedSocket(url, { reconnectionDelay: 10, reconnectionDelayMax: 20 });
    socket.connect();
    await nextEvent(socket, "connect_error");
    expect(diagnostics.explain()).toBe(
      ` (cannot reach ${url}: 1 attempts, the last with xhr poll error (no HTTP response))`,
    );
  });
});

describe("emits after a real session ended", () => {
  it("fail at once and never reach the server; once allowed again they are delivered", async () => {
    const state = { refuse: false };
    const server = await jwtServer(state);
    const { socket, log } = watchedSocket(server.url, { auth: { token: await signToken() } });
    socket.connect();
    await nextEvent(socket, "connect");
    socket.disconnect();
    const allow = refuseEmits(socket, () => emitAfterLoggedOut("auth_rejected"), log);
    // A 60-s ack timeout: only a refusal at once settles this within the test's own timeout.
    await expect(socket.timeout(60_000).emitWithAck("chat", "after")).rejects.toMatchObject({
      code: "ERR_LOGGED_OUT",
    });
    allow();
    socket.connect();
    await nextEvent(socket, "connect");
    await expect(socket.timeout(5000).emitWithAck("chat", "again")).resolves.toBe("ok");
    expect(server.received).toEqual(["chat"]); // only the one sent after allow()
  });
});
