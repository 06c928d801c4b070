import { io as defaultIo, type Socket } from "socket.io-client";
import { classifyRefusal, retryDelay } from "./classify.js";
import { ConnectionScope, expiryTolerance, judgeRefusal } from "./connection.js";
import {
  createDiagnostics,
  emitAfterClose,
  emitAfterLoggedOut,
  normalizeUrl,
  refuseEmits,
} from "./diagnostics.js";
import { detectEnvironment, noEnvironment } from "./environment.js";
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
import { createLog } from "./log.js";
import { type AuthedSocketOptions, normalizeOptions, type SocketIoOptions } from "./options.js";
import { ProtocolEvent, type ReadyPayload, type RevokedPayload } from "./protocol.js";
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

/** socket.io-client's own constraint on event maps. */
// biome-ignore lint/suspicious/noExplicitAny: mirrors socket.io-client's EventsMap so any event map it accepts is accepted here.
export type EventsMap = { [event: string]: any };
// biome-ignore lint/suspicious/noExplicitAny: mirrors socket.io-client's DefaultEventsMap.
export type DefaultEventsMap = { [event: string]: (...args: any[]) => void };

/** The client returned by {@link createAuthedSocket}. */
export interface AuthedSocket<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
> {
  /** The real socket.io-client socket, fully typed. Emit and listen on it as usual; the client never wraps emit. */
  readonly socket: Socket<ListenEvents, EmitEvents>;
  /** The current lifecycle state. */
  readonly state: AuthedSocketState;
  /** Expiry of the held token on this device's clock (epoch ms); null when none is held or it is opaque. */
  readonly expiresAt: number | null;
  /** Adds a lifecycle listener; returns the function that removes it. */
  on<K extends AuthedSocketEventName>(event: K, listener: AuthedSocketListener<K>): () => void;
  /** Adds a listener for the next occurrence only; returns the function that removes it. */
  once<K extends AuthedSocketEventName>(event: K, listener: AuthedSocketListener<K>): () => void;
  /** Removes a listener (or every listener of the event). */
  off<K extends AuthedSocketEventName>(event: K, listener?: AuthedSocketListener<K>): void;
  /**
   * Resolves with the next `event`, or at once for `authenticated` when already authenticated. Rejects with
   * `ERR_WAIT_TIMEOUT` after `timeoutMs` (default 30 s), `ERR_LOGGED_OUT` if the session ends first, `ERR_CLOSED` on
   * close.
   */
  waitFor<K extends AuthedSocketEventName>(
    event: K,
    options?: { timeoutMs?: number },
  ): Promise<AuthedSocketEvents[K]>;
  /** Connects (again): after `logout()`, or when created with `socket: { autoConnect: false }`. */
  connect(): void;
  /** Refreshes now (joins a refresh in flight) and hands the new token to the connection. */
  refresh(): Promise<void>;
  /** Ends the session: aborts any refresh, forgets the token, drops buffered emits, disconnects. */
  logout(): void;
  /** Everything `logout()` does, plus removes every listener. Terminal and idempotent. */
  close(): void;
}

/** How long a connection must live before the refusals counted so far are forgotten. */
const SETTLE_MS = 2000;
/** Longest single timer step: a timer that sleeps through a suspended machine is noticed within this time. */
const STEP_MS = 30_000;
/** Longest drain before a re-handshake when the connection's token has no known expiry. */
const DRAIN_MAX_MS = 2000;

type AnySocket = Socket<DefaultEventsMap, DefaultEventsMap>;

/**
 * Creates a socket.io-client socket that stays authenticated: tokens are refreshed before they expire and whenever
 * the server refuses them, handed to the socket at every handshake (or rotated on the live connection when the
 * server runs `authed-socket/server`), and the lifecycle is reported through typed events.
 *
 * @example
 * ```ts
 * const client = createAuthedSocket<ServerToClient, ClientToServer>("https://chat.example.com", {
 *   getToken: () => localStorage.getItem("access_token"),
 *   refresh: async ({ signal }) => {
 *     const res = await fetch("/auth/refresh", { method: "POST", credentials: "include", signal });
 *     if (res.status === 401) throw new UnauthorizedError();
 *     return (await res.json()).accessToken;
 *   },
 * });
 * client.on("logged_out", () => showLogin());
 * client.socket.emit("chat", "hi");
 * ```
 */
export function createAuthedSocket<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
>(url: string | URL, options: AuthedSocketOptions): AuthedSocket<ListenEvents, EmitEvents> {
  const href = normalizeUrl(url);
  const o = normalizeOptions(options, href);
  // `timers` clamps every delay to what setTimeout honours (normalizeOptions), so no call below repeats it.
  const { clock, timers, tokenIn } = o;
  const time: TimerClock = {
    now: () => clock.now(),
    setTimeout: (callback, ms) => timers.setTimeout(callback, ms),
    clearTimeout: (handle) => timers.clearTimeout(handle),
  };
  const userAuth = o.socket.auth;
  if (userAuth !== undefined && (typeof userAuth !== "object" || userAuth === null))
    throw new TypeError(
      'authed-socket: option "socket.auth" must be an object (the client supplies the token)',
    );

  /** The last few tokens handed to the server: the logger redacts them even after the keeper moved on. */
  const sentTokens: string[] = [];
  const events = createEmitter((error) => log.error("a lifecycle listener threw", error));
  const crossTab =
    o.crossTab?.attach({
      url: href,
      refreshTimeoutMs: o.refreshTimeoutMs,
      ...time,
      adopt(result) {
        if (state === "idle" || isOver()) return;
        const token = keeper.adopt(result);
        if (token && state === "authenticated") deliver(token);
      },
      accept: acceptShared,
    }) ?? null;
  /** A token another tab (or any same-origin script) posted: only an unexpired one for this session's subject. */
  function acceptShared(result: { token: string; expiresIn?: number }): boolean {
    if (result.expiresIn === undefined) {
      const { exp } = readClaims(result.token);
      if (exp !== undefined && exp * 1000 <= clock.now()) return false;
    }
    const held = keeper.current?.value ?? lastPresented?.value;
    const subject = held === undefined ? undefined : subjectOf(held);
    return subject === undefined || subjectOf(result.token) === subject;
  }
  const keeper: TokenKeeper = createTokenKeeper(crossTab ? { ...o, refresh: crossTab.wrap(o.refresh) } : o, {
    attempt: (reason, attempt) => events.emit("refreshing", { reason, attempt }),
    failed: (error, attempt, retryInMs) => {
      diagnostics.refreshFailed(error, attempt, retryInMs);
      events.emit("refresh_failed", { error, attempt, retryInMs });
    },
    refreshed: (token) => {
      events.emit("refreshed", { expiresAt: token.expiresAt });
      armTimer();
    },
    warn: (message) => log.warn(message),
  });
  const log = createLog(o.logger, () => {
    const held = keeper.current?.value;
    return held ? [held, ...sentTokens] : sentTokens;
  });
  const diagnostics = createDiagnostics({ log, url: href, debug: o.debug, now: () => clock.now() });
  if (tokenIn === "query") log.warn('tokenIn "query" puts the token in URLs, which proxies and servers log');

  let state: AuthedSocketState = "idle";
  let lastAuthenticated: AuthedSocketEvents["authenticated"] | null = null;
  /** The live handshake or connection; null between connections and while the client itself stops the socket. */
  let scope: ConnectionScope | null = null;
  /** The last token handed to any handshake: a change of subject forgets socket.io's recovery session. */
  let lastPresented: KeptToken | null = null;
  /** Refusals of the newest, freshly refreshed token in a row; forgotten once a connection settles. */
  let rejections = 0;
  /** Re-handshake attempts after refusals that are not about the token; forgotten once a connection settles. */
  let retryAttempt = 0;
  /**
   * The server has shown that it cuts connections at the token's expiry (without the in-band protocol): from then on
   * a refreshed token reaches it by a drained re-handshake before the connection's token expires.
   */
  let cutsAtExpiry = o.rotation === "reconnect";
  /** The reconnect this client owns (after a refusal, a kick, a backoff); null when the Manager is in charge. */
  let reconnecting: CancelTimer | null = null;
  let refreshTimer: CancelTimer | null = null;

  const userIsAuthError = o.isAuthError;
  /** The app's classifier, with its throws reported instead of stalling the connection. */
  const isAuthError =
    userIsAuthError &&
    ((error: Error & { data?: unknown }) => {
      try {
        return userIsAuthError(error);
      } catch (thrown) {
        log.error("isAuthError threw; the built-in rules decide", thrown);
        return undefined;
      }
    });
  const ioFactory = o.io ?? (defaultIo as unknown as (url: string, options: SocketIoOptions) => AnySocket);
  const socket = ioFactory(href, { forceNew: true, ...o.socket, autoConnect: false }) as AnySocket;
  // The narrator listens first, so a refusal is on record by the time the client's own listener ends the session.
  const disposers: (() => void)[] = [diagnostics.watch(socket, events)];
  /** While the session is over, emits fail at once instead of waiting for a next session (maybe another user's). */
  let allowEmits: (() => void) | null = null;

  function setState(to: AuthedSocketState, cause = "client"): void {
    const from = state;
    if (from === to) return;
    checkTransition(from, to, cause, (message) => log.error(message));
    state = to;
    events.emit("state", { from, to });
  }

  const isOver = () => state === "logged_out" || state === "closed";
  /** The callback belongs to the live connection, and the session goes on. */
  const isLive = (s: ConnectionScope) => s === scope && !s.disposed && !isOver();

  function present(s: ConnectionScope, token: KeptToken): void {
    // Another user on the same client: the previous user's recovery session must not be restored to them.
    if (lastPresented && subjectOf(lastPresented.value) !== subjectOf(token.value))
      forgetRecoverySession(socket);
    s.presented = token;
    lastPresented = token;
    if (!sentTokens.includes(token.value)) sentTokens.push(token.value);
    if (sentTokens.length > 4) sentTokens.shift();
  }

  // ---- the handshake ----------------------------------------------------------------------------------------

  function authFunction(cb: (data: object) => void): void {
    scope?.dispose();
    const s = new ConnectionScope();
    scope = s;
    void tokenForHandshake({
      keeper,
      refreshTimeoutMs: o.refreshTimeoutMs,
      timers,
      warn: (message) => log.warn(message),
      lateToken: (pending) => pending.then((token) => state === "authenticated" && deliver(token), noop),
    }).then((outcome) => {
      if (!isLive(s)) return;
      if (outcome.kind === "wait") return reconnect(outcome.pending);
      if (outcome.kind === "failed") return onRefreshError(outcome.error);
      present(s, outcome.token);
      // Headers and the query string travel when the transport opens, before this callback: if they carried an
      // older token, reopen the transport with the new one instead of completing this handshake.
      if (tokenIn !== "auth" && placeOutsideAuth(socket, tokenIn, outcome.token)) return reconnect(0);
      cb(tokenIn === "auth" ? connectAuth(userAuth, outcome.token.value) : { ...userAuth });
    });
  }

  function installAuth(): void {
    (socket as { auth: unknown }).auth = authFunction;
  }

  // ---- the one reconnect path -------------------------------------------------------------------------------

  /** Ends the live connection (its scope first, so its own disconnect event is not mistaken for a loss). */
  function stopSocket(): void {
    scope?.dispose();
    scope = null;
    socket.disconnect();
  }

  /**
   * Stops the socket and connects again: at once (`0`; one timer turn later, so packets still queued from the old
   * connection — a DISCONNECT right behind an `auth_error` — reach a socket that no longer listens instead of
   * destroying the new attempt), after a backoff delay (ms), or once a refresh has produced a token. Every reconnect
   * the client itself decides goes through here.
   */
  function reconnect(after: number | Promise<unknown>): void {
    cancelReconnect();
    stopSocket();
    const go = () => {
      reconnecting = null;
      if (isOver()) return;
      setState("connecting");
      socket.connect();
    };
    if (typeof after === "number") {
      setState(after === 0 ? "connecting" : "reconnecting");
      reconnecting = timerAt(time, clock.now() + after, go);
      return;
    }
    setState("reconnecting");
    let cancelled = false;
    reconnecting = () => {
      cancelled = true;
    };
    after.then(
      () => !cancelled && go(),
      (error: unknown) => !cancelled && onRefreshError(error),
    );
  }

  function cancelReconnect(): void {
    reconnecting?.();
    reconnecting = null;
  }

  /**
   * The server refused or cut the connection `s` because of its token (a handshake refusal, `auth_error`,
   * `auth:expired`, or a cut at the token's expiry). `counts`: a refusal of a valid token counts towards
   * `maxAuthRejections`; a cut without a word about auth only reconnects.
   */
  function onTokenRefused(s: ConnectionScope | null, counts: boolean): void {
    const presented = s?.presented ?? null;
    const now = clock.now();
    if (presented?.expiresAt != null && now >= presented.expiresAt - expiryTolerance(presented) && !s?.inBand)
      cutsAtExpiry = true;
    const held = keeper.current;
    const verdict = judgeRefusal(presented, held, held !== null && isUsable(held), now);
    if (verdict === "use-held") return reconnect(0);
    if (verdict === "expired") return reconnect(keeper.refresh("rejected"));
    if (!counts)
      return reconnect(backoffDelay({ attempt: ++retryAttempt, ...o.retry, random: Math.random() }));
    if (presented?.fresh) rejections++;
    if (rejections >= o.maxAuthRejections)
      return loggedOut("auth_rejected", diagnostics.authRejected(rejections));
    reconnect(keeper.refresh("rejected", true));
  }

  const isUsable = (token: KeptToken) => {
    const status = keeper.status(token);
    return status === "ok" || status === "stale";
  };

  // ---- handing a new token to the connection ----------------------------------------------------------------

  function refreshNow(reason: RefreshReason): Promise<void> {
    if (state === "authenticated") setState("refreshing");
    return keeper.refresh(reason).then(deliver, (error: unknown) => {
      if (state === "refreshing") setState("authenticated");
      onRefreshError(error);
      throw error;
    });
  }

  /** Hands a newly obtained token to the live connection: in band, by a drained re-handshake, or at the next one. */
  function deliver(token: KeptToken): void {
    if (isOver()) return;
    const s = scope;
    if (!s?.open || !socket.connected) {
      // The next handshake picks the new token up through the auth function.
      if (state === "refreshing") setState(socket.active ? "reconnecting" : "idle");
      return;
    }
    if (state === "refreshing") setState("authenticated");
    // Already on this connection, or on its way there: nothing to send.
    if (token === s.presented || token === s.rotating) return;
    if (s.inBand && o.rotation !== "reconnect") return void rotateInBand(s, token);
    // Without the in-band protocol the live connection keeps its token, unless the server cuts at expiry.
    if (cutsAtExpiry) rehandshake(s, token);
  }

  /**
   * Re-handshakes with `token` before the connection's own token expires, at a moment when no ack is pending (acks
   * of emits on the wire would fail with the connection); emits made meanwhile wait in socket.io's buffer.
   */
  function rehandshake(s: ConnectionScope, token: KeptToken): void {
    s.rotating = token;
    const presented = s.presented;
    const expiresAt = presented?.expiresAt ?? null;
    const until =
      expiresAt === null || presented === null
        ? clock.now() + DRAIN_MAX_MS
        : expiresAt - expiryTolerance(presented);
    void drained(socket, s, time, until).then(() => isLive(s) && reconnect(0));
  }

  async function rotateInBand(s: ConnectionScope, token: KeptToken): Promise<void> {
    s.rotating = token;
    const outcome = await requestInBand(socket, token.value, clampDelay(o.refreshTimeoutMs));
    if (s.rotating === token) s.rotating = null;
    if (!isLive(s) || !socket.connected) return;
    if (outcome.kind === "unanswered")
      return log.warn("the server did not acknowledge auth:refresh; keeping the connection");
    if (outcome.kind === "accepted") {
      present(s, token);
      return emitAuthenticated("in-band", token);
    }
    const { code } = outcome;
    if (code === "RATE_LIMITED") {
      // Transient: the connection keeps its token, and the new one goes in band once the server allows it.
      const retry = timerAt(time, clock.now() + Math.max(outcome.retryAfterMs ?? 0, 1000), () => {
        if (isLive(s) && keeper.current === token) deliver(token);
      });
      return s.own(retry);
    }
    if (code === "FORBIDDEN")
      return loggedOut(
        "forbidden",
        new AuthedSocketError("ERR_FORBIDDEN", "the server refused the new token"),
      );
    if (code === "TOKEN_REVOKED")
      return loggedOut("revoked", new AuthedSocketError("ERR_REVOKED", "the server revoked the session"));
    if (code === "TOKEN_EXPIRED" || code === "TOKEN_INVALID" || code === "TOKEN_MISSING") {
      present(s, token);
      return onTokenRefused(s, true);
    }
    // A different subject or a server hiccup: a full handshake with the new token settles it.
    reconnect(0);
  }

  function emitAuthenticated(via: "handshake" | "in-band", token: KeptToken | null): void {
    lastAuthenticated = { via, expiresAt: token?.expiresAt ?? null };
    events.emit("authenticated", lastAuthenticated);
  }

  // ---- the proactive timer ----------------------------------------------------------------------------------

  /** Arms the refresh timer for the held token, in steps of at most STEP_MS so a sleeping machine is noticed. */
  function armTimer(): void {
    refreshTimer?.();
    refreshTimer = null;
    const token = keeper.current;
    if (!token || token.refreshAt === null || isOver() || state === "idle") return;
    // Past the refresh instant only an authenticated connection refreshes from the timer; a handshake refreshes
    // through the auth function, and a refresh in flight re-arms the timer when it lands.
    if (token.refreshAt <= clock.now() && state !== "authenticated") return;
    refreshTimer = timerAt(
      time,
      token.refreshAt,
      (lateMs) => {
        refreshTimer = null;
        if (lateMs > STEP_MS)
          log.debug(`the refresh timer fired ${lateMs} ms late (the device slept?); re-checking`);
        check();
      },
      STEP_MS,
    );
  }

  /** Re-checks the token now: refresh if it is inside its window or expired, otherwise re-arm the timer. */
  function check(): void {
    if (isOver() || state === "idle") return;
    const status = keeper.status();
    if ((status === "stale" || status === "expired") && state === "authenticated")
      return void refreshNow("expiring").catch(noop);
    armTimer();
  }

  // ---- socket and protocol listeners ------------------------------------------------------------------------

  function listen(target: object, event: string, handler: (...args: never[]) => void): void {
    const t = target as {
      on(e: string, h: (...args: never[]) => void): void;
      off(e: string, h: (...args: never[]) => void): void;
    };
    t.on(event, handler);
    disposers.push(() => t.off(event, handler));
  }

  listen(socket, "connect", () => {
    const s = scope;
    if (!s || isOver()) return;
    cancelReconnect();
    s.open = true;
    setState("authenticated");
    emitAuthenticated("handshake", s.presented);
    const settle = timerAt(time, clock.now() + SETTLE_MS, () => {
      rejections = 0;
      retryAttempt = 0;
    });
    s.own(settle);
    armTimer();
    // A refresh that landed during the handshake: a server that cuts at expiry needs it before this token expires.
    const held = keeper.current;
    if (held && held !== s.presented && cutsAtExpiry && isUsable(held)) deliver(held);
  });

  listen(socket, "connect_error", (error: Error & { data?: unknown }) => {
    if (isOver()) return;
    // Transport errors: the Manager retries and the auth function refreshes, unless the app turned that off.
    if (socket.active) {
      if (!socket.io.reconnection()) setState("idle");
      return;
    }
    const s = scope;
    const refusal = classifyRefusal(error, isAuthError);
    log.debug(`handshake refused (${refusal}): ${error.message}`);
    if (refusal === "fatal")
      return loggedOut("forbidden", new AuthedSocketError("ERR_FORBIDDEN", error.message, { cause: error }));
    if (refusal === "auth") return onTokenRefused(s, true);
    // Not about the token (UNAVAILABLE, RATE_LIMITED, another middleware): the same token later, never sooner than
    // the server asked.
    reconnect(
      retryDelay(error, backoffDelay({ attempt: ++retryAttempt, ...o.retry, random: Math.random() })),
    );
  });

  listen(socket, "disconnect", (reason: string) => {
    const s = scope;
    // No scope: the client stopped the socket itself (its scope went first).
    if (!s) return;
    scope = null;
    s.dispose();
    if (isOver()) return;
    // The app disconnected the socket itself: not connected, not trying; connect() starts again.
    if (reason === "io client disconnect") return setState("idle");
    // Transport loss: the Manager reconnects, unless the app turned reconnection off.
    if (socket.active) return setState(socket.io.reconnection() ? "reconnecting" : "idle");
    // The server dropped us without a word in the protocol (a cut at expiry, a restart, a kick). socket.io-client
    // will not reconnect by itself.
    onTokenRefused(s, false);
  });

  listen(socket.io, "reconnect_attempt", () => {
    if (state === "reconnecting") setState("connecting");
  });
  // The app capped socket.io's attempts (`reconnectionAttempts`) and they ran out: idle until connect().
  listen(socket.io, "reconnect_failed", () => {
    if (!isOver()) setState("idle");
  });

  listen(socket, ProtocolEvent.Ready, (payload: ReadyPayload) => {
    const s = scope;
    if (!s) return;
    s.inBand = payload !== null && typeof payload === "object" && payload.inBand === true;
    // A refresh that landed between the handshake and this message could not go in band yet: hand it over now.
    const held = keeper.current;
    if (s.inBand && state === "authenticated" && held && held !== s.presented && keeper.status(held) === "ok")
      deliver(held);
  });
  listen(socket, ProtocolEvent.Expiring, () => {
    if (state !== "authenticated") return;
    const held = keeper.current;
    if (held && keeper.status(held) === "ok") {
      // Already holding a newer token than the connection's: hand it over. Holding the connection's own token and
      // not yet at its refresh instant: a refresh now would bring no later expiry (a token just received, the
      // issuer answering the same), so the armed timer decides.
      if (held !== scope?.presented) deliver(held);
      return;
    }
    refreshNow("server").catch(noop);
  });
  listen(socket, ProtocolEvent.Expired, () => {
    if (!isOver()) onTokenRefused(scope, true);
  });
  listen(socket, ProtocolEvent.Revoked, (payload: RevokedPayload) => {
    const reason = payload && typeof payload.reason === "string" ? payload.reason : "revoked";
    loggedOut("revoked", new AuthedSocketError("ERR_REVOKED", `the server revoked the session: ${reason}`));
  });
  if (o.authErrorEvent)
    listen(socket, o.authErrorEvent, () => {
      if (!isOver() && scope) onTokenRefused(scope, true);
    });

  const environment =
    o.environment === "auto" ? detectEnvironment() : o.environment === "none" ? noEnvironment : o.environment;
  disposers.push(
    environment.onResume(() => {
      crossTab?.sync(); // a frozen tab missed the other tabs' messages
      check();
    }),
  );
  if (crossTab) {
    disposers.push(() => crossTab.close());
    // A tab that opens while others hold a token asks for it, rather than spend a refresh of its own.
    crossTab.sync();
  }

  // ---- ending -----------------------------------------------------------------------------------------------

  function onRefreshError(error: unknown): void {
    if (isAbort(error) || isOver()) return;
    if (error instanceof UnauthorizedError) return loggedOut("refresh_rejected", error);
    if (error instanceof AuthedSocketError) return loggedOut("refresh_failed", error);
    log.error("unexpected error", error);
  }

  function teardown(): void {
    keeper.reset();
    crossTab?.reset();
    cancelReconnect();
    refreshTimer?.();
    refreshTimer = null;
    rejections = 0;
    retryAttempt = 0;
    cutsAtExpiry = o.rotation === "reconnect";
    lastPresented = null;
    sentTokens.length = 0;
    lastAuthenticated = null;
    (socket as { auth: unknown }).auth = {};
    if (tokenIn !== "auth") clearOutsideAuth(socket, tokenIn);
    discardBuffered(socket);
    stopSocket();
    discardQueued(socket);
    // After the disconnect: socket.io must not offer this session to whoever logs in next.
    forgetRecoverySession(socket);
    if (tokenIn !== "auth") forgetTransportToken(socket.io, tokenIn);
  }

  function loggedOut(reason: LoggedOutReason, error?: AuthedSocketError): void {
    if (isOver()) return;
    // Before teardown: the tokens this session used are still known to the log's redaction.
    diagnostics.loggedOut(reason, error);
    teardown();
    allowEmits?.();
    allowEmits = refuseEmits(socket, () => emitAfterLoggedOut(reason), log);
    setState("logged_out");
    events.emit("logged_out", error ? { reason, error } : { reason });
  }

  // ---- the public object ------------------------------------------------------------------------------------

  for (const [event, listener] of Object.entries(o.on)) {
    if (listener !== undefined)
      events.on(event as AuthedSocketEventName, listener as AuthedSocketListener<AuthedSocketEventName>);
  }

  const client: AuthedSocket<ListenEvents, EmitEvents> = {
    socket: socket as unknown as Socket<ListenEvents, EmitEvents>,
    get state() {
      return state;
    },
    get expiresAt() {
      return keeper.current?.expiresAt ?? null;
    },
    on: events.on,
    once: events.once,
    off: events.off,
    waitFor(event, { timeoutMs = WAIT_FOR_DEFAULT_MS } = {}) {
      if (state === "closed")
        return Promise.reject(new AuthedSocketError("ERR_CLOSED", "the client is closed"));
      const authenticated = state === "authenticated" || state === "refreshing";
      if (event === "authenticated" && authenticated && lastAuthenticated)
        return Promise.resolve(lastAuthenticated as AuthedSocketEvents[typeof event]);
      return waitForEvent(events, timers, event, timeoutMs, diagnostics.explain);
    },
    connect() {
      if (state === "closed") throw new AuthedSocketError("ERR_CLOSED", "connect() after close()");
      if (state !== "idle" && state !== "logged_out") return;
      allowEmits?.();
      allowEmits = null;
      installAuth();
      setState("connecting");
      socket.connect();
    },
    refresh() {
      if (state === "closed")
        return Promise.reject(new AuthedSocketError("ERR_CLOSED", "refresh() after close()"));
      if (state === "logged_out")
        return Promise.reject(new AuthedSocketError("ERR_LOGGED_OUT", "refresh() after logout"));
      return refreshNow("manual");
    },
    logout() {
      if (state === "closed") return;
      if (state === "logged_out") return teardown();
      loggedOut("logout");
    },
    close() {
      if (state === "closed") return;
      teardown();
      allowEmits?.();
      allowEmits = refuseEmits(socket, emitAfterClose, log);
      setState("closed");
      for (const dispose of disposers.splice(0)) dispose();
      events.clear();
    },
  };

  installAuth();
  if (o.socket.autoConnect !== false) client.connect();
  return client;
}

function noop(): void {}
