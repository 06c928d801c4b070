/**
 * `authenticate()`: the handshake middleware, and the per-namespace `connection` listener that takes each accepted
 * socket from there (auth:ready, expiry watchdog, in-band refresh) and re-checks sessions restored by
 * connectionStateRecovery, which socket.io lets in without running any middleware.
 */
import type { HandshakeErrorCode, InBandRefreshErrorCode } from "../protocol.js";
import { checkToken, readHandshakeToken } from "./check.js";
import { handshakeError } from "./errors.js";
import {
  type AuthContext,
  type AuthData,
  type AuthenticateOptions,
  type HookSocket,
  normalizeOptions,
  type SocketMiddleware,
} from "./options.js";
import { consume, ipKey } from "./rate-limit.js";
import { dropWithheld, revokedReason, withholdRestoredSessions } from "./recovery.js";
import { recheckRecovered } from "./restored.js";
import { releaseRestored } from "./rooms.js";
import { startSession } from "./session.js";
import type { JwtClaims } from "./verifier.js";

/**
 * Something that emits `connection`: a socket.io `Server` (its main namespace), a `Namespace`, or a parent namespace
 * created with `io.of(regex)`, whatever their event maps.
 */
export interface GuardTarget {
  on(event: "connection", listener: (socket: never) => void): unknown;
}

/** The context behind each middleware `authenticate()` returned, for `guardRecovered()`. */
const contexts = new WeakMap<object, AuthContext>();
/** Sockets that passed the middleware and wait for their `connection` event. */
const accepted = new WeakMap<object, AuthContext>();
/** Namespaces already listening for `connection` on behalf of a context. */
const listening = new WeakMap<AuthContext, WeakSet<object>>();
/** Sockets a context has taken over, so two listeners (parent and child namespace) never both act. */
const handled = new WeakMap<AuthContext, WeakSet<object>>();

/**
 * Builds the handshake middleware for `io.use()` / `namespace.use()`. It reads the token (`auth.token`, or
 * `Authorization: Bearer`), verifies it, checks subject, expiry, revocation and `authorize`, then puts
 * `{ subject, claims, expiresAt }` on `socket.data.auth`. Refusals reach the client as `connect_error` with
 * `err.data.code` ∈ `TOKEN_MISSING`, `TOKEN_INVALID`, `TOKEN_EXPIRED`, `TOKEN_REVOKED`, `FORBIDDEN`,
 * `RATE_LIMITED` (with `data.retryAfterMs`), `UNAVAILABLE`.
 *
 * Once the socket is connected it joins {@link userRoom}(subject), receives `auth:ready`, gets `auth:expiring`
 * before its token runs out and `auth:expired` plus a disconnect once it is past `graceMs`, and may rotate its token
 * with `auth:refresh`. The first time the middleware runs on a namespace it adds a `connection` listener there,
 * which also re-checks sessions restored by connectionStateRecovery; see {@link guardRecovered} for adapters that
 * restore sessions on other nodes.
 *
 * Namespaces run only their own middlewares: use it on every namespace that needs authentication.
 *
 * @example
 * ```ts
 * import { Server } from "socket.io";
 * import { authenticate, jwtVerifier, type AuthSocketData } from "authed-socket/server";
 *
 * const io = new Server<ClientToServer, ServerToClient, {}, AuthSocketData>(httpServer);
 * io.use(authenticate({
 *   verify: jwtVerifier({ secret: process.env.JWT_SECRET!, algorithms: ["HS256"], issuer: "my-app" }),
 * }));
 * io.on("connection", (socket) => {
 *   console.log("connected:", socket.data.auth.subject);
 * });
 * ```
 */
export function authenticate<C extends object = JwtClaims>(
  options: AuthenticateOptions<C>,
): SocketMiddleware<C> {
  const context = normalizeOptions(options);
  const middleware: SocketMiddleware<C> = (socketArgument, next) => {
    const socket = socketArgument as unknown as HookSocket;
    let answered = false;
    const answer = (code?: HandshakeErrorCode, message?: string, retryAfterMs?: number): void => {
      if (answered) return;
      answered = true;
      context.metrics.handshake(code);
      next(code === undefined ? undefined : handshakeError(code, message, retryAfterMs));
    };
    const verifyHandshake = async (): Promise<void> => {
      // Counted before the token is even read: a flood from one address costs no verification.
      const byIp = await consume(context.limits.handshakePerIp, ipKey(context.limits, socket));
      if (byIp.kind !== "allowed") {
        const code = byIp.kind === "limited" ? "RATE_LIMITED" : "UNAVAILABLE";
        const retryAfterMs = byIp.kind === "limited" ? byIp.retryAfterMs : undefined;
        context.onReject({
          phase: "handshake",
          code,
          socketId: socket.id,
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
          ...(byIp.kind === "failed" ? { error: byIp.error } : {}),
        });
        answer(code, undefined, retryAfterMs);
        return;
      }
      const read = readHandshakeToken(socket.handshake, context.tokenFrom, context.maxTokenBytes);
      if (read.kind !== "token") {
        const code = read.kind === "missing" ? "TOKEN_MISSING" : "TOKEN_INVALID";
        context.onReject({ phase: "handshake", code, socketId: socket.id });
        answer(code);
        return;
      }
      await checkToken(context, read.token, socket, { limiter: context.limits.handshakePerSubject }).then(
        (result) => {
          if (!result.ok) {
            context.onReject({
              phase: "handshake",
              code: result.code,
              socketId: socket.id,
              ...(result.retryAfterMs === undefined ? {} : { retryAfterMs: result.retryAfterMs }),
              ...(result.error === undefined ? {} : { error: result.error }),
            });
            answer(asHandshakeCode(result.code), result.message, result.retryAfterMs);
            return;
          }
          if (socket.recovered) {
            // skipMiddlewares: false runs this middleware on a restored session: it belongs to the subject it was
            // made for, and not to a device revoked while away, exactly as the re-check of the default path says.
            const refusal = restoredRefusal(socket, result.auth);
            if (refusal) {
              dropWithheld(socket);
              context.onReject({ phase: "recovery", code: refusal.code, socketId: socket.id });
              answer(refusal.code, refusal.message);
              return;
            }
          }
          if (typeof socket.data !== "object" || socket.data === null) socket.data = {};
          (socket.data as { auth?: AuthData<object> }).auth = result.auth;
          accepted.set(socket, context);
          answer();
        },
      );
    };
    try {
      listenOn(socket.nsp, context);
      verifyHandshake().catch((error: unknown) => {
        context.onReject({ phase: "handshake", code: "UNAVAILABLE", socketId: socket.id, error });
        answer("UNAVAILABLE");
      });
    } catch (error) {
      // Nothing a client sends may take the server down: an unexpected throw refuses this one handshake.
      context.onReject({ phase: "handshake", code: "UNAVAILABLE", socketId: socket.id, error });
      answer("UNAVAILABLE");
    }
  };
  contexts.set(middleware, context);
  return middleware;
}

/** The validated options behind a middleware `authenticate()` returned, if it is one. */
export function contextOf(auth: unknown): AuthContext | undefined {
  return typeof auth === "function" ? contexts.get(auth) : undefined;
}

/**
 * Installs, ahead of any handshake, the `connection` listener that re-checks sessions restored by
 * connectionStateRecovery (expired past grace → `auth:expired`, revoked → `auth:revoked`, then a disconnect;
 * otherwise the expiry timers are armed again). `authenticate()` installs it by itself the first time it runs on a
 * namespace, which covers socket.io's default in-memory adapter (a session can only be restored where its socket
 * connected). Call this at start-up when an adapter can restore a session on a node that has not yet seen a
 * handshake on that namespace (e.g. `@socket.io/redis-streams-adapter`, a restarted node). Calling it twice is
 * harmless.
 *
 * @param target The server (main namespace), a namespace, or a parent namespace (`io.of(/regex/)`).
 * @param auth The middleware `authenticate()` returned for that namespace.
 * @example
 * ```ts
 * const auth = authenticate({ verify, isRevoked });
 * io.use(auth);
 * guardRecovered(io, auth);
 * ```
 */
export function guardRecovered<C extends object>(target: GuardTarget, auth: SocketMiddleware<C>): void {
  const context = contexts.get(auth);
  if (!context) throw new TypeError("guardRecovered: `auth` must be a middleware returned by authenticate()");
  if (typeof target !== "object" || target === null || typeof target.on !== "function") {
    throw new TypeError("guardRecovered: `target` must be a socket.io Server or Namespace");
  }
  listenOn(target, context);
}

function listenOn(namespace: GuardTarget, context: AuthContext): void {
  let namespaces = listening.get(context);
  if (!namespaces) {
    namespaces = new WeakSet();
    listening.set(context, namespaces);
  }
  if (namespaces.has(namespace)) return;
  namespaces.add(namespace);
  withholdRestoredSessions(namespace);
  const listener = ((socket: HookSocket) => onConnection(socket, context)) as (socket: never) => void;
  // First in line: the application's own `connection` handlers, registered earlier, must not see a restored session
  // before the companion has started holding what is sent to it.
  const emitter = namespace as GuardTarget & {
    prependListener?(event: "connection", l: (socket: never) => void): unknown;
  };
  if (typeof emitter.prependListener === "function") emitter.prependListener("connection", listener);
  else namespace.on("connection", listener);
}

function onConnection(socket: HookSocket, context: AuthContext): void {
  let sockets = handled.get(context);
  if (!sockets) {
    sockets = new WeakSet();
    handled.set(context, sockets);
  }
  if (sockets.has(socket)) return;
  if (accepted.get(socket) === context) {
    sockets.add(socket);
    accepted.delete(socket);
    // A restored session that went through the middleware again (skipMiddlewares: false) was verified there.
    if (socket.recovered && !releaseRestored(socket, context)) return;
    startSession(socket, context);
  } else if (socket.recovered) {
    sockets.add(socket);
    recheckRecovered(socket, context);
  }
}

/** Why a restored session may not go to the token that came to claim it, if it may not. */
function restoredRefusal(
  socket: HookSocket,
  auth: AuthData<object>,
): { code: HandshakeErrorCode; message: string } | undefined {
  if (revokedReason(socket) !== undefined)
    return { code: "TOKEN_REVOKED", message: "Authentication failed: the session has been revoked" };
  const previous = (socket.data as { auth?: { subject?: unknown } } | undefined)?.auth?.subject;
  if (previous !== auth.subject)
    return {
      code: "TOKEN_INVALID",
      message: "Authentication failed: the restored session belongs to another user",
    };
  return undefined;
}

/** The handshake has no SUBJECT_MISMATCH (there is no previous subject); it can only come from an in-band refresh. */
function asHandshakeCode(code: InBandRefreshErrorCode): HandshakeErrorCode {
  return code === "SUBJECT_MISMATCH" ? "TOKEN_INVALID" : code;
}
