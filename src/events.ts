import mitt from "mitt";
import type { AuthedSocketError } from "./errors.js";

/**
 * The client's states. One `setState()` moves between them and emits `state { from, to }`:
 * `idle → connecting → authenticated ⇄ refreshing`, `authenticated → reconnecting → connecting`,
 * any → `logged_out` (until `connect()` finds a token again), any → `closed` (terminal).
 */
export type AuthedSocketState =
  | "idle"
  | "connecting"
  | "authenticated"
  | "refreshing"
  | "reconnecting"
  | "logged_out"
  | "closed";

/** Why a refresh was started; passed to `refresh(ctx)` as `ctx.reason`. */
export type RefreshReason =
  /** No stored token (or an expired one) when a handshake needed one. */
  | "missing"
  /** The proactive timer: the token is inside its refresh margin. */
  | "expiring"
  /** The server refused the token (`connect_error`, `auth_error`, `auth:expired`): a new token is required. */
  | "rejected"
  /** The server asked for a refresh (`auth:expiring`). */
  | "server"
  /** `client.refresh()` was called. */
  | "manual";

/** Why the session ended; `logged_out.reason`. */
export type LoggedOutReason =
  /** `logout()` was called. */
  | "logout"
  /** `refresh` returned null or threw `UnauthorizedError`. */
  | "refresh_rejected"
  /** The server refused `maxAuthRejections` freshly refreshed tokens in a row. */
  | "auth_rejected"
  /** The server said FORBIDDEN: the user may not connect, a new token will not help. */
  | "forbidden"
  /** The server revoked the session (`auth:revoked`). */
  | "revoked"
  /** `refresh` kept failing until `retry.attempts` ran out. */
  | "refresh_failed";

/** The lifecycle events and their payloads. */
export type AuthedSocketEvents = {
  /** Every state change. */
  state: { from: AuthedSocketState; to: AuthedSocketState };
  /**
   * The server accepted a token: at a handshake, or on the live connection (`via: "in-band"`). `expiresAt` is the
   * token's expiry on this device's clock (epoch ms), null when unknown (opaque token).
   */
  authenticated: { via: "handshake" | "in-band"; expiresAt: number | null };
  /** A refresh attempt starts. `attempt` counts from 1 within one refresh. */
  refreshing: { reason: RefreshReason; attempt: number };
  /** A refresh produced a new token. */
  refreshed: { expiresAt: number | null };
  /** A refresh attempt failed; `retryInMs` is when the next attempt runs, null when none will. */
  refresh_failed: { error: AuthedSocketError; attempt: number; retryInMs: number | null };
  /** The session is over; the client holds no token and does not reconnect until `connect()`. */
  logged_out: { reason: LoggedOutReason; error?: AuthedSocketError };
  /**
   * The server's room guard no longer allows these rooms for the new token (`auth:rooms_revoked`): the socket has
   * left them and stays connected. Rejoin nothing by yourself; ask the server again if the user should be there.
   */
  rooms_left: { rooms: string[] };
};

export type AuthedSocketEventName = keyof AuthedSocketEvents;
export type AuthedSocketListener<K extends AuthedSocketEventName> = (payload: AuthedSocketEvents[K]) => void;
/** Listeners passed at creation (`options.on`). */
export type AuthedSocketListeners = { [K in AuthedSocketEventName]?: AuthedSocketListener<K> };

type Wrappers = Map<unknown, (payload: never) => void>;

/**
 * A typed emitter over mitt. A listener that throws is reported to `errors.listenerThrew` and never breaks the client
 * or the other listeners. A class (one object per client, its methods on the prototype), not a closure factory.
 */
export class Emitter {
  /**
   * mitt's bus, made at the first listener and dropped when the last one goes: most clients of a fleet have no
   * listener of their own most of the time, and a bus with its Map and three methods is ~500 B a client.
   */
  private bus: Bus | null = null;
  /** once() registers a wrapper; off() with the app's own listener must still find it (per event). Made at need. */
  private onceWrappers: Map<string, Wrappers> | null = null;

  constructor(private readonly errors: { listenerThrew(error: unknown): void }) {}

  on<K extends AuthedSocketEventName>(event: K, listener: AuthedSocketListener<K>): () => void {
    if (typeof listener !== "function")
      throw new TypeError(`authed-socket: listener for "${event}" must be a function`);
    this.bus ??= mitt<AuthedSocketEvents>();
    this.bus.on(event, listener);
    return () => this.remove(event, listener);
  }

  off<K extends AuthedSocketEventName>(event: K, listener?: AuthedSocketListener<K>): void {
    this.remove(event, listener);
    const wrappers = this.onceWrappers?.get(event);
    if (listener === undefined) wrappers?.clear();
    const wrapper = wrappers?.get(listener);
    if (wrapper) {
      this.remove(event, wrapper as AuthedSocketListener<K>);
      wrappers?.delete(listener);
    }
  }

  once<K extends AuthedSocketEventName>(event: K, listener: AuthedSocketListener<K>): () => void {
    this.onceWrappers ??= new Map();
    const wrappers: Wrappers = this.onceWrappers.get(event) ?? new Map();
    this.onceWrappers.set(event, wrappers);
    const stop = () => {
      this.remove(event, wrapper);
      if (wrappers.get(listener) === wrapper) wrappers.delete(listener);
    };
    const wrapper: AuthedSocketListener<K> = (payload) => {
      stop();
      listener(payload);
    };
    this.on(event, wrapper);
    wrappers.set(listener, wrapper as (payload: never) => void);
    return stop;
  }

  emit<K extends AuthedSocketEventName>(event: K, payload: AuthedSocketEvents[K]): void {
    // Dispatch here rather than through mitt's emit so one throwing listener cannot starve the others or unwind
    // into the state machine that emitted.
    const listeners = this.bus?.all.get(event) as AuthedSocketListener<K>[] | undefined;
    if (!listeners) return;
    for (const listener of [...listeners]) {
      try {
        listener(payload);
      } catch (error) {
        this.errors.listenerThrew(error);
      }
    }
  }

  clear(): void {
    this.bus = null;
    this.onceWrappers?.clear();
  }

  /** mitt's off, then the event's empty list and an empty bus are let go. */
  private remove<K extends AuthedSocketEventName>(event: K, listener?: AuthedSocketListener<K>): void {
    const { bus } = this;
    if (!bus) return;
    bus.off(event, listener);
    if (bus.all.get(event)?.length === 0) bus.all.delete(event);
    if (bus.all.size === 0) this.bus = null;
  }
}

type Bus = ReturnType<typeof mitt<AuthedSocketEvents>>;

/** An `Emitter` whose listener errors go to `onListenerError`. */
export function createEmitter(onListenerError: (error: unknown) => void): Emitter {
  return new Emitter({ listenerThrew: onListenerError });
}
