import { io as defaultIo, type Socket } from "socket.io-client";
import { classifyRefusal } from "./classify.js";
import type { Timers } from "./clock.js";
import { browserCrossTabEnvironment, createCrossTab } from "./cross-tab.js";
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
import { checkTransition } from "./lifecycle.js";
import { createLog } from "./log.js";
import { type AuthedSocketOptions, normalizeOptions, type SocketIoOptions } from "./options.js";
import { ProtocolEvent, type ReadyPayload, type RefreshAck, type RevokedPayload } from "./protocol.js";
import { backoffDelay, clampDelay } from "./schedule.js";
import {
  connectAuth,
  discardBuffered,
  discardQueued,
  forgetRecoverySession,
  forgetTransportToken,
} from "./socket-internals.js";
import { subjectOf } from "./subject.js";
import { createTokenKeeper, type KeptToken, type TokenKeeper } from "./token.js";

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
   * `ERR_WAIT_TIMEOUT` after `timeoutMs`, `ERR_LOGGED_OUT` if the session ends first, `ERR_CLOSED` on close.
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

/** How long a fresh connection must live before refusals stop counting as "in a row". */
const SETTLE_MS = 2000;
/** How long a handshake waits for a refresh while the token in hand, inside its margin, still works. */
const STALE_WAIT_MS = 2000;
/** Longest single timer step: a timer that sleeps through a suspended machine is noticed within this time. */
const STEP_MS = 30_000;

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
>(url: string, options: AuthedSocketOptions): AuthedSocket<ListenEvents, EmitEvents> {
  if (typeof url !== "string" || url === "")
    throw new TypeError('authed-socket: "url" must be a non-empty string');
  const o = normalizeOptions(options, url);
  // `timers` clamps every delay to what setTimeout honours (normalizeOptions), so no call below repeats it.
  const { clock, timers, tokenIn } = o;
  const userAuth = o.socket.auth;
  if (userAuth !== undefined && (typeof userAuth !== "object" || userAuth === null))
    throw new TypeError(
      'authed-socket: option "socket.auth" must be an object (the client supplies the token)',
    );

  /** The last few tokens handed to the server: the logger redacts them even after the keeper moved on. */
  const sentTokens: string[] = [];
  const events = createEmitter((error) => log.error("a lifecycle listener threw", error));
  const tabs =
    o.crossTab &&
    browserCrossTabEnvironment(
      () => clock.now(),
      (cb, ms) => timers.setTimeout(cb, ms),
      (handle) => timers.clearTimeout(handle),
    );
  const crossTab =
    o.crossTab && tabs
      ? createCrossTab(
          tabs,
          o.crossTab,
          (result) => {
            if (state === "idle" || isOver()) return;
            const token = keeper.adopt(result);
            if (token && state === "authenticated") rotate(token);
          },
          acceptShared,
        )
      : null;
  /** A token another tab (or any same-origin script) posted: only an unexpired one for this session's subject. */
  function acceptShared(result: { token: string; expiresIn?: number }): boolean {
    if (result.expiresIn === undefined) {
      const { exp } = readClaims(result.token);
      if (exp !== undefined && exp * 1000 <= clock.now()) return false;
    }
    const held = keeper.current?.value ?? sent?.value;
    const subject = held === undefined ? undefined : subjectOf(held);
    return subject === undefined || subjectOf(result.token) === subject;
  }
  const keeper: TokenKeeper = createTokenKeeper(crossTab ? { ...o, refresh: crossTab.wrap(o.refresh) } : o, {
    attempt: (reason, attempt) => events.emit("refreshing", { reason, attempt }),
    failed: (error, attempt, retryInMs) => {
      log.warn(`refresh attempt ${attempt} failed: ${error.message}`);
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
  if (tokenIn === "query") log.warn('tokenIn "query" puts the token in URLs, which proxies and servers log');

  let state: AuthedSocketState = "idle";
  let lastAuthenticated: AuthedSocketEvents["authenticated"] | null = null;
  /** Bumped whenever a pending handshake must not complete (disconnect, refusal, logout): stale callbacks check it. */
  let handshakeSeq = 0;
  /** The token handed to the current handshake or connection. */
  let sent: KeptToken | null = null;
  /** The server advertised in-band refresh on this connection. */
  let inBand = false;
  /** The token an in-band rotation is sending, until its ack. */
  let rotating: KeptToken | null = null;
  /** Refusals of freshly refreshed tokens in a row; reset once a connection settles. */
  let rejections = 0;
  /** Re-handshake attempts after refusals that are not about the token; reset once a connection settles. */
  let retryAttempt = 0;
  /** A reconnect this client owns (after a refusal or a server disconnect) is pending; the Manager is idle. */
  let recovering = false;

  const slots = new Map<string, unknown>();
  function setSlot(name: string, delayMs: number, run: () => void): void {
    clearSlot(name);
    slots.set(
      name,
      timers.setTimeout(() => {
        slots.delete(name);
        run();
      }, delayMs),
    );
  }
  function clearSlot(name: string): void {
    if (slots.has(name)) timers.clearTimeout(slots.get(name));
    slots.delete(name);
  }

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
  const socket = ioFactory(url, { forceNew: true, ...o.socket, autoConnect: false }) as AnySocket;
  const disposers: (() => void)[] = [];

  function setState(to: AuthedSocketState, cause = "client"): void {
    const from = state;
    if (from === to) return;
    checkTransition(from, to, cause, (message) => log.error(message));
    state = to;
    events.emit("state", { from, to });
  }

  const isOver = () => state === "logged_out" || state === "closed";

  // ---- handing the token to the handshake -------------------------------------------------------------------

  function remember(token: KeptToken): void {
    // Another user on the same client: the previous user's recovery session must not be restored to them.
    if (sent && subjectOf(sent.value) !== subjectOf(token.value)) forgetRecoverySession(socket);
    sent = token;
    if (!sentTokens.includes(token.value)) sentTokens.push(token.value);
    if (sentTokens.length > 4) sentTokens.shift();
  }

  /** A usable token now, refreshing first when missing, expired or inside the margin; bounded by the timeout. */
  async function tokenForHandshake(): Promise<KeptToken> {
    let held = keeper.current;
    if (!held) {
      try {
        held = await keeper.load();
      } catch (error) {
        if (error instanceof UnauthorizedError || isAbort(error)) throw error;
        log.warn(`getToken failed, refreshing instead: ${describe(error)}`);
      }
    }
    const status = keeper.status(held);
    if (status === "ok" && held) return held;
    const pending = keeper.refresh(status === "stale" ? "expiring" : "missing");
    // Inside the margin the old token still works: wait for the new one only briefly before using it.
    const stale = status === "stale" && held;
    try {
      return await deadline(
        pending,
        stale ? Math.min(o.refreshTimeoutMs, STALE_WAIT_MS) : o.refreshTimeoutMs,
        timers,
      );
    } catch (error) {
      // Only a slow refresh falls back: a refresh that ended the session (or gave up) must not be talked round.
      if (!(error instanceof TimeoutMarker)) throw error;
      if (held && keeper.status(held) === "stale") {
        // The new token reaches the connection once it lands (in band where the server offers it).
        pending.then((token) => state === "authenticated" && rotate(token)).catch(() => undefined);
        return held;
      }
      throw new ParkError(pending);
    }
  }

  function placeOutsideAuth(token: KeptToken): boolean {
    const opts = socket.io.opts;
    if (tokenIn === "header") {
      const headers = { ...(opts.extraHeaders as Record<string, string> | undefined) };
      const value = `Bearer ${token.value}`;
      if (headers.Authorization === value) return false;
      headers.Authorization = value;
      opts.extraHeaders = headers;
      return true;
    }
    const query = { ...(opts.query as Record<string, string> | undefined) };
    if (query.token === token.value) return false;
    query.token = token.value;
    opts.query = query;
    return true;
  }

  function clearOutsideAuth(): void {
    const opts = socket.io.opts;
    if (tokenIn === "header" && opts.extraHeaders) {
      const { Authorization: _gone, ...rest } = opts.extraHeaders as Record<string, string>;
      opts.extraHeaders = rest;
    }
    if (tokenIn === "query" && opts.query) {
      const { token: _gone, ...rest } = opts.query as Record<string, string>;
      opts.query = rest;
    }
  }

  function authFunction(cb: (data: object) => void): void {
    const seq = ++handshakeSeq;
    tokenForHandshake().then(
      (token) => {
        if (seq !== handshakeSeq || isOver()) return;
        remember(token);
        // Headers and the query string travel when the transport opens, before this callback: if they carried an
        // older token, reopen the transport with the new one instead of completing this handshake.
        if (tokenIn !== "auth" && placeOutsideAuth(token)) return reopen();
        cb(tokenIn === "auth" ? connectAuth(userAuth, token.value) : { ...userAuth });
      },
      (error: unknown) => {
        if (seq !== handshakeSeq || isOver()) return;
        if (error instanceof ParkError) return recoverAfter(error.pending);
        onRefreshError(error);
      },
    );
  }

  function installAuth(): void {
    (socket as { auth: unknown }).auth = authFunction;
  }

  // ---- reconnect paths the client owns ----------------------------------------------------------------------

  /** True while this client itself disconnects the socket, so its own "io client disconnect" is told apart. */
  let stopping = false;
  function stopSocket(): void {
    handshakeSeq++;
    stopping = true;
    try {
      socket.disconnect();
    } finally {
      stopping = false;
    }
  }

  function reopen(): void {
    stopSocket();
    setState("connecting");
    socket.connect();
  }

  /** Stops the socket and reconnects once `pending` (a refresh) has produced a token. */
  function recoverAfter(pending: Promise<unknown>): void {
    recovering = true;
    stopSocket();
    setState("reconnecting");
    pending.then(
      () => {
        if (!recovering || isOver()) return;
        recovering = false;
        setState("connecting");
        socket.connect();
      },
      (error: unknown) => {
        if (!isOver()) onRefreshError(error);
      },
    );
  }

  /** The server refused the token (or said it expired): forced refresh, then a new handshake. */
  function reauthenticate(countsAsRejection: boolean): void {
    clearSlot("settle");
    if (countsAsRejection && sent?.fresh) rejections++;
    if (rejections >= o.maxAuthRejections) {
      return loggedOut(
        "auth_rejected",
        new AuthedSocketError("ERR_AUTH_REJECTED", `the server refused ${rejections} fresh tokens in a row`),
      );
    }
    recoverAfter(keeper.refresh("rejected", true));
  }

  /** A refusal that is not about the token: try the handshake again later, with backoff. */
  function retryLater(): void {
    recovering = true;
    stopSocket();
    setState("reconnecting");
    const delay = backoffDelay({ attempt: ++retryAttempt, ...o.retry, random: Math.random() });
    setSlot("retry", delay, () => {
      if (!recovering || isOver()) return;
      recovering = false;
      setState("connecting");
      socket.connect();
    });
  }

  // ---- refresh on the live connection -----------------------------------------------------------------------

  function refreshNow(reason: RefreshReason): Promise<void> {
    if (state === "authenticated") setState("refreshing");
    return keeper.refresh(reason).then(rotate, (error: unknown) => {
      if (state === "refreshing") setState("authenticated");
      onRefreshError(error);
      throw error;
    });
  }

  function rotate(token: KeptToken): void {
    if (isOver()) return;
    if (!socket.connected) {
      // The next handshake picks the new token up through the auth function.
      if (state === "refreshing") setState(socket.active ? "reconnecting" : "idle");
      return;
    }
    // Already on this connection, or on its way there: nothing to send.
    if (token === sent || token === rotating) {
      if (state === "refreshing") setState("authenticated");
      return;
    }
    if (o.rotation === "reconnect") return reopen();
    // Without the in-band protocol the live connection stays as it is; the next handshake uses the new token.
    if (!inBand) return setState("authenticated");
    const seq = handshakeSeq;
    rotating = token;
    (socket as unknown as { timeout(ms: number): AnySocket })
      .timeout(clampDelay(o.refreshTimeoutMs))
      .emit(ProtocolEvent.Refresh, { token: token.value }, (error: Error | null, ack?: RefreshAck) => {
        if (rotating === token) rotating = null;
        if (seq !== handshakeSeq || isOver() || !socket.connected) return;
        if (error || !ack || typeof ack !== "object") {
          log.warn("the server did not acknowledge auth:refresh; keeping the connection");
          return setState("authenticated");
        }
        if (ack.ok) {
          remember(token);
          setState("authenticated");
          return emitAuthenticated("in-band", token);
        }
        if (ack.code === "FORBIDDEN")
          return loggedOut(
            "forbidden",
            new AuthedSocketError("ERR_FORBIDDEN", "the server refused the new token"),
          );
        if (ack.code === "TOKEN_EXPIRED" || ack.code === "TOKEN_INVALID" || ack.code === "TOKEN_MISSING") {
          remember(token);
          return reauthenticate(true);
        }
        reopen(); // a different subject or a server hiccup: a full handshake with the new token settles it
      });
  }

  function emitAuthenticated(via: "handshake" | "in-band", token: KeptToken | null): void {
    lastAuthenticated = { via, expiresAt: token?.expiresAt ?? null };
    events.emit("authenticated", lastAuthenticated);
  }

  // ---- the proactive timer ----------------------------------------------------------------------------------

  /** Arms the refresh timer for the held token, in steps of at most STEP_MS so a sleeping machine is noticed. */
  function armTimer(): void {
    clearSlot("refresh");
    const token = keeper.current;
    if (!token || token.refreshAt === null || isOver() || state === "idle") return;
    // Past the refresh instant only an authenticated connection refreshes from the timer; a handshake refreshes
    // through the auth function, and a refresh in flight re-arms the timer when it lands.
    if (token.refreshAt <= clock.now() && state !== "authenticated") return;
    const expected = Math.min(token.refreshAt - clock.now(), STEP_MS);
    const armedAt = clock.now();
    setSlot("refresh", expected, () => {
      const late = clock.now() - armedAt - Math.max(expected, 0);
      if (late > STEP_MS)
        log.debug(`the refresh timer fired ${late} ms late (the device slept?); re-checking`);
      check();
    });
  }

  /** Re-checks the token now: refresh if it is inside the margin or expired, otherwise re-arm the timer. */
  function check(): void {
    if (isOver() || state === "idle") return;
    const status = keeper.status();
    if ((status === "stale" || status === "expired") && state === "authenticated") {
      refreshNow("expiring").catch(() => undefined);
      return;
    }
    armTimer();
  }

  // ---- socket and protocol listeners ------------------------------------------------------------------------

  function listen(
    target: AnySocket | AnySocket["io"],
    event: string,
    handler: (...args: never[]) => void,
  ): void {
    const t = target as unknown as {
      on(e: string, h: (...args: never[]) => void): void;
      off(e: string, h: (...args: never[]) => void): void;
    };
    t.on(event, handler);
    disposers.push(() => t.off(event, handler));
  }

  listen(socket, "connect", () => {
    if (isOver()) return;
    recovering = false;
    setState("authenticated");
    emitAuthenticated("handshake", sent);
    setSlot("settle", SETTLE_MS, () => {
      rejections = 0;
      retryAttempt = 0;
    });
    armTimer();
  });

  listen(socket, "connect_error", (error: Error & { data?: unknown }) => {
    if (isOver()) return;
    // Transport errors: the Manager retries and the auth function refreshes, unless the app turned that off.
    if (socket.active) {
      if (!socket.io.reconnection()) setState("idle");
      return;
    }
    const refusal = classifyRefusal(error, isAuthError);
    log.debug(`handshake refused (${refusal}): ${error.message}`);
    if (refusal === "fatal")
      return loggedOut("forbidden", new AuthedSocketError("ERR_FORBIDDEN", error.message, { cause: error }));
    if (refusal === "auth") return reauthenticate(true);
    retryLater();
  });

  listen(socket, "disconnect", (reason: string) => {
    inBand = false;
    rotating = null;
    clearSlot("settle");
    if (isOver() || recovering || stopping) return;
    // The app disconnected the socket itself: not connected, not trying; connect() starts again.
    if (reason === "io client disconnect") return setState("idle");
    // Transport loss: the Manager reconnects, unless the app turned reconnection off.
    if (socket.active) return setState(socket.io.reconnection() ? "reconnecting" : "idle");
    // The server dropped us without saying why in the protocol (a kick on expiry, a restart). socket.io-client
    // will not reconnect by itself; the auth function refreshes first if the token is no longer usable.
    retryLater();
  });

  listen(socket.io, "reconnect_attempt", () => {
    if (state === "reconnecting") setState("connecting");
  });
  // The app capped socket.io's attempts (`reconnectionAttempts`) and they ran out: idle until connect().
  listen(socket.io, "reconnect_failed", () => {
    if (!isOver()) setState("idle");
  });

  listen(socket, ProtocolEvent.Ready, (payload: ReadyPayload) => {
    inBand = payload !== null && typeof payload === "object" && payload.inBand === true;
    // A refresh that landed between the handshake and this message could not go in band yet: hand it over now.
    const held = keeper.current;
    if (inBand && state === "authenticated" && held && held !== sent && keeper.status(held) === "ok")
      rotate(held);
  });
  listen(socket, ProtocolEvent.Expiring, () => {
    if (state !== "authenticated") return;
    const held = keeper.current;
    if (held && keeper.status(held) === "ok") {
      // Already holding a newer token than the connection's: hand it over. Holding the connection's own token and
      // not yet at its refresh instant: a refresh now would bring no later expiry (a token just received, the
      // issuer answering the same), so the armed timer decides.
      if (held !== sent) rotate(held);
      return;
    }
    refreshNow("server").catch(() => undefined);
  });
  listen(socket, ProtocolEvent.Expired, () => {
    if (!isOver()) reauthenticate(slots.has("settle"));
  });
  listen(socket, ProtocolEvent.Revoked, (payload: RevokedPayload) => {
    const reason = payload && typeof payload.reason === "string" ? payload.reason : "revoked";
    loggedOut("revoked", new AuthedSocketError("ERR_REVOKED", `the server revoked the session: ${reason}`));
  });
  if (o.authErrorEvent)
    listen(socket, o.authErrorEvent, () => {
      if (!isOver()) reauthenticate(true);
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
    rotating = null;
    for (const name of [...slots.keys()]) clearSlot(name);
    recovering = false;
    inBand = false;
    rejections = 0;
    retryAttempt = 0;
    sent = null;
    sentTokens.length = 0;
    lastAuthenticated = null;
    (socket as { auth: unknown }).auth = {};
    clearOutsideAuth();
    discardBuffered(socket);
    stopSocket();
    discardQueued(socket);
    // After the disconnect: socket.io must not offer this session to whoever logs in next.
    forgetRecoverySession(socket);
    if (tokenIn !== "auth") forgetTransportToken(socket.io, tokenIn);
  }

  function loggedOut(reason: LoggedOutReason, error?: AuthedSocketError): void {
    if (isOver()) return;
    teardown();
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
    waitFor(event, { timeoutMs = 30_000 } = {}) {
      if (state === "closed")
        return Promise.reject(new AuthedSocketError("ERR_CLOSED", "the client is closed"));
      if (
        event === "authenticated" &&
        (state === "authenticated" || state === "refreshing") &&
        lastAuthenticated
      )
        return Promise.resolve(lastAuthenticated as AuthedSocketEvents[typeof event]);
      return new Promise((resolve, reject) => {
        const stops: (() => void)[] = [];
        const done = () => {
          for (const stop of stops) stop();
          timers.clearTimeout(timer);
        };
        const timer = timers.setTimeout(() => {
          done();
          reject(new AuthedSocketError("ERR_WAIT_TIMEOUT", `no "${event}" within ${timeoutMs} ms`));
        }, timeoutMs);
        stops.push(
          events.on(event, (payload) => {
            done();
            resolve(payload);
          }),
        );
        if (event !== "logged_out")
          stops.push(
            events.on("logged_out", ({ reason }) => {
              done();
              reject(
                new AuthedSocketError(
                  "ERR_LOGGED_OUT",
                  `logged out (${reason}) while waiting for "${event}"`,
                ),
              );
            }),
          );
        stops.push(
          events.on("state", ({ to }) => {
            if (to !== "closed") return;
            done();
            reject(new AuthedSocketError("ERR_CLOSED", `closed while waiting for "${event}"`));
          }),
        );
      });
    },
    connect() {
      if (state === "closed") throw new AuthedSocketError("ERR_CLOSED", "connect() after close()");
      if (state !== "idle" && state !== "logged_out") return;
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
      setState("closed");
      for (const dispose of disposers.splice(0)) dispose();
      events.clear();
    },
  };

  installAuth();
  if (o.socket.autoConnect !== false) client.connect();
  return client;
}

// ---- small helpers ------------------------------------------------------------------------------------------

class TimeoutMarker extends Error {}

/** Carries a refresh still running when the handshake's deadline passed: the client reconnects once it lands. */
class ParkError extends Error {
  constructor(readonly pending: Promise<unknown>) {
    super("parked");
  }
}

function deadline<T>(promise: Promise<T>, ms: number, timers: Timers): Promise<T> {
  let timer: unknown;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = timers.setTimeout(() => reject(new TimeoutMarker()), ms);
    }),
  ]).finally(() => timers.clearTimeout(timer));
}

function isAbort(error: unknown): boolean {
  return error instanceof AuthedSocketError && error.code === "ERR_ABORTED";
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
