import {
  createServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { decodeJwt, errors, jwtVerify } from "jose";
import { Server } from "socket.io";
import { signToken, TEST_SECRET } from "./jwt.js";

/**
 * Servers that can go away and come back on the same port, for the reliability suite: a verifying socket.io server
 * and an HTTP token endpoint. Each keeps its records across restarts.
 */

export interface RecordedHandshake {
  token: string;
  verdict: "accepted" | "expired" | "invalid";
  at: number;
  /** The token's `exp`, epoch ms (NaN when it cannot be decoded). */
  expMs: number;
}

function listen(http: HttpServer, port: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    http.once("error", reject);
    http.listen(port, "127.0.0.1", () => resolve((http.address() as AddressInfo).port));
  });
}

/**
 * A socket.io server on 127.0.0.1 whose middleware verifies `handshake.auth.token` with jose and refuses with
 * `err.data.code` (`TOKEN_EXPIRED` / `TOKEN_INVALID`). `stop()` closes it; `start()` brings it back on the same port.
 */
export async function restartableAuthServer() {
  const handshakes: RecordedHandshake[] = [];
  let port = 0;
  let live: { io: Server; http: HttpServer } | null = null;

  async function start(): Promise<void> {
    const http = createServer();
    const io = new Server(http);
    io.use(async (socket, next) => {
      const token = String((socket.handshake.auth as { token?: unknown }).token ?? "");
      let expMs = Number.NaN;
      try {
        expMs = (decodeJwt(token).exp ?? Number.NaN) * 1000;
      } catch {}
      try {
        await jwtVerify(token, TEST_SECRET, { algorithms: ["HS256"] });
        handshakes.push({ token, verdict: "accepted", at: Date.now(), expMs });
        next();
      } catch (error) {
        const expired = error instanceof errors.JWTExpired;
        handshakes.push({ token, verdict: expired ? "expired" : "invalid", at: Date.now(), expMs });
        const err = new Error("Authentication failed") as Error & { data?: unknown };
        err.data = { code: expired ? "TOKEN_EXPIRED" : "TOKEN_INVALID" };
        next(err);
      }
    });
    port = await listen(http, port);
    live = { io, http };
  }

  async function stop(): Promise<void> {
    const current = live;
    live = null;
    if (!current) return;
    await new Promise<void>((resolve) => {
      current.io.close(() => resolve());
      current.http.closeAllConnections();
    });
  }

  await start();
  return {
    handshakes,
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    /** Sockets connected right now (0 while stopped). */
    connected: () => live?.io.sockets.sockets.size ?? 0,
    start,
    stop,
  };
}

/**
 * An HTTP token endpoint (`POST /refresh` → `{ token }`, real HS256 JWTs of `ttlSec`) that can be stopped — its port
 * then refuses connections, as an auth service that is down — and started again on the same port.
 */
export async function restartableTokenEndpoint(ttlSec: number) {
  /** Instants of the requests that were answered with a token. */
  const issued: number[] = [];
  let port = 0;
  let http: HttpServer | null = null;

  const handle = async (_req: IncomingMessage, res: ServerResponse) => {
    const token = await signToken({ ttlSec });
    issued.push(Date.now());
    res.writeHead(200, { "content-type": "application/json", connection: "close" });
    res.end(JSON.stringify({ token }));
  };

  async function start(): Promise<void> {
    const server = createServer((req, res) => void handle(req, res));
    port = await listen(server, port);
    http = server;
  }

  async function stop(): Promise<void> {
    const current = http;
    http = null;
    if (!current) return;
    await new Promise<void>((resolve) => {
      current.closeAllConnections();
      current.close(() => resolve());
    });
  }

  await start();
  return {
    issued,
    get url() {
      return `http://127.0.0.1:${port}/refresh`;
    },
    start,
    stop,
  };
}
