/**
 * The re-check of a session that connectionStateRecovery restored without running any middleware: its token (or
 * its stored claims) against expiry, revocation and the namespace's guards, while everything it would receive or
 * send is held. Accepted → the session starts as after a handshake; refused → it is cut.
 */
import { type InBandRefreshErrorCode, ProtocolEvent, type RevokedPayload } from "../protocol.js";
import { checkToken, claimsGuardsOf, readHandshakeToken, revocationCheck } from "./check.js";
import type { AuthContext, AuthData, HookSocket } from "./options.js";
import { dropWithheld, holdOutgoing, releaseWithheld, revokedReason } from "./recovery.js";
import { replayWouldLeak } from "./rooms.js";
import { authOf, cut, hasSession, startSession } from "./session.js";

/** Packets held (each way) while a restored session is re-checked; beyond it the session is refused. */
const MAX_HELD_PACKETS = 100;
/** Longest re-check of a restored session (a revocation store that does not answer). */
const RECHECK_TIMEOUT_MS = 10_000;

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
  if (!socket.connected || hasSession(socket)) return;
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
    const refusal =
      decided ??
      (outgoing.overflow() || replayWouldLeak(socket, context)
        ? { code: "UNAVAILABLE" as const }
        : undefined);
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
