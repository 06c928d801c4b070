/**
 * The life of one authenticated socket after its handshake: the expiry watchdog (`auth:expiring`, then
 * `auth:expired` and a disconnect), the in-band refresh handler (`auth:refresh`, rate-limited), and the revocation
 * re-check once the socket is in its user room. Every timer is released when the socket goes. Restored sessions are
 * re-checked in restored.ts before they get here.
 */
import {
  type ExpiringPayload,
  PROTOCOL_VERSION,
  ProtocolEvent,
  type ReadyPayload,
  type RefreshAck,
  type RevokedPayload,
} from "../protocol.js";
import { checkToken, claimsGuardsOf, readTokenValue, revocationCheck, type TokenCheck } from "./check.js";
import { type CancelTimer, timerAt } from "./clock.js";
import type { AuthContext, AuthData, HookSocket } from "./options.js";
import { consume, ipKey } from "./rate-limit.js";
import { guardRooms, recheckRooms } from "./rooms.js";
import { userRoom } from "./users.js";

/** At most this many `auth:refresh` requests wait behind the one being verified; more are refused. */
const MAX_QUEUED_REFRESHES = 4;

interface Session {
  readonly socket: HookSocket;
  readonly context: AuthContext;
  /** Fixed at the handshake: an in-band refresh may not switch users. */
  readonly subject: string;
  cancelTimers: CancelTimer[];
  /** Refreshes run one at a time, so an older token can never overwrite a newer one. */
  refreshes: Promise<void>;
  queued: number;
  stopped: boolean;
  /** Until when (server clock) this socket was told to wait after a RATE_LIMITED refusal; 0 when it was not. */
  limitedUntil: number;
}

/**
 * A socket asking again this early into the wait it was given is flooding, not retrying: it is cut. The slack
 * absorbs timer and clock granularity; a client that waited the whole time never comes close.
 */
const EARLY_RETRY_SHARE = 0.9;

const sessions = new WeakMap<HookSocket, Session>();

/** Whether the socket's session has started (its expiry timers and `auth:refresh` handler are live). */
export function hasSession(socket: HookSocket): boolean {
  return sessions.has(socket);
}

/**
 * Starts watching a socket that has just connected with a verified token on `socket.data.auth`: joins the user
 * room, arms the expiry timers, serves `auth:refresh` and sends `auth:ready`.
 */
export function startSession(socket: HookSocket, context: AuthContext): void {
  if (!socket.connected || sessions.has(socket)) return;
  const auth = authOf(socket);
  if (!auth) {
    cut(socket, ProtocolEvent.Expired, {});
    return;
  }
  const session: Session = {
    socket,
    context,
    subject: auth.subject,
    cancelTimers: [],
    refreshes: Promise.resolve(),
    queued: 0,
    stopped: false,
    limitedUntil: 0,
  };
  sessions.set(socket, session);
  socket.once("disconnect", () => stop(session));
  // Adapters may join asynchronously; a failed join only weakens disconnectUser(), it must not crash the server.
  const joined = context.joinUserRoom
    ? Promise.resolve(socket.join(userRoom(auth.subject))).catch(() => undefined)
    : Promise.resolve();
  // A revocation made while this handshake was between its last check and the join found no socket to cut: once
  // the socket is in the user room, any later revocation finds it, and this re-check sees any earlier one.
  void joined.then(() => recheckRevocation(session));
  // Filters later joins; a restored session's rooms are checked against its (new) token here.
  guardRooms(socket, context, auth.subject);
  if (context.inBand) {
    socket.on(ProtocolEvent.Refresh, (...args: unknown[]) => onRefreshRequest(session, args));
  }
  armExpiry(session, auth.expiresAt);
  const ready: ReadyPayload = {
    expiresAt: auth.expiresAt,
    inBand: context.inBand,
    version: PROTOCOL_VERSION,
  };
  socket.emit(ProtocolEvent.Ready, ready);
}

/**
 * Asks the revocation store again about the socket's current token; a covered one ends the session with
 * `auth:revoked`. A store that fails here leaves the socket up: it passed the check just before.
 */
async function recheckRevocation(session: Session): Promise<void> {
  const { socket, context } = session;
  const auth = authOf(socket);
  if (session.stopped || !socket.connected || !auth) return;
  const refusal = await revocationCheck(context, auth);
  if (!refusal?.revoked || session.stopped || !socket.connected) return;
  // Only if the token is still the one checked: a newer one went through its own checks.
  if (authOf(socket)?.claims !== auth.claims) return;
  context.onReject({ phase: "revocation", code: "TOKEN_REVOKED", socketId: socket.id });
  revoke(session, refusal.reason ?? "revoked", "revocation");
}

/** Ends a session because a revocation covers it: `auth:revoked { reason }`, then the disconnect. */
function revoke(session: Session, reason: string, phase: "refresh" | "revocation"): void {
  stop(session);
  if (session.socket.connected) session.context.metrics.revokedCut(phase);
  const payload: RevokedPayload = { reason };
  cut(session.socket, ProtocolEvent.Revoked, payload);
}

/** Reads and checks the shape of `socket.data.auth`, which a persistent adapter may have serialised. */
export function authOf(socket: HookSocket): AuthData<object> | undefined {
  const auth = (socket.data as { auth?: unknown } | null | undefined)?.auth;
  if (typeof auth !== "object" || auth === null) return undefined;
  const { subject, claims, expiresAt } = auth as Partial<AuthData<object>>;
  if (typeof subject !== "string" || subject.length === 0) return undefined;
  if (typeof claims !== "object" || claims === null) return undefined;
  if (expiresAt !== null && (typeof expiresAt !== "number" || !Number.isFinite(expiresAt))) return undefined;
  return { subject, claims, expiresAt };
}

function armExpiry(session: Session, expiresAt: number | null): void {
  for (const cancel of session.cancelTimers) cancel();
  session.cancelTimers = [];
  if (expiresAt === null || session.stopped) return;
  const { clock, expiringBeforeMs, graceMs } = session.context;
  const { socket } = session;
  session.cancelTimers.push(
    timerAt(clock, expiresAt - expiringLead(socket, expiresAt, expiringBeforeMs, clock.now()), () => {
      const payload: ExpiringPayload = { expiresAt };
      socket.emit(ProtocolEvent.Expiring, payload);
    }),
    timerAt(clock, expiresAt + graceMs, () => {
      stop(session);
      if (socket.connected) session.context.metrics.expiryCut();
      cut(socket, ProtocolEvent.Expired, {});
    }),
  );
}

/** A token's last tenth: `auth:expiring` then means "refresh now", also for tokens shorter than the option. */
const EXPIRING_SHARE = 0.1;

/** How long before expiry `auth:expiring` goes out: the option, or the token's last tenth when that is shorter. */
function expiringLead(socket: HookSocket, expiresAt: number, expiringBeforeMs: number, now: number): number {
  const iat = (authOf(socket)?.claims as { iat?: unknown } | undefined)?.iat;
  const issuedAt =
    typeof iat === "number" && Number.isFinite(iat) && iat * 1000 < expiresAt ? iat * 1000 : now;
  return Math.min(expiringBeforeMs, Math.max(0, expiresAt - issuedAt) * EXPIRING_SHARE);
}

function stop(session: Session): void {
  session.stopped = true;
  for (const cancel of session.cancelTimers) cancel();
  session.cancelTimers = [];
}

/** Sends the last word, then closes the connection; socket.io flushes queued packets before closing. */
export function cut(socket: HookSocket, event: string, payload: object): void {
  if (!socket.connected) return;
  socket.emit(event, payload);
  socket.disconnect(true);
}

function onRefreshRequest(session: Session, args: unknown[]): void {
  const last = args[args.length - 1];
  // Without an ack the client cannot learn the outcome; the protocol requires one, so the request is ignored.
  if (typeof last !== "function") return;
  const payload = args.length > 1 ? args[0] : undefined;
  const reply = (ack: RefreshAck): void => {
    session.context.metrics.refresh(ack);
    try {
      last(ack);
    } catch {
      // The ack callback belongs to socket.io; whatever happens there is not this socket's concern.
    }
  };
  if (session.stopped) return;
  const { socket, context } = session;
  const waitLeft = session.limitedUntil - context.clock.now();
  if (waitLeft > 0) {
    // Asked again while told to wait: a flood. Refused, then cut, so it costs the server nothing more.
    const retryAfterMs = Math.ceil(waitLeft / EARLY_RETRY_SHARE);
    context.onReject({ phase: "refresh", code: "RATE_LIMITED", socketId: socket.id, retryAfterMs });
    reply({ ok: false, code: "RATE_LIMITED", retryAfterMs });
    stop(session);
    socket.disconnect(true);
    return;
  }
  const refuse = (code: "TOKEN_MISSING" | "TOKEN_INVALID" | "UNAVAILABLE"): void => {
    session.context.onReject({ phase: "refresh", code, socketId: session.socket.id });
    reply({ ok: false, code });
  };
  if (payload === undefined || payload === null) return refuse("TOKEN_MISSING");
  if (typeof payload !== "object" || Array.isArray(payload)) return refuse("TOKEN_INVALID");
  const read = readTokenValue((payload as { token?: unknown }).token, session.context.maxTokenBytes);
  if (read.kind === "missing") return refuse("TOKEN_MISSING");
  if (read.kind === "malformed") return refuse("TOKEN_INVALID");
  // A client flooding auth:refresh gets refusals instead of an ever-growing queue of verifications.
  // `queued` counts the request being verified too.
  if (session.queued > MAX_QUEUED_REFRESHES) return refuse("UNAVAILABLE");
  session.queued += 1;
  session.refreshes = session.refreshes.then(async () => {
    try {
      await rotate(session, read.token, reply);
    } catch {
      // rotate() does not throw; this only keeps the queue alive if that ever changes.
    } finally {
      session.queued -= 1;
    }
  });
}

async function rotate(session: Session, token: string, reply: (ack: RefreshAck) => void): Promise<void> {
  const { socket, context } = session;
  if (session.stopped) return;
  const result = await limitedOr(session, () =>
    checkToken(context, token, socket, {
      expectedSubject: session.subject,
      guards: claimsGuardsOf(socket.nsp),
      limiter: context.limits.refreshPerSubject,
    }),
  );
  // The socket may have gone while the token was being verified.
  if (session.stopped || !socket.connected) return;
  if (!result.ok) {
    context.onReject({
      phase: "refresh",
      code: result.code,
      socketId: socket.id,
      ...(result.retryAfterMs === undefined ? {} : { retryAfterMs: result.retryAfterMs }),
      ...(result.error === undefined ? {} : { error: result.error }),
    });
    if (result.code === "RATE_LIMITED") {
      const retryAfterMs = result.retryAfterMs ?? 1000;
      session.limitedUntil = Math.max(
        session.limitedUntil,
        context.clock.now() + retryAfterMs * EARLY_RETRY_SHARE,
      );
      reply({ ok: false, code: "RATE_LIMITED", retryAfterMs });
      return;
    }
    reply({ ok: false, code: result.code });
    // A revoked session ends now, not at the old token's expiry: the revocation covers this connection too.
    if (result.revoked) {
      revoke(session, result.reason ?? "revoked", "refresh");
      return;
    }
    // Another user's token, or a user no longer allowed here: this connection must end, not just keep its old token.
    if (result.code === "SUBJECT_MISMATCH" || result.code === "FORBIDDEN") {
      stop(session);
      socket.disconnect(true);
    }
    return;
  }
  (socket.data as { auth?: AuthData<object> }).auth = result.auth;
  armExpiry(session, result.auth.expiresAt);
  // Before the ack: when the client learns of the new token, the rooms it no longer allows are already left.
  recheckRooms(socket, context, session.subject);
  reply({ ok: true, expiresAt: result.auth.expiresAt });
  // As after a handshake: a revocation of the new token made during its check found the old one on the socket.
  await recheckRevocation(session);
}

/**
 * The per-IP refresh limit, then `check`. A request queued behind the one that was limited was sent before the
 * client could know: it gets the same answer, without a point counted or a verification run.
 */
async function limitedOr(session: Session, check: () => Promise<TokenCheck>): Promise<TokenCheck> {
  const { context, socket } = session;
  const waitLeft = session.limitedUntil - context.clock.now();
  if (waitLeft > 0) return rateLimited(Math.ceil(waitLeft / EARLY_RETRY_SHARE));
  const byIp = await consume(context.limits.refreshPerIp, ipKey(context.limits, socket));
  if (byIp.kind === "limited") return rateLimited(byIp.retryAfterMs);
  if (byIp.kind === "failed")
    return { ok: false, code: "UNAVAILABLE", message: "rate limiter failed", error: byIp.error };
  return check();
}

function rateLimited(retryAfterMs: number): TokenCheck {
  return { ok: false, code: "RATE_LIMITED", message: "Too many attempts; retry later", retryAfterMs };
}
