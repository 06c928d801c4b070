import type { Socket } from "socket.io-client";
import type { TimerHandle } from "./clock.js";
import type { ConnectionScope } from "./connection.js";
import type { CrossTab } from "./cross-tab.js";
import { Diagnostics, emitAfterClose, refuseEmits } from "./diagnostics.js";
import { AuthedSocketError } from "./errors.js";
import {
  type AuthedSocketEventName,
  type AuthedSocketEvents,
  type AuthedSocketListener,
  type AuthedSocketState,
  Emitter,
  type LoggedOutReason,
  type RefreshReason,
} from "./events.js";
import { readClaims } from "./expiry.js";
import { checkTransition } from "./lifecycle.js";
import { type Log, RedactingLog } from "./log.js";
import type { NormalizedOptions, RefreshContext } from "./options.js";
import type { CancelTimer, TimerAt, TimerClock, TimerTarget } from "./timer.js";
import { createTokenKeeper, type KeeperHooks, type KeptToken, type TokenKeeper } from "./token.js";
import { WAIT_FOR_DEFAULT_MS, waitForEvent } from "./wait-for.js";

type Shared = { token: string; expiresIn?: number };

/**
 * What the client's parts call back — the keeper's hooks and its refresh, the log's secrets, the emitter's listener
 * errors — as methods of one small object instead of a closure each (about 60 B apiece per client).
 */
class ClientLink implements KeeperHooks {
  constructor(private readonly client: ClientBase) {}
  /** The client's refresh, or the cross-tab plugin's wrapper of it once attached. */
  refresh(context: RefreshContext): ReturnType<NormalizedOptions["refresh"]> {
    const { client } = this;
    return client.sharedRefresh ? client.sharedRefresh(context) : client.o.refresh(context);
  }
  attempt(reason: RefreshReason, attempt: number): void {
    this.client.events.emit("refreshing", { reason, attempt });
  }
  failed(error: AuthedSocketError, attempt: number, retryInMs: number | null): void {
    this.client.diagnostics.refreshFailed(error, attempt, retryInMs);
    this.client.events.emit("refresh_failed", { error, attempt, retryInMs });
  }
  refreshed(token: KeptToken): void {
    this.client.events.emit("refreshed", { expiresAt: token.expiresAt });
    this.client.armTimer();
  }
  warn(message: string): void {
    this.client.log.warn(message);
  }
  /** The tokens the log redacts: the one held and the last few handed to the server. */
  secrets(): readonly string[] {
    const { keeper, sentTokens } = this.client;
    const held = keeper.current?.value;
    return held ? [held, ...sentTokens] : sentTokens;
  }
  listenerThrew(error: unknown): void {
    this.client.log.error("a lifecycle listener threw", error);
  }
}

/**
 * The client's state and its public API (what `AuthedSocket` promises); the behaviour — handshakes, reconnects,
 * rotation, the proactive timer, ending a session — is in core.ts, which extends this. Behaviour lives on the
 * prototype (no per-client closures but the socket listeners). Everything not in the `AuthedSocket` interface is
 * internal. State that belongs to one connection lives in its ConnectionScope, never here.
 */
export abstract class ClientBase implements TimerClock, TimerTarget {
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
  /** @internal The proactive refresh timer; it calls `onTimer` (the client is its TimerTarget). */
  refreshTimer: TimerAt | null = null;
  /** @internal While the session is over, emits fail at once instead of waiting for a next session. */
  allowEmits: (() => void) | null = null;
  /** @internal The last few tokens handed to the server: the log redacts them after the keeper moved on. */
  sentTokens: readonly string[] = [];
  /** @internal What close() undoes: functions to call. */
  private disposers: (() => void)[] | null = null;
  /** @internal Takes the client's listeners off its socket and Manager (wiring.ts sets it): run by close(). */
  detach: ((client: this) => void) | null = null;
  /** @internal */ readonly events: Emitter;
  /** @internal */ readonly keeper: TokenKeeper;
  /** @internal */ readonly log: Log;
  /** @internal */ readonly diagnostics: Diagnostics;
  /** @internal Attached at the first connect() or refresh(), not at creation (see `reachOut`). */
  crossTab: CrossTab | null = null;
  /** @internal The refresh as the cross-tab plugin wrapped it, once attached. */
  sharedRefresh: NormalizedOptions["refresh"] | null = null;
  /**
   * @internal What the client attaches outside itself (resume signals, the cross-tab channel), set by wiring.ts and
   * run once, at the first connect() or refresh(): a client created with `autoConnect: false` and dropped unused
   * (a render React threw away) holds nothing that outlives it.
   */
  reachOut: ((client: this) => void) | null = null;

  constructor(
    /** @internal */ readonly o: NormalizedOptions,
    /** @internal */ readonly href: string,
    readonly socket: Socket,
  ) {
    this.cutsAtExpiry = o.rotation === "reconnect";
    // One object answers for the client to its parts (no closure per hook: see ClientLink).
    const link = new ClientLink(this);
    this.events = new Emitter(link);
    this.keeper = createTokenKeeper(o, link);
    this.log = new RedactingLog(o.logger, link);
    this.diagnostics = new Diagnostics(this.log, href, o.debug, this);
  }

  /** @internal Runs `dispose` at close() (the list is made at the first one: most clients have none). */
  onClose(dispose: () => void): void {
    this.disposers ??= [];
    this.disposers.push(dispose);
  }

  /** @internal Attaches the cross-tab plugin, if the app passed one and this environment has what it needs. */
  attachCrossTab(): void {
    const { o } = this;
    this.crossTab =
      o.crossTab?.attach({
        url: this.href,
        refreshTimeoutMs: o.refreshTimeoutMs,
        now: () => this.now(),
        setTimeout: (callback, ms) => this.setTimeout(callback, ms),
        clearTimeout: (handle) => this.clearTimeout(handle),
        adopt: (result) => this.adoptShared(result),
        accept: (result) => this.acceptShared(result),
      }) ?? null;
    this.sharedRefresh = this.crossTab ? this.crossTab.wrap(o.refresh) : null;
  }
  private reachOutOnce(): void {
    const reach = this.reachOut;
    this.reachOut = null;
    reach?.(this);
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
    return waitForEvent(this.events, this.o.timers, event, timeoutMs, () => this.diagnostics.explain());
  }
  connect(): void {
    if (this.state === "closed") throw new AuthedSocketError("ERR_CLOSED", "connect() after close()");
    if (this.state !== "idle" && this.state !== "logged_out") return;
    this.reachOutOnce();
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
    this.reachOutOnce();
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
    const { disposers } = this;
    this.disposers = null;
    if (disposers) for (const dispose of disposers) dispose();
    this.detach?.(this);
    this.detach = null;
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

  // ---- tabs -------------------------------------------------------------------------------------------------

  /** @internal A newer token another tab published. */
  adoptShared(result: Shared): void {
    if (this.state === "idle" || this.isOver()) return;
    const token = this.keeper.adopt(result);
    if (token && this.state === "authenticated") this.deliver(token);
  }

  /** @internal A token posted on the channel (by a tab or any same-origin script): unexpired, this subject. */
  acceptShared(result: Shared): boolean {
    const { exp, sub } = readClaims(result.token);
    if (result.expiresIn === undefined && exp !== undefined && exp * 1000 <= this.now()) return false;
    const held = this.keeper.current ?? this.lastPresented;
    return !held || held.subject === undefined || sub === held.subject;
  }

  // ---- what the behaviour provides (core.ts) ----------------------------------------------------------------

  /** @internal */ abstract installAuth(): void;
  /** @internal */ abstract refreshNow(reason: RefreshReason): Promise<void>;
  /** @internal */ abstract deliver(token: KeptToken): void;
  /** @internal */ abstract armTimer(): void;
  /** @internal The refresh timer fired. */
  abstract onTimer(lateMs: number): void;
  /** @internal */ abstract teardown(): void;
  /** @internal */ abstract loggedOut(reason: LoggedOutReason, error?: AuthedSocketError): void;
}
