import { ClientBase } from "./client-base.js";
import { ConnectionScope, expiryTolerance, judgeRefusal } from "./connection.js";
import { emitAfterLoggedOut, refuseEmits } from "./diagnostics.js";
import { AuthedSocketError, UnauthorizedError } from "./errors.js";
import type { LoggedOutReason, RefreshReason } from "./events.js";
import { clearOutsideAuth, isAbort, placeOutsideAuth, tokenForHandshake } from "./handshake.js";
import { drained, requestInBand } from "./rotation.js";
import { backoffDelay, clampDelay } from "./schedule.js";
import {
  connectAuth,
  connectOverWebsocket,
  discardBuffered,
  discardQueued,
  dropEventsOfEarlierAttempts,
  forgetRecoverySession,
  forgetTransportToken,
  holdEmits,
  onWebsocket,
} from "./socket-internals.js";
import { TimerAt, timerAt } from "./timer.js";
import type { KeptToken } from "./token.js";
import { keepLast, noop } from "./util.js";

/** How long a connection must live before the refusals counted so far are forgotten. */
export const SETTLE_MS = 2000;
/** Longest single timer step: a timer that sleeps through a suspended machine is noticed within this time. */
const STEP_MS = 30_000;
/** Longest drain before a re-handshake when the connection's token has no known expiry. */
const DRAIN_MAX_MS = 2000;
/**
 * How long before the connection token's local expiry a drain gives up and re-handshakes anyway. The local expiry
 * already errs early (expiry.ts); this absorbs a late timer. Smaller than the least refresh floor (250 ms), so a
 * refresh that lands at the end of its window still leaves time to drain.
 */
const DRAIN_GUARD_MS = 100;

/** The client each socket belongs to: socket.io calls listeners and `auth` with the socket as `this`. */
const owners = new WeakMap<object, ClientCore>();

/** The client of `socket`; undefined once that client closed (a listener called on the way out does nothing). */
export function clientOf(socket: object): ClientCore | undefined {
  return owners.get(socket);
}

/** Makes `core` the owner of its socket; a socket serves one client. */
export function claimSocket(core: ClientCore): void {
  if (owners.has(core.socket))
    throw new TypeError(
      "authed-socket: this socket already belongs to another client (options.socket.forceNew: false gave two clients one socket); give each client its own socket",
    );
  owners.set(core.socket, core);
}

/** Ends `core`'s ownership of its socket (close()). */
export function releaseSocket(core: ClientCore): void {
  if (owners.get(core.socket) === core) owners.delete(core.socket);
}

/**
 * The socket's `auth` function, one for all clients: socket.io calls it as `socket.auth(cb)` at every CONNECT, and
 * the socket's client answers (no closure per client).
 */
function authOfSocket(this: object, cb: (data: object) => void): void {
  const owner = owners.get(this);
  // The app reconnected the socket of a closed client itself: a handshake without a token, not one that hangs.
  if (owner) owner.authenticate(cb);
  else cb({});
}

/**
 * The client's behaviour on top of its state (client-base.ts): handshakes and their connection scopes, the one
 * reconnect path, handing new tokens to the connection, the proactive timer, ending a session. Socket and protocol
 * listeners are attached by wiring.ts.
 */
export class ClientCore extends ClientBase {
  // ---- the handshake ----------------------------------------------------------------------------------------

  /** @internal */ present(s: ConnectionScope, token: KeptToken): void {
    const { lastPresented, sentTokens } = this;
    // Another user on the same client: the previous user's recovery session must not be restored to them.
    if (lastPresented && lastPresented.subject !== token.subject) forgetRecoverySession(this.socket);
    s.presented = token;
    this.lastPresented = token;
    if (!sentTokens.includes(token.value)) this.sentTokens = keepLast([...sentTokens, token.value], 4);
  }

  /** @internal socket.io calls this for every CONNECT packet: one new connection scope each time. */
  authenticate(cb: (data: object) => void): void {
    if (this.scope) this.endScope(this.scope);
    dropEventsOfEarlierAttempts(this.socket);
    const s = new ConnectionScope();
    this.scope = s;
    const { o, keeper, socket } = this;
    void tokenForHandshake({
      keeper,
      refreshTimeoutMs: o.refreshTimeoutMs,
      timers: o.timers,
      warn: (message) => this.log.warn(message),
      lateToken: (pending) =>
        pending.then((token) => this.state === "authenticated" && this.deliver(token), noop),
    }).then((outcome) => {
      if (!this.isLive(s)) return;
      if (outcome.kind === "wait") return this.reconnect(outcome.pending);
      if (outcome.kind === "failed") return this.onRefreshError(outcome.error);
      this.present(s, outcome.token);
      // Headers and the query travel as the transport opens: if they carried an older token, reopen with this one.
      if (o.tokenIn !== "auth" && placeOutsideAuth(socket, o.tokenIn, outcome.token))
        return this.reconnect(0);
      cb(o.tokenIn === "auth" ? connectAuth(o.socket.auth, outcome.token.value) : { ...o.socket.auth });
      // A CONNECT never answered (an io.use that never calls next) is bounded by socket.io's `timeout` too.
      const wait = socket.io.timeout();
      if (typeof wait === "number" && wait > 0)
        s.answerWait = timerAt(this, this.now() + wait, () => {
          this.log.warn(`no answer to the handshake in ${wait} ms (socket.timeout); retrying`);
          this.reconnect(this.backoff());
        });
    });
  }

  /** @internal */ installAuth(): void {
    (this.socket as { auth: unknown }).auth = authOfSocket;
  }

  // ---- the one reconnect path -------------------------------------------------------------------------------

  /** @internal Ends the live connection (its scope first, so its disconnect event is not taken for a loss). */
  stopSocket(): void {
    if (this.scope) this.endScope(this.scope);
    this.scope = null;
    this.socket.disconnect();
  }

  /**
   * @internal Disposes a connection's scope. A connection that lived SETTLE_MS proved its token and the server:
   * the refusals and retries counted so far are forgotten (checked here and at a refusal, so no timer is needed).
   */
  endScope(s: ConnectionScope): void {
    this.forgetIfSettled(s);
    s.dispose();
  }

  /** @internal */ forgetIfSettled(s: ConnectionScope): void {
    if (s.open && !s.disposed && this.now() - s.openedAt >= SETTLE_MS) {
      this.rejections = 0;
      this.retryAttempt = 0;
    }
  }

  /**
   * @internal Stops the socket and connects again: at once (`"now"`, for a drained rotation, which runs outside any
   * packet of the old connection), in the next timer turn (`0`, so packets still queued from the old connection — a
   * DISCONNECT right behind an `auth_error` — reach a socket that no longer listens instead of destroying the new
   * attempt), after a delay (ms), or once a refresh has produced a token. Every reconnect the client itself decides
   * goes through here.
   */
  reconnect(after: number | "now" | Promise<unknown>): void {
    this.cancelReconnect();
    // The new connection opens on websocket at once when the one it replaces ran on it (socket-internals.ts): a
    // rotation or a reconnect after a kick does not wait for a polling handshake and an upgrade.
    const direct = onWebsocket(this.socket);
    this.stopSocket();
    const go = () => {
      this.reconnecting = null;
      if (this.isOver()) return;
      this.setState("connecting");
      if (direct) connectOverWebsocket(this.socket);
      else this.socket.connect();
    };
    if (after === "now") return go();
    if (typeof after === "number") {
      this.setState(after === 0 ? "connecting" : "reconnecting");
      this.reconnecting = timerAt(this, this.now() + after, go);
      return;
    }
    this.setState("reconnecting");
    let cancelled = false;
    this.reconnecting = () => {
      cancelled = true;
    };
    after.then(
      () => !cancelled && go(),
      (error: unknown) => !cancelled && this.onRefreshError(error),
    );
  }

  /** @internal */ cancelReconnect(): void {
    this.reconnecting?.();
    this.reconnecting = null;
  }

  /** @internal The next backoff delay for a refusal that is not about the token. */
  backoff(): number {
    return backoffDelay({ attempt: ++this.retryAttempt, ...this.o.retry, random: Math.random() });
  }

  /**
   * @internal The server refused or cut the connection `s` because of its token (a handshake refusal,
   * `auth_error`, `auth:expired`, or a cut at the token's expiry), judged against the token `s` presented.
   * `counts`: a refusal of a valid token counts towards `maxAuthRejections`; a cut without a word only reconnects.
   */
  onTokenRefused(s: ConnectionScope | null, counts: boolean): void {
    const { keeper } = this;
    if (s) this.forgetIfSettled(s);
    const presented = s?.presented ?? null;
    const now = this.now();
    if (presented?.expiresAt != null && now >= presented.expiresAt - expiryTolerance(presented) && !s?.inBand)
      this.cutsAtExpiry = true;
    const held = keeper.current;
    const verdict = judgeRefusal(presented, held, held !== null && this.isUsable(held), now);
    if (verdict === "use-held") return this.reconnect(0);
    if (verdict === "expired") return this.reconnect(keeper.refresh("rejected"));
    if (!counts) return this.reconnect(this.backoff());
    if (presented?.fresh) this.rejections++;
    if (this.rejections >= this.o.maxAuthRejections)
      return this.loggedOut("auth_rejected", this.diagnostics.authRejected(this.rejections));
    this.reconnect(keeper.refresh("rejected", true));
  }

  // ---- handing a new token to the connection ----------------------------------------------------------------

  /** @internal */ refreshNow(reason: RefreshReason): Promise<void> {
    if (this.state === "authenticated") this.setState("refreshing");
    return this.keeper.refresh(reason).then(
      (token) => this.deliver(token),
      (error: unknown) => {
        if (this.state === "refreshing") this.setState("authenticated");
        this.onRefreshError(error);
        throw error;
      },
    );
  }

  /** @internal Hands a new token to the live connection: in band, by a drained re-handshake, or at the next one. */
  deliver(token: KeptToken): void {
    if (this.isOver()) return;
    const s = this.scope;
    if (!s?.open || !this.socket.connected) {
      // The next handshake picks the new token up through the auth function.
      if (this.state === "refreshing") this.setState(this.socket.active ? "reconnecting" : "idle");
      return;
    }
    if (this.state === "refreshing") this.setState("authenticated");
    // Already on this connection, or on its way there: nothing to send.
    if (token === s.presented || token === s.rotating) return;
    if (s.inBand && this.o.rotation !== "reconnect") return void this.rotateInBand(s, token);
    // Without the in-band protocol the live connection keeps its token, unless the server cuts at expiry.
    if (this.cutsAtExpiry) this.rehandshake(s, token);
  }

  /**
   * @internal Re-handshakes with `token` before the connection's own token expires, once no ack is pending (acks of
   * emits on the wire would fail with the connection); emits made meanwhile wait in socket.io's buffer.
   */
  rehandshake(s: ConnectionScope, token: KeptToken): void {
    s.rotating = token;
    const presented = s.presented;
    const expiresAt = presented?.expiresAt ?? null;
    const until =
      expiresAt === null || presented === null
        ? this.now() + DRAIN_MAX_MS
        : expiresAt - Math.min(expiryTolerance(presented), DRAIN_GUARD_MS);
    const release = holdEmits(this.socket); // the drain then ends within one ack round trip
    s.own(release);
    void drained(this.socket, s, this, until).then(() => {
      release();
      if (this.isLive(s)) this.reconnect("now");
    });
  }

  /** @internal */ async rotateInBand(s: ConnectionScope, token: KeptToken): Promise<void> {
    s.rotating = token;
    const outcome = await requestInBand(this.socket, token.value, clampDelay(this.o.refreshTimeoutMs));
    if (s.rotating === token) s.rotating = null;
    if (!this.isLive(s) || !this.socket.connected) return;
    if (outcome.kind === "unanswered")
      return this.log.warn("the server did not acknowledge auth:refresh; keeping the connection");
    if (outcome.kind === "accepted") {
      this.present(s, token);
      return this.emitAuthenticated("in-band", token);
    }
    const { code } = outcome;
    if (code === "RATE_LIMITED") {
      // Transient: the connection keeps its token, and the new one goes in band once the server allows it.
      const retry = timerAt(this, this.now() + Math.max(outcome.retryAfterMs ?? 0, 1000), () => {
        if (this.isLive(s) && this.keeper.current === token) this.deliver(token);
      });
      return s.own(retry);
    }
    if (code === "FORBIDDEN")
      return this.loggedOut(
        "forbidden",
        new AuthedSocketError("ERR_FORBIDDEN", "the server refused the new token"),
      );
    if (code === "TOKEN_REVOKED")
      return this.loggedOut(
        "revoked",
        new AuthedSocketError("ERR_REVOKED", "the server revoked the session"),
      );
    if (code === "TOKEN_EXPIRED" || code === "TOKEN_INVALID" || code === "TOKEN_MISSING") {
      this.present(s, token);
      return this.onTokenRefused(s, true);
    }
    // A different subject or a server hiccup: a full handshake with the new token settles it.
    this.reconnect(0);
  }

  /** @internal */ emitAuthenticated(via: "handshake" | "in-band", token: KeptToken | null): void {
    this.lastAuthenticated = { via, expiresAt: token?.expiresAt ?? null };
    this.events.emit("authenticated", this.lastAuthenticated);
  }

  /** @internal The server accepted the handshake of the live scope. */
  opened(s: ConnectionScope): void {
    this.cancelReconnect();
    s.answerWait?.();
    s.answerWait = null;
    s.open = true;
    this.setState("authenticated");
    s.openedAt = this.now();
    this.emitAuthenticated("handshake", s.presented);
    this.armTimer();
    // A refresh that landed during the handshake: a server that cuts at expiry needs it before this token expires.
    const held = this.keeper.current;
    if (held && held !== s.presented && this.cutsAtExpiry && this.isUsable(held)) this.deliver(held);
  }

  // ---- the proactive timer ----------------------------------------------------------------------------------

  /** @internal Arms the refresh timer for the held token, in steps of at most STEP_MS so a sleep is noticed. */
  armTimer(): void {
    this.refreshTimer?.cancel();
    this.refreshTimer = null;
    const token = this.keeper.current;
    if (!token || token.refreshAt === null || this.isOver() || this.state === "idle") return;
    // Past the refresh instant only an authenticated connection refreshes from the timer; a handshake refreshes
    // through the auth function, and a refresh in flight re-arms the timer when it lands.
    if (token.refreshAt <= this.now() && this.state !== "authenticated") return;
    this.refreshTimer = new TimerAt(this, token.refreshAt, this, STEP_MS);
  }

  /** @internal The refresh timer fired. */
  onTimer(lateMs: number): void {
    this.refreshTimer = null;
    if (lateMs > STEP_MS)
      this.log.debug(`the refresh timer fired ${lateMs} ms late (the device slept?); re-checking`);
    this.check();
  }

  /** @internal Re-checks the token now: refresh if it is inside its window or expired, otherwise re-arm. */
  check(): void {
    if (this.isOver() || this.state === "idle") return;
    const status = this.keeper.status();
    if ((status === "stale" || status === "expired") && this.state === "authenticated")
      return void this.refreshNow("expiring").catch(noop);
    this.armTimer();
  }

  // ---- ending -----------------------------------------------------------------------------------------------

  /** @internal */ onRefreshError(error: unknown): void {
    if (isAbort(error) || this.isOver()) return;
    if (error instanceof UnauthorizedError) return this.loggedOut("refresh_rejected", error);
    if (error instanceof AuthedSocketError) return this.loggedOut("refresh_failed", error);
    this.log.error("unexpected error", error);
  }

  /** @internal */ teardown(): void {
    const { socket, o } = this;
    this.keeper.reset();
    this.crossTab?.reset();
    this.cancelReconnect();
    this.refreshTimer?.cancel();
    this.refreshTimer = null;
    this.rejections = 0;
    this.retryAttempt = 0;
    this.cutsAtExpiry = o.rotation === "reconnect";
    this.lastPresented = null;
    this.sentTokens = [];
    this.lastAuthenticated = null;
    (socket as { auth: unknown }).auth = {};
    if (o.tokenIn !== "auth") clearOutsideAuth(socket, o.tokenIn);
    discardBuffered(socket);
    this.stopSocket();
    discardQueued(socket);
    // After the disconnect: socket.io must not offer this session to whoever logs in next.
    forgetRecoverySession(socket);
    if (o.tokenIn !== "auth") forgetTransportToken(socket.io, o.tokenIn);
  }

  /** @internal */ loggedOut(reason: LoggedOutReason, error?: AuthedSocketError): void {
    if (this.isOver()) return;
    // Before teardown: the tokens this session used are still known to the log's redaction.
    this.diagnostics.loggedOut(reason, error);
    this.teardown();
    this.allowEmits?.();
    this.allowEmits = refuseEmits(this.socket, () => emitAfterLoggedOut(reason), this.log);
    this.setState("logged_out");
    this.events.emit("logged_out", error ? { reason, error } : { reason });
  }
}
