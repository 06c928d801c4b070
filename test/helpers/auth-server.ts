import { decodeJwt, errors, jwtVerify } from "jose";
import type { Socket as ServerSocket } from "socket.io";
import { TEST_SECRET } from "./jwt.js";
import { startServer, type TestServer } from "./server.js";

export interface Handshake {
  token: unknown;
  query: Record<string, unknown>;
  authorization: string | undefined;
  /** Server-side verdict. */
  verdict: "accepted" | "expired" | "invalid" | "missing" | "refused";
  at: number;
}

export type Style =
  /** `next(new Error("Invalid or expired token"))`, no data: the most common hand-written middleware. */
  | "message"
  /** `err.data = { code }` with the stable codes. */
  | "code"
  /** Accepts every handshake, then emits `auth_error` and disconnects when the token is bad (Flask-SocketIO). */
  | "accept-then-complain"
  /**
   * What python-socketio sends for a connect handler that calls `emit("auth_error")` and `disconnect()` on a bad
   * token: the event and a DISCONNECT, before any answer to the CONNECT (it answers after the handler returns).
   */
  | "complain-before-connect"
  /**
   * Accepts every handshake and checks the token in the `connection` handler, disconnecting a bad one without a
   * word: what a NestJS gateway's `handleConnection` with `client.disconnect()` does.
   */
  | "disconnect-on-connection";

export interface AuthServerOptions {
  style?: Style;
  /** Where to read the token. */
  tokenFrom?: "auth" | "header" | "query";
  /** Refuse every token whatever it is (with the style's refusal). */
  refuseAll?: boolean;
  /** Refuse with FORBIDDEN (code style) / "Forbidden" + data.code. */
  forbid?: boolean;
  /**
   * Enforce expiry without the companion, as Flask-SocketIO apps and many Node servers do: at the handshake token's
   * `exp`, emit `auth_error { code: "TOKEN_EXPIRED" }` and disconnect the socket.
   */
  cutAtExpiry?: boolean;
  /** How long the server takes to answer an `echo` with its ack, ms (a slow handler or a long link). @default 0 */
  echoDelayMs?: number;
}

/** A connection the server cut because its handshake token expired. */
export interface Kick {
  at: number;
  /** How long the connection had lived. */
  livedMs: number;
}

/**
 * A socket.io server with a hand-written JWT middleware, like the ones people write without the companion. It
 * records every handshake so tests can assert what reached the server.
 */
export async function startAuthServer(options: AuthServerOptions = {}): Promise<
  TestServer & {
    handshakes: Handshake[];
    accepted: () => Handshake[];
    sockets: ServerSocket[];
    kicks: Kick[];
  }
> {
  const server = await startServer();
  const handshakes: Handshake[] = [];
  const kicks: Kick[] = [];
  const sockets: ServerSocket[] = [];
  const style = options.style ?? "message";

  async function verdictOf(token: unknown): Promise<Handshake["verdict"]> {
    if (typeof token !== "string" || token === "") return "missing";
    if (options.refuseAll) return "refused";
    try {
      await jwtVerify(token, TEST_SECRET, { algorithms: ["HS256"] });
      return "accepted";
    } catch (error) {
      return error instanceof errors.JWTExpired ? "expired" : "invalid";
    }
  }

  server.io.use(async (socket, next) => {
    const { auth, query, headers } = socket.handshake;
    const bearer = headers.authorization?.replace(/^Bearer /, "");
    const from = options.tokenFrom ?? "auth";
    const token =
      from === "auth" ? (auth as { token?: unknown }).token : from === "header" ? bearer : query.token;
    const verdict = await verdictOf(token);
    handshakes.push({ token, query, authorization: headers.authorization, verdict, at: Date.now() });
    if (options.forbid) {
      const err = new Error("Forbidden") as Error & { data?: unknown };
      err.data = { code: "FORBIDDEN" };
      return next(err);
    }
    if (verdict !== "accepted" && style === "complain-before-connect") {
      // Written to the engine as python-socketio does; `next` is never called, so the namespace never accepts it.
      const client = socket.client as unknown as { _packet(packet: object): void };
      client._packet({ type: 2, nsp: socket.nsp.name, data: ["auth_error", { message: "Invalid token" }] });
      client._packet({ type: 1, nsp: socket.nsp.name });
      return;
    }
    if (verdict === "accepted" || style === "accept-then-complain" || style === "disconnect-on-connection") {
      (socket.data as { verdict?: string; exp?: number }).verdict = verdict;
      const exp = verdict === "accepted" && typeof token === "string" ? decodeJwt(token).exp : undefined;
      if (exp !== undefined) (socket.data as { exp?: number }).exp = exp;
      return next();
    }
    const err = new Error(
      style === "message" ? "Invalid or expired token" : "Authentication failed",
    ) as Error & {
      data?: unknown;
    };
    if (style === "code")
      err.data = {
        code:
          verdict === "missing" ? "TOKEN_MISSING" : verdict === "expired" ? "TOKEN_EXPIRED" : "TOKEN_INVALID",
      };
    next(err);
  });

  server.io.on("connection", (socket) => {
    sockets.push(socket);
    const exp = (socket.data as { exp?: number }).exp;
    if (options.cutAtExpiry && exp !== undefined) {
      const openedAt = Date.now();
      const cut = setTimeout(
        () => {
          kicks.push({ at: Date.now(), livedMs: Date.now() - openedAt });
          socket.emit("auth_error", { code: "TOKEN_EXPIRED", message: "token expired" });
          socket.disconnect(true);
        },
        Math.max(0, exp * 1000 - Date.now()),
      );
      socket.on("disconnect", () => clearTimeout(cut));
    }
    socket.on("echo", (value: unknown, ack?: (v: unknown) => void) => {
      if (typeof ack !== "function") return;
      if (options.echoDelayMs) setTimeout(() => ack(value), options.echoDelayMs);
      else ack(value);
    });
    if (style === "disconnect-on-connection" && (socket.data as { verdict?: string }).verdict !== "accepted")
      return void socket.disconnect(true);
    if (style === "accept-then-complain" && (socket.data as { verdict?: string }).verdict !== "accepted") {
      setTimeout(() => {
        socket.emit("auth_error", { message: "Invalid token" });
        socket.disconnect(true);
      }, 5);
    }
  });

  return {
    ...server,
    handshakes,
    sockets,
    kicks,
    accepted: () => handshakes.filter((h) => h.verdict === "accepted"),
  };
}
