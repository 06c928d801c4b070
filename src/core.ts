import type { Socket } from "socket.io-client";
import type { TimerHandle } from "./clock.js";
import { ConnectionScope, expiryTolerance, judgeRefusal } from "./connection.js";
import type { CrossTab } from "./cross-tab.js";
import {
  createDiagnostics,
  type Diagnostics,
  emitAfterClose,
  emitAfterLoggedOut,
  refuseEmits,
} from "./diagnostics.js";
import { AuthedSocketError, UnauthorizedError } from "./errors.js";
import {
  type AuthedSocketEventName,
  type AuthedSocketEvents,
  type AuthedSocketListener,
  type AuthedSocketState,
  createEmitter,
  type LoggedOutReason,
  type RefreshReason,
} from "./events.js";
import { readClaims } from "./expiry.js";
import { clearOutsideAuth, isAbort, placeOutsideAuth, tokenForHandshake } from "./handshake.js";
import { checkTransition } from "./lifecycle.js";
import { createLog, type Log } from "./log.js";
import type { NormalizedOptions } from "./options.js";
import { drained, requestInBand } from "./rotation.js";
import { backoffDelay, clampDelay } from "./schedule.js";
import {
  connectAuth,
  discardBuffered,
  discardQueued,
  forgetRecoverySession,
  forgetTransportToken,
} from "./socket-internals.js";
import { subjectOf } from "./subject.js";
import { type CancelTimer, type TimerClock, timerAt } from "./timer.js";
import { createTokenKeeper, type KeptToken, type TokenKeeper } from "./token.js";
import { WAIT_FOR_DEFAULT_MS, waitForEvent } from "./wait-for.js";

/** How long a connection must live before the refusals counted so far are forgotten. */
const SETTLE_MS = 2000;
/** Longest single timer step: a timer that sleeps through a suspended machine is noticed within this time. */
const STEP_MS = 30_000;
/** Longest drain before a re-handshake when the connection's token has no known expiry. */
const DRAIN_MAX_MS = 2000;

type Shared = { token: string; expiresIn?: number };

/**
 * The client: one object per `createAuthedSocket`, its behaviour on the prototype (no per-client closures but the
 * socket listeners). It is what the app receives, typed as `AuthedSocket`; everything not in that interface is
 * internal. Socket and protocol listeners are attached by wiring.ts; state that belongs to one connection lives in
 * its ConnectionScope, never here.
 */
export class ClientCore implements TimerClock {
  state: AuthedSocketState = "idle";
  /** @internal */ lastAuthenticated: AuthedSocketEvents["authenticated"] | null = null;
  /** @internal The live handshake or connection; null between connections and while the client stops the socket. */
  scope: ConnectionScope | null = null;
  /** @internal The last token handed to any handshake: a change of subject forgets socket.io's recovery session. */
  lastPresented: KeptToken | null = null;
  /** @internal Refusals of the newest, freshly refreshed token in a row; forgotten once a connection settles. */
  rejections = 0;
  /** @internal Re-handshakes after refusals that are not about the token; forgotten once a connection settles. */
  retryAttempt = 0;
  /** @internal The server cuts connections at the token's expiry: a refreshed token goes by drained re-handshake. */
  cutsAtExpiry: boolean;
  /** @internal The reconnect this client owns (after a refusal, a kick, a backoff); null when the Manager is. */
  reconnecting: CancelTimer | null = null;
  /** @internal */ refreshTimer: CancelTimer | null = null;
  /** @internal While the session is over, emits fail at once instead of waiting for a next session. */
  allowEmits: (() => void) | null = null;
  /** @internal The last few tokens handed to the server: the log redacts them after the keeper moved on. */
  readonly sentTokens: string[] = [];
  /** @internal What close() undoes: functions to call, and listeners kept flat as target, event, handler. */
  readonly disposers: (() => void)[] = [];
  /** @internal */ readonly listeners: unknown[] = [];
  /** @internal */ readonly events: ReturnType<typeof createEmitter>;
  /** @internal */ readonly keeper: TokenKeeper;
  /** @internal */ readonly log: Log;
  /** @internal */ readonly diagnostics: Diagnostics;
  /** @internal */ readonly crossTab: CrossTab | null;

  constructor(
    /** @internal */ readonly o: NormalizedOptions,
    /** @internal */ readonly href: string,
    readonly socket: Socket,
  ) {
    this.cutsAtExpiry = o.rotation === "reconnect";
    this.events = createEmitter((error) => this.log.error("a lifecycle listener threw", error));
    this.crossTab =
      o.crossTab?.attach({
        url: href,
        refreshTimeoutMs: o.refreshTimeoutMs,
        now: () => this.now(),
        setTimeout: (callback, ms) => this.setTimeout(callback, ms),
        clearTimeout: (handle) => this.clearTimeout(handle),
        adopt: (result) => this.adoptShared(result),
        accept: (result) => this.acceptShared(result),
      }) ?? null;
    const refresh = this.crossTab ? this.crossTab.wrap(o.refresh) : o.refresh;
    this.keeper = createTokenKeeper(
      { ...o, refresh },
      {
        attempt: (reason, attempt) => this.events.emit("refreshing", { reason, attempt }),
        failed: (error, attempt, retryInMs) => {
          this.diagnostics.refreshFailed(error, attempt, retryInMs);
          this.events.emit("refresh_failed", { error, attempt, retryInMs });
        },
        refreshed: (token) => {
          this.events.emit("refreshed", { expiresAt: token.expiresAt });
          this.armTimer();
        },
        warn: (message) => this.log.warn(message),
      },
    );
    this.log = createLog(o.logger, () => {
      const held = this.keeper.current?.value;
      return held ? [held, ...this.sentTokens] : this.sentTokens;
    });
    this.diagnostics = createDiagnostics({ log: this.log, url: href, debug: o.debug, now: () => this.now() });
  }

  // ---- time (the client is its own TimerClock) --------------------------------------------------------------

  /** @internal */ now(): number {
    return this.o.clock.now();
  }
  /** @internal */ setTimeout(callback: () => void, ms: number): TimerHandle {
    return this.o.timers.setTimeout(callback, ms);
  }
  /** @internal */ clearTimeout(handle: TimerHandle): void {
    this.o.timers.clearTimeout(handle);
  }

  // ---- the public API ---------------------------------------------------------------------------------------

  get expiresAt(): number | null {
    return this.keeper.current?.expiresAt ?? null;
  }
  on<K extends AuthedSocketEventName>(event: K, listener: AuthedSocketListener<K>): () => void {
    return this.events.on(event, listener);
  }
  once<K extends AuthedSocketEventName>(event: K, listener: AuthedSocketListener<K>): () => void {
    return this.events.once(event, listener);
  }
  off<K extends AuthedSocketEventName>(event: K, listener?: AuthedSocketListener<K>): void {
    this.events.off(event, listener);
  }
  waitFor<K extends AuthedSocketEventName>(
    event: K,
    { timeoutMs = WAIT_FOR_DEFAULT_MS }: { timeoutMs?: number } = {},
  ): Promise<AuthedSocketEvents[K]> {
    const { state, lastAuthenticated } = this;
    if (state === "closed")
      return Promise.reject(new AuthedSocketError("ERR_CLOSED", "the client is closed"));
    if (
      event === "authenticated" &&
      (state === "authenticated" || state === "refreshing") &&
      lastAuthenticated
    )
      return Promise.resolve(lastAuthenticated as AuthedSocketEvents[K]);
    return waitForEvent(this.events, this.o.timers, event, timeoutMs, this.diagnostics.explain);
  }
  connect(): void {
    if (this.state === "closed") throw new AuthedSocketError("ERR_CLOSED", "connect() after close()");
    if (this.state !== "idle" && this.state !== "logged_out") return;
    this.allowEmits?.();
    this.allowEmits = null;
    this.installAuth();
    this.setState("connecting");
    this.socket.connect();
  }
  refresh(): Promise<void> {
    if (this.state === "closed")
      return Promise.reject(new AuthedSocketError("ERR_CLOSED", "refresh() after close()"));
    if (this.state === "logged_out")
      return Promise.reject(new AuthedSocketError("ERR_LOGGED_OUT", "refresh() after logout"));
    return this.refreshNow("manual");
  }
  logout(): void {
    if (this.state === "closed") return;
    if (this.state === "logged_out") return this.teardown();
    this.loggedOut("logout");
  }
  close(): void {
    if (this.state === "closed") return;
    this.teardown();
    this.allowEmits?.();
    this.allowEmits = refuseEmits(this.socket, emitAfterClose, this.log);
    this.setState("closed");
    for (const dispose of this.disposers.splice(0)) dispose();
    const { listeners } = this;
    for (let i = 0; i < listeners.length; i += 3)
      (listeners[i] as { off(event: unknown, handler: unknown): void }).off(
        listeners[i + 1],
        listeners[i + 2],
      );
    listeners.length = 0;
    this.events.clear();
  }

  // ---- state ------------------------------------------------------------------------------------------------

  /** @internal */ setState(to: AuthedSocketState, cause = "client"): void {
    const from = this.state;
    if (from === to) return;
    checkTransition(from, to, cause, (message) => this.log.error(message));
    this.state = to;
    this.events.emit("state", { from, to });
  }
  /** @internal */ isOver(): boolean {
    return this.state === "logged_out" || this.state === "closed";
  }
  /** @internal The callback belongs to the live connection, and the session goes on. */
  isLive(s: ConnectionScope): boolean {
    return s === this.scope && !s.disposed && !this.isOver();
  }
  /** @internal */ isUsable(token: KeptToken): boolean {
    const status = this.keeper.status(token);
    return status === "ok" || status === "stale";
  }

  // ---- the handshake ----------------------------------------------------------------------------------------

  /** @internal */ present(s: ConnectionScope, token: KeptToken): void {
    const { lastPresented, sentTokens } = this;
    // Another user on the same client: the previous user's recovery session must not be restored to them.
    if (lastPresented && subjectOf(lastPresented.value) !== subjectOf(token.value))
      forgetRecoverySession(this.socket);
    s.presented = token;
    this.lastPresented = token;
    if (!sentTokens.includes(token.value)) sentTokens.push(token.value);
    if (sentTokens.length > 4) sentTokens.shift();
  }

  /** @internal socket.io calls this for every CONNECT packet: one new connection scope each time. */
  authenticate(cb: (data: object) => void): void {
    if (this.scope) this.endScope(this.scope);
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
      // Headers and the query string travel when the transport opens, before this callback: if they carried an
      // older token, reopen the transport with the new one instead of completing this handshake.
      if (o.tokenIn !== "auth" && placeOutsideAuth(socket, o.tokenIn, outcome.token))
        return this.reconnect(0);
      cb(o.tokenIn === "auth" ? connectAuth(o.socket.auth, outcome.token.value) : { ...o.socket.auth });
    });
  }

  /** @internal */ installAuth(): void {
    (this.socket as { auth: unknown }).auth = (cb: (data: object) => void) => this.authenticate(cb);
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
   * @internal Stops the socket and connects again: at once (`0`; one timer turn later, so packets still queued from
   * the old connection — a DISCONNECT right behind an `auth_error` — reach a socket that no longer listens instead
   * of destroying the new attempt), after a delay (ms), or once a refresh has produced a token. Every reconnect the
   * client itself decides goes through here.
   */
  reconnect(after: number | Promise<unknown>): void {
    this.cancelReconnect();
    this.stopSocket();
    const go = () => {
      this.reconnecting = null;
      if (this.isOver()) return;
      this.setState("connecting");
      this.socket.connect();
    };
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
        : expiresAt - expiryTolerance(presented);
    void drained(this.socket, s, this, until).then(() => this.isLive(s) && this.reconnect(0));
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
    this.refreshTimer?.();
    this.refreshTimer = null;
    const token = this.keeper.current;
    if (!token || token.refreshAt === null || this.isOver() || this.state === "idle") return;
    // Past the refresh instant only an authenticated connection refreshes from the timer; a handshake refreshes
    // through the auth function, and a refresh in flight re-arms the timer when it lands.
    if (token.refreshAt <= this.now() && this.state !== "authenticated") return;
    this.refreshTimer = timerAt(
      this,
      token.refreshAt,
      (lateMs) => {
        this.refreshTimer = null;
        if (lateMs > STEP_MS)
          this.log.debug(`the refresh timer fired ${lateMs} ms late (the device slept?); re-checking`);
        this.check();
      },
      STEP_MS,
    );
  }

  /** @internal Re-checks the token now: refresh if it is inside its window or expired, otherwise re-arm. */
  check(): void {
    if (this.isOver() || this.state === "idle") return;
    const status = this.keeper.status();
    if ((status === "stale" || status === "expired") && this.state === "authenticated")
      return void this.refreshNow("expiring").catch(noop);
    this.armTimer();
  }

  // ---- tabs -------------------------------------------------------------------------------------------------

  /** @internal A newer token another tab published. */
  adoptShared(result: Shared): void {
    if (this.state === "idle" || this.isOver()) return;
    const token = this.keeper.adopt(result);
    if (token && this.state === "authenticated") this.deliver(token);
  }

  /** @internal A token posted on the channel (by a tab or any same-origin script): unexpired, this subject. */
  acceptShared(result: Shared): boolean {
    if (result.expiresIn === undefined) {
      const { exp } = readClaims(result.token);
      if (exp !== undefined && exp * 1000 <= this.now()) return false;
    }
    const held = this.keeper.current?.value ?? this.lastPresented?.value;
    const subject = held === undefined ? undefined : subjectOf(held);
    return subject === undefined || subjectOf(result.token) === subject;
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
    this.refreshTimer?.();
    this.refreshTimer = null;
    this.rejections = 0;
    this.retryAttempt = 0;
    this.cutsAtExpiry = o.rotation === "reconnect";
    this.lastPresented = null;
    this.sentTokens.length = 0;
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

function noop(): void {}
