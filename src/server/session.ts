/**
 * The life of one authenticated socket after its handshake: the expiry watchdog (`auth:expiring`, then
 * `auth:expired` and a disconnect), the in-band refresh handler (`auth:refresh`), and the re-check of a session that
 * connectionStateRecovery restored without running any middleware. Every timer is released when the socket goes.
 */
import {
  type ExpiringPayload,
  type InBandRefreshErrorCode,
  ProtocolEvent,
  type ReadyPayload,
  type RefreshAck,
  type RevokedPayload,
} from "../protocol.js";
import {
  checkToken,
  claimsGuardsOf,
  readHandshakeToken,
  readTokenValue,
  revocationCheck,
  type TokenCheck,
} from "./check.js";
import { type CancelTimer, timerAt } from "./clock.js";
import type { AuthContext, AuthData, HookSocket } from "./options.js";
import { consume, ipKey } from "./rate-limit.js";
import { dropWithheld, holdOutgoing, releaseWithheld, revokedReason } from "./recovery.js";
import { userRoom } from "./users.js";

/** Packets held (each way) while a restored session is re-checked; beyond it the session is refused. */
const MAX_HELD_PACKETS = 100;
/** Longest re-check of a restored session (a revocation store that does not answer). */
const RECHECK_TIMEOUT_MS = 10_000;
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
  if (context.inBand) {
    socket.on(ProtocolEvent.Refresh, (...args: unknown[]) => onRefreshRequest(session, args));
  }
  armExpiry(session, auth.expiresAt);
  const ready: ReadyPayload = { expiresAt: auth.expiresAt, inBand: context.inBand };
  socket.emit(ProtocolEvent.Ready, ready);
}

/**
 * Re-checks a socket that connectionStateRecovery restored (socket.io skipped the middlewares). socket.io 4.8 restores
 * `socket.data`, so the previous token's subject, claims and expiry are there.
 *
 * When the reconnect presents a token (authed-socket's client always sends a usable one), that token is verified
 * like an in-band refresh (same subject required) and replaces the old one: a session whose old token expired while
 * the client was away is kept, with the packets it missed. Without one, the stored claims decide: past expiry plus
 * grace → `auth:expired`. Either way a revoked session gets `auth:revoked`; every refusal ends in a disconnect.
 * Incoming packets are held while an asynchronous check runs, so a refused socket cannot act meanwhile.
 */
export function recheckRecovered(socket: HookSocket, context: AuthContext): void {
  if (!socket.connected || sessions.has(socket)) return;
  const auth = authOf(socket);
  if (!auth) {
    dropWithheld(socket);
    context.onReject({ phase: "recovery", code: "TOKEN_INVALID", socketId: socket.id });
    cut(socket, ProtocolEvent.Expired, {});
    return;
  }
  const revoked = revokedReason(socket);
  if (revoked !== undefined) {
    dropWithheld(socket);
    context.onReject({ phase: "recovery", code: "TOKEN_REVOKED", socketId: socket.id });
    const payload: RevokedPayload = { reason: revoked };
    cut(socket, ProtocolEvent.Revoked, payload);
    return;
  }
  const presented = readHandshakeToken(socket.handshake, context.tokenFrom, context.maxTokenBytes);
  if (presented.kind === "token") {
    gate(socket, context, async () => {
      const result = await checkToken(context, presented.token, socket, {
        expectedSubject: auth.subject,
        guards: claimsGuardsOf(socket.nsp),
      });
      if (!result.ok) return result;
      (socket.data as { auth?: AuthData<object> }).auth = result.auth;
      return undefined;
    });
    return;
  }
  // Every authed-socket client presents a token; a restored session that brings none is sent to a fresh handshake.
  if (context.requireTokenOnRecovery) {
    dropWithheld(socket);
    context.onReject({ phase: "recovery", code: "TOKEN_MISSING", socketId: socket.id });
    cut(socket, ProtocolEvent.Expired, {});
    return;
  }
  if (auth.expiresAt !== null && auth.expiresAt + context.graceMs <= context.clock.now()) {
    dropWithheld(socket);
    context.onReject({ phase: "recovery", code: "TOKEN_EXPIRED", socketId: socket.id });
    cut(socket, ProtocolEvent.Expired, {});
    return;
  }
  const { isRevoked } = context;
  gate(socket, context, async () => {
    if (isRevoked) {
      try {
        if ((await isRevoked(auth.claims)) !== false) return { code: "TOKEN_REVOKED", revoked: true };
      } catch (error) {
        return { code: "UNAVAILABLE", error };
      }
    }
    return revocationCheck(context, auth);
  });
}

interface Refusal {
  code: InBandRefreshErrorCode;
  error?: unknown;
  revoked?: true;
  reason?: string;
}

/**
 * Holds the socket's incoming packets while `decide` runs; then starts the session (undefined) or cuts it: revoked →
 * `auth:revoked`; anything else → `auth:expired`, which sends the client through a fresh handshake that reports the
 * precise reason itself.
 */
function gate(socket: HookSocket, context: AuthContext, decide: () => Promise<Refusal | undefined>): void {
  let verdict: "pending" | "accepted" | "refused" = "pending";
  const held: Array<() => void> = [];
  const outgoing = holdOutgoing(socket, MAX_HELD_PACKETS);
  let settle: (refusal: Refusal | undefined) => void = () => {};
  const settled = new Promise<Refusal | undefined>((resolve) => {
    settle = resolve;
  });
  socket.use((_packet, next) => {
    if (verdict === "accepted") next();
    else if (verdict === "pending") {
      // A client that floods a pending check is not buffered without end.
      if (held.length >= MAX_HELD_PACKETS) settle({ code: "UNAVAILABLE" });
      else held.push(() => next());
    }
    // Refused: the packet is dropped; the socket is being disconnected.
  });
  // A store that never answers must not keep the socket (and what it holds) in limbo.
  const timer = context.clock.setTimeout(() => settle({ code: "UNAVAILABLE" }), RECHECK_TIMEOUT_MS);
  decide().then(settle, (error: unknown) => settle({ code: "UNAVAILABLE", error }));
  void settled.then((decided) => {
    context.clock.clearTimeout(timer);
    if (verdict !== "pending") return;
    const refusal = decided ?? (outgoing.overflow() ? { code: "UNAVAILABLE" as const } : undefined);
    if (!socket.connected) {
      verdict = "refused";
      outgoing.release(false);
      dropWithheld(socket);
      return;
    }
    if (refusal === undefined) {
      verdict = "accepted";
      releaseWithheld(socket);
      outgoing.release(true);
      startSession(socket, context);
      for (const release of held.splice(0)) release();
      return;
    }
    verdict = "refused";
    held.length = 0;
    outgoing.release(false);
    dropWithheld(socket);
    const { code, error } = refusal;
    context.onReject(
      error === undefined
        ? { phase: "recovery", code, socketId: socket.id }
        : { phase: "recovery", code, socketId: socket.id, error },
    );
    if (refusal.revoked) {
      const payload: RevokedPayload = { reason: refusal.reason ?? "revoked" };
      cut(socket, ProtocolEvent.Revoked, payload);
    } else cut(socket, ProtocolEvent.Expired, {});
  });
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
  revoke(session, refusal.reason ?? "revoked");
}

/** Ends a session because a revocation covers it: `auth:revoked { reason }`, then the disconnect. */
function revoke(session: Session, reason: string): void {
  stop(session);
  const payload: RevokedPayload = { reason };
  cut(session.socket, ProtocolEvent.Revoked, payload);
}

/** Reads and checks the shape of `socket.data.auth`, which a persistent adapter may have serialised. */
function authOf(socket: HookSocket): AuthData<object> | undefined {
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
function cut(socket: HookSocket, event: string, payload: object): void {
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
      revoke(session, result.reason ?? "revoked");
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
