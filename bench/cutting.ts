// Servers that enforce expiry without the companion: a docs-style `io.use` JWT check plus a timer that, at the
// handshake token's `exp`, emits `auth_error { code: "TOKEN_EXPIRED" }` and disconnects. Three runs, each with the
// hand-written socket.io-client pattern (refresh on the error, connect again) or the companion in the same process:
//   single: one client, 2-s tokens, `timeout(2000).emitWithAck` every 50 ms: acks lost, logouts, refreshes,
//           time disconnected per rotation; authed-socket next to the hand-written pattern.
//   fleet:  N clients whose first tokens share one `exp`: spread of their refresh instants (share of the lifetime)
//           and the cutting server's handshake peak per second while they rotate.
//   load:   N clients, 3-s tokens, each sending an acked emit every second for S seconds, against the companion
//           and against the cutting server (in a process of its own; `--in-process` shares the clients' process):
//           acks lost, logouts, time disconnected per reconnect, the client process's CPU. `--declared`: the app
//           sets `rotation: "reconnect"` (no first kick to learn from).
// `npx tsx bench/cutting.ts [single|fleet|load] [--clients N] [--seconds S] [--ttl S] [--in-process] [--declared]`
// (`--ttl`: the single run's token lifetime, 2 s by default), or
// `npm run bench cutting`.
import { fork } from "node:child_process";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { errors, jwtVerify, SignJWT } from "jose";
import type { Server } from "socket.io";
import { io as rawIo, type Socket } from "socket.io-client";
import { type AuthedSocket, createAuthedSocket } from "../src/index.js";
import { authenticate, jwtVerifier } from "../src/server/index.js";
import { BENCH_SECRET, benchServer } from "./server.js";

const secret = BENCH_SECRET;

function sign(subject: string, iatSec: number, expSec: number): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(subject)
    .setIssuedAt(iatSec)
    .setExpirationTime(expSec)
    .sign(secret);
}
const nowSec = () => Math.floor(Date.now() / 1000);
const freshToken = (subject: string, ttlSec: number) => sign(subject, nowSec(), nowSec() + ttlSec);

export interface ServerStats {
  handshakes: number[];
  refused: number;
  kicks: number;
}

/** The cutting server: verify in `io.use`, then cut at the token's `exp` with an `auth_error`. */
export function cuttingSetup(stats: ServerStats) {
  return (io: Server) => {
    io.use(async (socket, next) => {
      stats.handshakes.push(Date.now());
      const token = (socket.handshake.auth as { token?: unknown }).token;
      try {
        const { payload } = await jwtVerify(String(token), secret, { algorithms: ["HS256"] });
        if (payload.exp !== undefined) (socket.data as { exp?: number }).exp = payload.exp;
        next();
      } catch (error) {
        stats.refused++;
        const err = new Error(
          error instanceof errors.JWTExpired ? "jwt expired" : "invalid token",
        ) as Error & {
          data?: unknown;
        };
        err.data = { code: error instanceof errors.JWTExpired ? "TOKEN_EXPIRED" : "TOKEN_INVALID" };
        next(err);
      }
    });
    io.on("connection", (socket) => {
      const exp = (socket.data as { exp?: number }).exp;
      socket.on("echo", (n: unknown, ack: unknown) => typeof ack === "function" && ack(n));
      if (exp === undefined) return;
      const cut = setTimeout(
        () => {
          stats.kicks++;
          socket.emit("auth_error", { code: "TOKEN_EXPIRED", message: "token expired" });
          socket.disconnect(true);
        },
        Math.max(0, exp * 1000 - Date.now()),
      );
      socket.on("disconnect", () => clearTimeout(cut));
    });
  };
}

export function companionSetup(stats: ServerStats) {
  return (io: Server) => {
    const guard = authenticate({ verify: jwtVerifier({ secret, algorithms: ["HS256"] }) });
    io.use((socket, next) => {
      stats.handshakes.push(Date.now());
      guard(socket, (err?: Error) => {
        if (err) stats.refused++;
        next(err);
      });
    });
    io.on("connection", (socket) => {
      socket.on("echo", (n: unknown, ack: unknown) => typeof ack === "function" && ack(n));
    });
  };
}

/** Sends acked emits every `everyMs` until stopped; counts what is lost. */
function ackLoop(socket: Socket, everyMs: number) {
  let sent = 0;
  let lost = 0;
  /** Why acks were lost: socket.io's error message ("operation has timed out", "socket has been disconnected"). */
  const why: Record<string, number> = {};
  const pending = new Set<Promise<void>>();
  // socket.io emits "disconnect" before it fails the acks still on the wire: each such loss names its disconnect.
  let lastDisconnect = "";
  socket.on("disconnect", (reason) => {
    lastDisconnect = reason;
  });
  const timer = setInterval(() => {
    const n = ++sent;
    const p = socket
      .timeout(2000)
      .emitWithAck("echo", n)
      .then(
        (back) => {
          if (back !== n) lost++;
        },
        (error: Error) => {
          lost++;
          const key =
            error.message === "socket has been disconnected"
              ? `${error.message} (${lastDisconnect})`
              : error.message;
          why[key] = (why[key] ?? 0) + 1;
        },
      )
      .finally(() => pending.delete(p));
    pending.add(p);
  }, everyMs);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all([...pending]);
      return { sent, lost, why };
    },
  };
}

/** Time disconnected, per disconnect → connect gap. */
function downtime(socket: Socket) {
  const gaps: number[] = [];
  let downAt: number | null = null;
  socket.on("disconnect", () => {
    downAt = Date.now();
  });
  socket.on("connect", () => {
    if (downAt !== null) gaps.push(Date.now() - downAt);
    downAt = null;
  });
  return gaps;
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
const summary = (gaps: number[]) => ({
  rotations: gaps.length,
  maxDisconnectedMs: gaps.length ? Math.max(...gaps) : 0,
  meanDisconnectedMs: gaps.length ? round(gaps.reduce((a, b) => a + b, 0) / gaps.length, 1) : 0,
});

export async function single(seconds = 20, ttlSec = 2, websocket = false) {
  const out: Record<string, unknown> = {};
  const transports = websocket ? { transports: ["websocket"] } : {};
  for (const kind of ["authed-socket", "hand-written"] as const) {
    const stats: ServerStats = { handshakes: [], refused: 0, kicks: 0 };
    const server = await benchServer(cuttingSetup(stats));
    let refreshes = 0;
    /** Why each refresh was asked for (authed-socket passes `ctx.reason`; the hand-written pattern has none). */
    const reasons: Record<string, number> = {};
    /** Each token's life when it reached the client (whole-second iat: a 2-s token has 1–2 s). */
    const lives: number[] = [];
    const refresh = (ctx?: { reason?: string }) => {
      refreshes++;
      const reason = ctx?.reason ?? "on the error";
      reasons[reason] = (reasons[reason] ?? 0) + 1;
      const exp = nowSec() + ttlSec;
      lives.push(exp * 1000 - Date.now());
      return sign("single", exp - ttlSec, exp);
    };
    let loggedOut: string | null = null;
    let socket: Socket;
    let client: AuthedSocket | null = null;
    if (kind === "authed-socket") {
      client = createAuthedSocket(server.url, {
        refresh,
        logger: null,
        on: { logged_out: ({ reason }) => (loggedOut = reason) },
        socket: transports,
      });
      socket = client.socket as Socket;
      await client.waitFor("authenticated", { timeoutMs: 5000 });
    } else {
      // The pattern people write from the docs: refresh when the server complains, then connect again.
      let token = await refresh();
      socket = rawIo(server.url, { forceNew: true, ...transports, auth: (cb) => cb({ token }) });
      const again = async () => {
        token = await refresh();
        socket.connect();
      };
      socket.on("connect_error", () => void again());
      socket.on("disconnect", (reason) => reason === "io server disconnect" && void again());
      await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    }
    const gaps = downtime(socket);
    const started = Date.now();
    const loop = ackLoop(socket, 50);
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const acks = await loop.stop();
    const elapsed = Date.now() - started;
    out[kind] = {
      acksSent: acks.sent,
      acksLost: acks.lost,
      loggedOut,
      refreshes,
      refreshReasons: reasons,
      // Refreshes the timer did not ask for: forced by a kick or a refusal (the failure issue 8 measured: a second
      // refresh per lifetime although the held token was never presented). 0 means each token was refreshed once.
      refreshesNotOnTheTimer: refreshes - (reasons.expiring ?? 0) - (reasons.missing ?? 0),
      refreshesPerNominalLifetime: round(refreshes / (elapsed / (ttlSec * 1000))),
      // With whole-second claims a token has 1–2 s of its nominal 2 s when it arrives (mean 1.5): even a client that
      // used each to its last millisecond would refresh 2/1.5 = 1.33 times per nominal lifetime, and one refreshing
      // at 65–90 % of the life ~1.7 times. Counted over the life tokens have on arrival, 1.0 is that last-millisecond
      // client and ~1.3 the 65–90 % one.
      meanLifeOnArrivalMs: Math.round(lives.reduce((a, b) => a + b, 0) / Math.max(1, lives.length)),
      refreshesPerTokenLifetime: round(
        refreshes / (elapsed / (lives.reduce((a, b) => a + b, 0) / Math.max(1, lives.length))),
      ),
      kicks: stats.kicks,
      refusedHandshakes: stats.refused,
      disconnectedMsTotal: gaps.reduce((a, b) => a + b, 0),
      ...summary(gaps),
    };
    client?.close();
    socket.close();
    await server.close();
  }
  return {
    seconds,
    ttlSec,
    transports: websocket ? "websocket" : "polling, then websocket (default)",
    ...out,
  };
}

export async function fleet(clients = 500, ttlSec = 20) {
  const stats: ServerStats = { handshakes: [], refused: 0, kicks: 0 };
  const server = await benchServer(cuttingSetup(stats));
  const iat = nowSec();
  const exp = iat + ttlSec;
  const shared = await sign("fleet", iat, exp);
  const refreshedAt: number[] = [];
  const all: AuthedSocket[] = [];
  for (let i = 0; i < clients; i++) {
    const client = createAuthedSocket(server.url, {
      getToken: () => shared,
      refresh: async () => {
        if (Date.now() < exp * 1000) refreshedAt.push(Date.now());
        return freshToken("fleet", 3600);
      },
      // The fleet has learnt that this server cuts at expiry (what the first kick teaches each client).
      rotation: "reconnect",
      logger: null,
      socket: { transports: ["websocket"] },
    });
    all.push(client);
  }
  await Promise.all(all.map((c) => c.waitFor("authenticated", { timeoutMs: 30_000 })));
  const connectedAt = Date.now();
  // Wait until every client refreshed its first token (or it expired).
  while (refreshedAt.length < clients && Date.now() < exp * 1000 + 2000)
    await new Promise((resolve) => setTimeout(resolve, 100));
  // Then until each refreshed client has re-handshaken with its new token (bounded: a loaded machine lags).
  const rotated = () => stats.handshakes.filter((t) => t > connectedAt).length;
  const until = Date.now() + 10_000;
  while (rotated() < refreshedAt.length && Date.now() < until)
    await new Promise((resolve) => setTimeout(resolve, 100));
  const rotationHandshakes = stats.handshakes.filter((t) => t > connectedAt);
  const perSecond = new Map<number, number>();
  for (const t of rotationHandshakes)
    perSecond.set(Math.floor(t / 1000), (perSecond.get(Math.floor(t / 1000)) ?? 0) + 1);
  const spreadMs = refreshedAt.length ? Math.max(...refreshedAt) - Math.min(...refreshedAt) : 0;
  const result = {
    clients,
    ttlSec,
    refreshed: refreshedAt.length,
    refreshSpreadShareOfLifetime: round(spreadMs / (ttlSec * 1000), 3),
    rotationHandshakes: rotationHandshakes.length,
    handshakePeakPerSecond: Math.max(0, ...perSecond.values()),
    // All at once would be `clients` in one second.
    kicks: stats.kicks,
    loggedOut: all.filter((c) => c.state === "logged_out").length,
  };
  for (const c of all) c.close();
  await server.close();
  return result;
}

/**
 * The server of a load run in a process of its own (bench/cutting-server.ts), as in production: 1,000 clients and
 * the server that serves them do not share one event loop. `inProcess` keeps both in this process (one core).
 */
async function loadServer(kind: "companion" | "cutting", inProcess: boolean) {
  if (inProcess) {
    const stats: ServerStats = { handshakes: [], refused: 0, kicks: 0 };
    const server = await benchServer(kind === "companion" ? companionSetup(stats) : cuttingSetup(stats));
    return { url: server.url, stats: async () => stats, close: () => server.close() };
  }
  const child = fork(fileURLToPath(new URL("./cutting-server.ts", import.meta.url)), [kind], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const next = <T>() =>
    new Promise<T>((resolve, reject) => {
      child.once("message", (message) => resolve(message as T));
      child.once("exit", (code) => reject(new Error(`the bench server exited (${code})`)));
    });
  const { url } = await next<{ url: string }>();
  return {
    url,
    stats: () => {
      const answer = next<ServerStats>();
      child.send("stats");
      return answer;
    },
    close: async () => {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.send("close");
      await exited;
    },
  };
}

export async function load(
  clients = 1000,
  seconds = 60,
  ttlSec = 3,
  inProcess = false,
  /** `"reconnect"`: the app tells the clients the server cuts at expiry, so none needs the first kick to learn it. */
  rotation?: "reconnect",
) {
  const out: Record<string, unknown> = {};
  for (const kind of ["companion", "cutting"] as const) {
    const server = await loadServer(kind, inProcess);
    let loggedOut = 0;
    let refreshes = 0;
    const all: AuthedSocket[] = [];
    for (let i = 0; i < clients; i++) {
      all.push(
        createAuthedSocket(server.url, {
          refresh: () => {
            refreshes++;
            return freshToken(`load-${i}`, ttlSec);
          },
          logger: null,
          on: { logged_out: () => void loggedOut++ },
          socket: { transports: ["websocket"] },
          ...(rotation && kind === "cutting" ? { rotation } : {}),
        }),
      );
    }
    await Promise.all(all.map((c) => c.waitFor("authenticated", { timeoutMs: 60_000 })));
    const gaps = all.map((c) => downtime(c.socket as Socket));
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const cpu = process.cpuUsage();
    const started = Date.now();
    const loops = all.map((c) => ackLoop(c.socket as Socket, 1000));
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const acks = await Promise.all(loops.map((l) => l.stop()));
    const used = process.cpuUsage(cpu);
    const elapsed = Date.now() - started;
    lag.disable();
    const stats = await server.stats();
    const allGaps = gaps.flat().sort((a, b) => a - b);
    const at = (q: number) => allGaps[Math.min(allGaps.length - 1, Math.floor(q * allGaps.length))] ?? 0;
    out[kind] = {
      acksSent: acks.reduce((a, b) => a + b.sent, 0),
      acksLost: acks.reduce((a, b) => a + b.lost, 0),
      lostBecause: acks.reduce<Record<string, number>>((all, { why }) => {
        for (const [message, count] of Object.entries(why)) all[message] = (all[message] ?? 0) + count;
        return all;
      }, {}),
      loggedOut,
      refreshes,
      kicks: stats.kicks,
      refusedHandshakes: stats.refused,
      reconnects: allGaps.length,
      disconnectedMs: { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) },
      clientProcess: {
        cpuShareOfOneCore: round((used.user + used.system) / 1000 / elapsed, 2),
        eventLoopDelayMs: {
          p50: round(lag.percentile(50) / 1e6, 1),
          p99: round(lag.percentile(99) / 1e6, 1),
        },
      },
    };
    for (const c of all) c.close();
    await server.close();
  }
  return {
    clients,
    seconds,
    ttlSec,
    server: inProcess ? "same process" : "own process",
    rotation: rotation ?? "learnt from the first kick",
    ...out,
  };
}

export async function cutting(which?: string, args: string[] = []) {
  const flag = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : undefined;
  };
  const out: Record<string, unknown> = {};
  if (!which || which === "single") {
    out.single = await single(flag("seconds") ?? 20, flag("ttl") ?? 2);
    out.singleWebsocket = await single(flag("seconds") ?? 20, flag("ttl") ?? 2, true);
  }
  if (!which || which === "fleet") out.fleet = await fleet(flag("clients") ?? 500);
  if (!which || which === "load")
    out.load = await load(
      flag("clients") ?? 1000,
      flag("seconds") ?? 60,
      3,
      args.includes("--in-process"),
      args.includes("--declared") ? "reconnect" : undefined,
    );
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const which = process.argv[2]?.startsWith("--") ? undefined : process.argv[2];
  console.log(JSON.stringify(await cutting(which, process.argv.slice(2)), null, 2));
  process.exit(0);
}
