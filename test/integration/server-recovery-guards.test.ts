/**
 * A session restored on a node that has not yet run any handshake on the namespace (a cluster adapter sharing session
 * storage) must still meet the namespace's requireClaims() predicates: they are found among its middlewares, not only
 * in a registry filled when the middleware runs.
 */
import { SessionAwareAdapter } from "socket.io-adapter";
import { type Socket as ClientSocket, io as connectClient } from "socket.io-client";
import { afterEach, describe, expect, it } from "vitest";
import { authenticate, guardRecovered, jwtVerifier, requireClaims } from "../../src/server/index.js";
import { client, closeClients, record } from "../helpers/companion.js";
import { signToken, TEST_SECRET } from "../helpers/jwt.js";
import { startServer, type TestServer } from "../helpers/server.js";
import { nextEvent, waitUntil } from "../helpers/wait.js";

const sharedSessions = new Map<string, unknown>();
const sharedPackets: unknown[] = [];

/** An in-memory "cluster" store: every node sees the sessions and packets every other node persisted. */
class SharedStoreAdapter extends SessionAwareAdapter {
  constructor(nsp: ConstructorParameters<typeof SessionAwareAdapter>[0]) {
    super(nsp);
    (this as unknown as { sessions: unknown }).sessions = sharedSessions;
    (this as unknown as { packets: unknown }).packets = sharedPackets;
  }
}

const servers: TestServer[] = [];
const raws: ClientSocket[] = [];
afterEach(async () => {
  closeClients();
  for (const raw of raws.splice(0)) raw.disconnect();
  await Promise.all(servers.splice(0).map((server) => server.close()));
  sharedSessions.clear();
  sharedPackets.length = 0;
});

const isAdmin = (claims: { role?: unknown }) => claims.role === "admin";

async function node() {
  const server = await startServer({
    adapter: SharedStoreAdapter as never,
    connectionStateRecovery: { maxDisconnectionDuration: 60_000, skipMiddlewares: true },
  });
  servers.push(server);
  const auth = authenticate({ verify: jwtVerifier({ secret: TEST_SECRET, algorithms: ["HS256"] }) });
  const admin = server.io.of("/admin").use(auth).use(requireClaims(isAdmin));
  guardRecovered(admin, auth); // as docs/server.md tells cluster users to do
  const reasons: string[] = [];
  admin.on("connection", (socket) => socket.on("disconnect", (reason) => reasons.push(reason)));
  return Object.assign(server, { admin, reasons });
}

async function adminSessionDroppedOn(a: Awaited<ReturnType<typeof node>>) {
  const socket = client(a.url, {
    namespace: "/admin",
    token: await signToken({ subject: "alice", ttlSec: 60, claims: { role: "admin" } }),
  });
  await nextEvent(socket, "auth:ready");
  const tick = nextEvent(socket, "tick");
  a.admin.emit("tick");
  await tick;
  const { _pid: pid, _lastOffset: offset } = socket as unknown as { _pid: string; _lastOffset: string };
  socket.io.engine.close();
  await waitUntil(() => a.reasons.length === 1, { what: "session persisted" });
  return { pid, offset };
}

/** Reconnects with the recovery credentials and a token that is no longer admin (alice was demoted). */
async function recoverAsDemoted(target: TestServer, pid: string, offset: string) {
  const demoted = await signToken({ subject: "alice", ttlSec: 3600, claims: { role: "user" } });
  const raw = connectClient(`${target.url}/admin`, {
    transports: ["websocket"],
    forceNew: true,
    reconnection: false,
    auth: { token: demoted, pid, offset },
  });
  raws.push(raw);
  const events = record(raw as never);
  await waitUntil(
    () => events.some((e) => ["auth:ready", "auth:expired", "auth:revoked"].includes(e.event)),
    {
      what: "the recovery verdict",
    },
  );
  return { raw, events };
}

describe("requireClaims on a node that restores before any handshake", () => {
  it("control: on the node that ran requireClaims, the demoted token is refused on recovery", async () => {
    const a = await node();
    const { pid, offset } = await adminSessionDroppedOn(a);
    const { events } = await recoverAsDemoted(a, pid, offset);
    expect(events.map((e) => e.event)).toContain("auth:expired");
  });

  it("on a fresh node (guardRecovered installed), the demoted token must be refused too", async () => {
    const a = await node();
    const b = await node(); // has never seen a handshake on /admin
    const { pid, offset } = await adminSessionDroppedOn(a);
    const { raw, events } = await recoverAsDemoted(b, pid, offset);
    // socket.io restores alice's session on node B; the companion re-runs /admin's requireClaims and cuts it.
    await waitUntil(() => events.some((e) => e.event === "auth:expired"), { what: "auth:expired" });
    expect(events.map((e) => e.event)).not.toContain("auth:ready");
    expect([...b.admin.sockets.values()].filter((s) => s.connected)).toEqual([]);
    expect(raw.connected).toBe(false);
  });
});
