/**
 * The demo server: one HTTP server carrying the token service (`/login`, `/refresh`) and a Socket.IO chat server
 * guarded by authed-socket/server. Examples (the Node bot, the SPA) run against it.
 */
import {
  createServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { Server } from "socket.io";
import {
  authenticate,
  countConnections,
  disconnectUser,
  jwtVerifier,
  ProtocolEvent,
} from "../src/server/index.js";
import type { ClientToServer, ServerToClient } from "./bot.js";
import { spaRoutes } from "./spa.js";
import { createTokenService, type TokenService } from "./token-service.js";

export interface DemoServerOptions {
  port: number;
  /** Access token lifetime, seconds. */
  ttlSec: number;
  users: Record<string, string>;
  /** Serve the example SPA at `/`. */
  spa?: boolean;
}

export interface DemoServer {
  url: string;
  port: number;
  http: HttpServer;
  io: Server<ClientToServer, ServerToClient>;
  tokens: TokenService;
  /** Server-side counters. */
  stats: DemoServerStats;
  /** Revokes every session of a user and disconnects all of its devices. */
  revoke(subject: string, reason: string): Promise<void>;
  /** Declares the user's current access tokens expired: their sockets get `auth:expired` and must refresh. */
  expire(subject: string): void;
  devices(subject: string): Promise<number>;
  close(): Promise<void>;
}

export interface DemoServerStats {
  messages: number;
  handshakesRefused: number;
  handshakes: number;
  /** Tokens rotated on a live connection (`auth:refresh` requests the companion accepted). */
  inBand: number;
  /** Every refusal (handshake, in-band refresh, recovery) by its code. */
  refusals: Record<string, number>;
}

const ISSUER = "authed-socket-demo";
const AUDIENCE = "demo-chat";

export async function startDemoServer(options: DemoServerOptions): Promise<DemoServer> {
  // A fresh random secret per run: nothing to configure, nothing to leak.
  const secret = crypto.getRandomValues(new Uint8Array(32));
  const stats: DemoServerStats = {
    messages: 0,
    handshakesRefused: 0,
    handshakes: 0,
    inBand: 0,
    refusals: {},
  };
  /** In-band refresh requests seen and refused: the accepted ones are the difference. */
  let inBandRequests = 0;
  let inBandRefused = 0;
  let io: Server<ClientToServer, ServerToClient> | undefined;
  /** Access tokens the admin declared expired (by jti), refused from then on. */
  const expiredJtis = new Set<string>();
  const routes = options.spa ? await spaRoutes() : undefined;

  const tokens = createTokenService({
    secret,
    ttlSec: options.ttlSec,
    issuer: ISSUER,
    audience: AUDIENCE,
    users: options.users,
    onRevoke: (subject, reason) => {
      if (io) disconnectUser(io, subject, reason);
    },
  });

  const http = createServer((req, res) => {
    tokens
      .handle(req, res)
      .then(async (handled) => {
        if (handled || routes?.(req, res) || (await admin(req, res))) return;
        res.writeHead(404, { "content-type": "text/plain" });
        res.end("not found");
      })
      .catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
  });

  io = new Server<ClientToServer, ServerToClient>(http, {
    connectionStateRecovery: { maxDisconnectionDuration: 60_000 },
  });
  const guard = authenticate({
    isRevoked: (claims) => typeof claims.jti === "string" && expiredJtis.has(claims.jti),
    verify: jwtVerifier({ secret, algorithms: ["HS256"], issuer: ISSUER, audience: AUDIENCE }),
    // Ask for a refresh a quarter of the lifetime ahead (at most 2 s); cut a connection 3 s after its token expired.
    expiringBeforeMs: Math.min(2000, options.ttlSec * 250),
    graceMs: 3000,
    onReject: ({ phase, code }) => {
      stats.refusals[code] = (stats.refusals[code] ?? 0) + 1;
      if (phase === "refresh") inBandRefused++;
      stats.inBand = inBandRequests - inBandRefused;
    },
  });
  // Wrapped only to count refusals for the summary.
  io.use((socket, next) =>
    guard(socket, (err?: Error) => {
      stats.handshakes++;
      if (err) stats.handshakesRefused++;
      next(err);
    }),
  );
  io.on("connection", (socket) => {
    const subject = (socket.data as { auth?: { subject: string } }).auth?.subject ?? "?";
    let seq = 0;
    // Counted beside the companion's own listener: every request, then minus the refusals onReject reports.
    (socket as unknown as { on(event: string, listener: () => void): void }).on(ProtocolEvent.Refresh, () => {
      inBandRequests++;
      stats.inBand = inBandRequests - inBandRefused;
    });
    socket.on("chat", (text, ack) => {
      if (typeof text !== "string" || typeof ack !== "function") return;
      stats.messages++;
      socket.broadcast.emit("chat", { from: subject, text: text.slice(0, 200) });
      ack({ ok: true, seq: ++seq });
    });
  });

  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(options.port, "127.0.0.1", () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  const server = io;

  function expire(subject: string): void {
    for (const socket of server.sockets.sockets.values()) {
      const auth = (socket.data as { auth?: { subject: string; claims: { jti?: unknown } } }).auth;
      if (auth?.subject !== subject) continue;
      if (typeof auth.claims.jti === "string") expiredJtis.add(auth.claims.jti);
      // The protocol's own words: the client refreshes and re-handshakes.
      (socket as unknown as { emit(event: string, payload: object): void }).emit("auth:expired", {});
      socket.disconnect(true);
    }
  }

  /** Connected sockets per user, on this node (the demo runs one). */
  function connectedDevices(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const socket of server.sockets.sockets.values()) {
      const subject = (socket.data as { auth?: { subject: string } }).auth?.subject;
      if (subject) out[subject] = (out[subject] ?? 0) + 1;
    }
    return out;
  }

  /** The SPA's admin buttons. A demo has no real admin authentication: it binds to 127.0.0.1 only. */
  async function admin(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const path = (req.url ?? "").split("?")[0];
    if (req.method === "GET" && path === "/admin/stats") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ ...stats, devices: connectedDevices(), tokens: tokens.stats }));
      return true;
    }
    if (req.method !== "POST" || (path !== "/admin/expire" && path !== "/admin/revoke")) return false;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let user = "";
    try {
      user = String((JSON.parse(Buffer.concat(chunks).toString()) as { user?: unknown }).user ?? "");
    } catch {
      // fall through to 400
    }
    if (!user) {
      res.writeHead(400);
      res.end();
      return true;
    }
    if (path === "/admin/expire") expire(user);
    else {
      tokens.revokeUser(user);
      disconnectUser(server, user, "revoked by an administrator");
    }
    res.writeHead(204);
    res.end();
    return true;
  }

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    http,
    io: server,
    tokens,
    stats,
    async revoke(subject, reason) {
      tokens.revokeUser(subject);
      disconnectUser(server, subject, reason);
    },
    expire,
    devices: (subject) => countConnections(server, subject),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        http.closeAllConnections();
      }),
  };
}
