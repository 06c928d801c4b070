/**
 * A restored session belongs to the subject it was created for. Whoever presents its recovery credentials (pid and
 * offset) with a token of another subject gets none of it — whether socket.io skips the middlewares for restored
 * sessions (the default) or runs them (`skipMiddlewares: false`) — and a device revoked while away is not restored.
 */
import { afterEach, describe, expect, it } from "vitest";
import { authenticate, disconnectUser, jwtVerifier, userRoom } from "../../src/server/index.js";
import { type ClientSocket, client, closeClients, record } from "../helpers/companion.js";
import { signToken, TEST_SECRET } from "../helpers/jwt.js";
import { startServer, type TestServer } from "../helpers/server.js";
import { nextEvent, waitUntil } from "../helpers/wait.js";

const servers: TestServer[] = [];
afterEach(async () => {
  closeClients();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(skipMiddlewares: boolean, options: Partial<Parameters<typeof authenticate>[0]> = {}) {
  const server = await startServer({
    connectionStateRecovery: { maxDisconnectionDuration: 60_000, skipMiddlewares },
  });
  servers.push(server);
  const reasons: string[] = [];
  server.io.on("connection", (socket) => {
    socket.on("disconnect", (reason) => reasons.push(reason));
  });
  server.io.use(
    authenticate({ verify: jwtVerifier({ secret: TEST_SECRET, algorithms: ["HS256"] }), ...options }),
  );
  return Object.assign(server, { reasons });
}

/** The recovery credentials socket.io hands a client: `pid` in the CONNECT reply, the offset on each event. */
function watchCredentials(socket: ClientSocket): { pid?: string; offset?: string } {
  const seen: { pid?: string; offset?: string } = {};
  socket.io.on("packet", (packet: { type: number; data?: unknown }) => {
    const data = packet.data as Record<string, unknown> | unknown[] | undefined;
    if (packet.type === 0 && data && !Array.isArray(data) && typeof data.pid === "string")
      seen.pid = data.pid;
    if (packet.type === 2 && Array.isArray(data) && typeof data.at(-1) === "string")
      seen.offset = data.at(-1) as string;
  });
  return seen;
}

async function connectThenDrop(server: Awaited<ReturnType<typeof serve>>, subject: string) {
  const socket = client(server.url, { token: await signToken({ subject }) });
  const credentials = watchCredentials(socket);
  await nextEvent(socket, "auth:ready");
  void socket.emit("ping-room");
  const tick = nextEvent(socket, "tick");
  server.io.emit("tick");
  await tick;
  const before = server.reasons.length;
  socket.io.engine.close();
  await waitUntil(() => server.reasons.length > before, { what: "server-side disconnect" });
  return { socket, credentials };
}

describe.each([true, false])("skipMiddlewares: %s", (skipMiddlewares) => {
  it("a token of another subject presented with a stolen pid/offset gets nothing of the session", async () => {
    const server = await serve(skipMiddlewares);
    const { credentials } = await connectThenDrop(server, "alice");
    expect(credentials.pid).toBeTypeOf("string");
    server.io.to(userRoom("alice")).emit("private", "alice's salary slip");

    const thief = client(server.url, {
      auth: {
        token: await signToken({ subject: "mallory" }),
        pid: credentials.pid,
        offset: credentials.offset,
      },
    });
    const raw: string[] = [];
    thief.io.on("packet", (packet: { data?: unknown }) => raw.push(JSON.stringify(packet.data ?? null)));
    const events = record(thief);
    // Either outcome is safe — refused, or a fresh session of mallory's own — as long as nothing of alice's arrives.
    await Promise.race([
      nextEvent(thief, "connect_error"),
      waitUntil(() => events.some((e) => e.event === "auth:ready" || e.event === "disconnect"), {
        what: "the thief's handshake to settle",
      }),
    ]);
    server.io.to(userRoom("alice")).emit("private", "sent after the theft");
    const probe = nextEvent(thief, "after").catch(() => undefined);
    server.io.emit("after");
    await Promise.race([probe, waitUntil(() => !thief.connected, { what: "probe or disconnect" })]);
    expect(raw.join("\n")).not.toContain("salary slip");
    expect(raw.join("\n")).not.toContain("sent after the theft");
    const sockets = await server.io.in(userRoom("alice")).fetchSockets();
    expect(sockets.map((s) => s.data.auth?.subject)).not.toContain("mallory");
  });

  it("a device revoked while it was offline is not restored and receives nothing sent after the revocation", async () => {
    const server = await serve(skipMiddlewares);
    const { socket } = await connectThenDrop(server, "alice");
    disconnectUser(server.io, "alice");
    server.io.to(userRoom("alice")).emit("private", "sent after the revocation");
    const raw: string[] = [];
    socket.io.on("packet", (packet: { data?: unknown }) => raw.push(JSON.stringify(packet.data ?? null)));
    const events = record(socket);
    socket.connect();
    await Promise.race([
      nextEvent(socket, "connect_error"),
      waitUntil(() => events.some((e) => e.event === "auth:revoked"), { what: "auth:revoked" }),
    ]);
    expect(raw.join("\n")).not.toContain("sent after the revocation");
    // Not restored: the session is refused or cut, never left running.
    await waitUntil(() => !socket.connected, { what: "the revoked session to end" });
  });
});

describe("requireTokenOnRecovery", () => {
  it("by default a restored session that presents no token is cut with auth:expired and gets nothing it missed", async () => {
    const server = await serve(true);
    const { socket } = await connectThenDrop(server, "alice");
    server.io.to(userRoom("alice")).emit("private", "while away");
    socket.auth = {}; // only socket.io's recovery credentials go with the reconnect
    const events = record(socket);
    socket.connect();
    await waitUntil(() => events.some((e) => e.event === "auth:expired"), { what: "auth:expired" });
    expect(events.map((e) => e.event)).not.toContain("private");
  });

  it("false lets such a session live on its stored claims, with what it missed", async () => {
    const server = await serve(true, { requireTokenOnRecovery: false });
    const { socket } = await connectThenDrop(server, "alice");
    server.io.to(userRoom("alice")).emit("private", "while away");
    socket.auth = {};
    const events = record(socket);
    socket.connect();
    await waitUntil(() => events.some((e) => e.event === "auth:ready"), { what: "auth:ready" });
    expect(events.map((e) => e.event)).toContain("private");
  });
});
