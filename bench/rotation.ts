// Token rotation under load: for N rotations of short-lived tokens, how long the app is without a usable connection
// per rotation, and how many acknowledged messages are lost, for
//   (a) authed-socket with in-band rotation (the companion serves auth:refresh),
//   (b) authed-socket with reconnect rotation (`rotation: "reconnect"`),
//   (c) raw socket.io-client with the usual hand-written code: on connect_error or a server disconnect, refresh
//       the token and call connect().
// All three run against the same companion server (expiry enforced: the connection is cut shortly after the token
// expires) in the same process, one after the other.
import { SignJWT } from "jose";
import { io as rawIo, type Socket } from "socket.io-client";
import { createAuthedSocket } from "../src/index.js";
import { authenticate, jwtVerifier } from "../src/server/index.js";
import { BENCH_SECRET, benchServer } from "./server.js";

const secret = BENCH_SECRET;
const TTL_SEC = 1;

async function token(): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("bench")
    .setIssuedAt()
    .setExpirationTime(`${TTL_SEC}s`)
    .sign(secret);
}

const startServer = () =>
  benchServer((io) => {
    io.use(
      authenticate({
        verify: jwtVerifier({ secret, algorithms: ["HS256"] }),
        expiringBeforeMs: 300,
        graceMs: 200,
      }),
    );
    io.on("connection", (socket) => {
      socket.on("ping", (n: number, ack: (n: number) => void) => {
        if (typeof ack === "function") ack(n);
      });
    });
  });

interface Variant {
  name: string;
  socket: Socket;
  /** Rotations completed so far (a new token accepted by the server). */
  rotations(): number;
  close(): void;
}

async function measure(variant: Variant, rotations: number, intervalMs: number) {
  const { socket } = variant;
  let downSince: number | null = socket.connected ? null : Date.now();
  let downMs = 0;
  const onDown = () => {
    downSince ??= Date.now();
  };
  const onUp = () => {
    if (downSince !== null) downMs += Date.now() - downSince;
    downSince = null;
  };
  socket.on("disconnect", onDown);
  socket.on("connect", onUp);
  let sent = 0;
  let acked = 0;
  let lost = 0;
  const pending = new Set<Promise<void>>();
  const ticker = setInterval(() => {
    const n = ++sent;
    const p = socket
      .timeout(5000)
      .emitWithAck("ping", n)
      .then(
        () => void acked++,
        () => void lost++,
      )
      .finally(() => pending.delete(p));
    pending.add(p);
  }, intervalMs);
  const started = Date.now();
  while (variant.rotations() < rotations) {
    if (Date.now() - started > rotations * TTL_SEC * 1000 * 4 + 10_000)
      throw new Error(`${variant.name}: stalled`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  clearInterval(ticker);
  await Promise.allSettled([...pending]);
  onUp();
  const elapsedMs = Date.now() - started;
  variant.close();
  return {
    variant: variant.name,
    rotations: variant.rotations(),
    elapsedMs,
    unusableMsPerRotation: Number((downMs / variant.rotations()).toFixed(1)),
    unusableMsTotal: downMs,
    messages: { sent, acked, lost },
  };
}

function authed(url: string, rotation: "auto" | "reconnect"): Variant {
  let count = -1; // the first authentication is not a rotation
  const client = createAuthedSocket(url, {
    refresh: token,
    rotation,
    logger: null,
    socket: { transports: ["websocket"] },
  });
  client.on("authenticated", () => void count++);
  return {
    name: rotation === "auto" ? "authed-socket, in-band rotation" : "authed-socket, reconnect rotation",
    socket: client.socket as unknown as Socket,
    rotations: () => Math.max(0, count),
    close: () => client.close(),
  };
}

/** What people write by hand with socket.io-client. */
function handWritten(url: string): Variant {
  let count = -1;
  let current = "";
  const socket = rawIo(url, {
    forceNew: true,
    transports: ["websocket"],
    auth: (cb) => cb({ token: current }),
    autoConnect: false,
  });
  const refreshAndConnect = async () => {
    current = await token();
    socket.connect();
  };
  socket.on("connect", () => void count++);
  socket.on("connect_error", () => {
    if (!socket.active) void refreshAndConnect();
  });
  socket.on("disconnect", (reason) => {
    if (reason === "io server disconnect") void refreshAndConnect();
  });
  void refreshAndConnect();
  return {
    name: "raw socket.io-client, refresh on error",
    socket,
    rotations: () => Math.max(0, count),
    close: () => socket.close(),
  };
}

export async function rotation(rotations = 8) {
  const server = await startServer();
  try {
    const results = [];
    for (const make of [
      (u: string) => authed(u, "auto"),
      (u: string) => authed(u, "reconnect"),
      handWritten,
    ]) {
      const variant = make(server.url);
      await new Promise<void>((resolve) =>
        variant.socket.connected ? resolve() : variant.socket.once("connect", () => resolve()),
      );
      results.push(await measure(variant, rotations, 25));
    }
    return { tokenTtlSec: TTL_SEC, graceMs: 200, messageEveryMs: 25, results };
  } finally {
    await server.close();
  }
}
