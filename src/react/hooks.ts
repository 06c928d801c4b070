import { useCallback, useRef, useSyncExternalStore } from "react";
import type { SocketReservedEvents } from "socket.io-client";
import type {
  AuthedSocket,
  AuthedSocketEventName,
  AuthedSocketListener,
  AuthedSocketState,
  DefaultEventsMap,
  EventsMap,
} from "../index.js";
import { type AnyClient, useClient, useCommitEffect } from "./context.js";

/** What {@link useAuthState} returns. */
export interface AuthState {
  /** The client's lifecycle state; `"idle"` for a client not connected yet (on the server, in the first render). */
  readonly state: AuthedSocketState;
  /** Expiry of the held token on this device's clock (epoch ms); null when none is held or it is opaque. */
  readonly expiresAt: number | null;
}

/**
 * The provider's client, typed with the app's event maps. It is there from the first render on, on the server
 * too: a provider that owns its client creates it during its first render and connects it at commit, so before
 * that commit (and on the server) it is an `"idle"` client that has opened nothing. Its identity is stable for the
 * provider's life (until `url` changes).
 *
 * @example
 * ```tsx
 * const client = useAuthedSocket<ServerToClient, ClientToServer>();
 * const send = (text: string) => client.socket.emit("send", text, (ok) => console.log(ok));
 * ```
 */
export function useAuthedSocket<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
>(): AuthedSocket<ListenEvents, EmitEvents> {
  return useClient("useAuthedSocket") as unknown as AuthedSocket<ListenEvents, EmitEvents>;
}

/** Every event after which `state` or `expiresAt` may read differently. */
const CHANGES: readonly AuthedSocketEventName[] = [
  "state",
  "authenticated",
  "refreshing",
  "refreshed",
  "refresh_failed",
  "logged_out",
];

interface Store {
  subscribe(onChange: () => void): () => void;
  snapshot(): AuthState;
}

const IDLE: AuthState = Object.freeze({ state: "idle", expiresAt: null });
/** One store per client, so every component reading one client subscribes the same way and shares snapshots. */
const stores = new WeakMap<AnyClient, Store>();

function storeOf(client: AnyClient): Store {
  let store = stores.get(client);
  if (store) return store;
  let last: AuthState = IDLE;
  store = {
    subscribe(onChange) {
      const stops = CHANGES.map((event) => client.on(event, onChange));
      return () => {
        for (const stop of stops) stop();
      };
    },
    // useSyncExternalStore compares snapshots by identity: a new object only when a value changed.
    snapshot() {
      const { state, expiresAt } = client;
      if (last.state !== state || last.expiresAt !== expiresAt) last = Object.freeze({ state, expiresAt });
      return last;
    },
  };
  stores.set(client, store);
  return store;
}

/**
 * The client's `state` and `expiresAt`, re-rendering the component when either changes. Read through
 * `useSyncExternalStore`, so every component of one render sees the same values (no tearing). Changes made in one
 * synchronous burst may render once, with the last values; use `useLifecycleEvent("state", …)` to see each step.
 * On the server it reads the client as it is: `"idle"` and no expiry for a client the provider created there.
 *
 * @example
 * ```tsx
 * const { state, expiresAt } = useAuthState();
 * return <p>{state === "authenticated" ? `token good until ${new Date(expiresAt ?? 0)}` : state}</p>;
 * ```
 */
export function useAuthState(): AuthState {
  const store = storeOf(useClient("useAuthState"));
  // The server snapshot is the client's own: "idle" for the inert client a provider creates on the server, and
  // the same in the hydrating render, whose provider creates its client anew.
  return useSyncExternalStore(store.subscribe, store.snapshot, store.snapshot);
}

type Handler = (...args: never[]) => void;

/**
 * The latest `handler` behind one listener that never changes: re-renders with a new handler function do not
 * resubscribe, and the listener calls whichever handler the last commit passed.
 */
function useLatest<H extends Handler>(handler: H): H {
  const latest = useRef(handler);
  useCommitEffect(() => {
    latest.current = handler;
  });
  return useCallback(((...args: never[]) => latest.current(...args)) as H, []);
}

/**
 * Listens to a socket.io event on `client.socket` while the component is mounted. The handler may be a new function
 * on every render: the listener stays subscribed once and calls the latest handler. It resubscribes only when the
 * event name or the client changes, and an event is never delivered twice (StrictMode included).
 *
 * socket.io's own `connect`, `disconnect` and `connect_error` are typed as they are; for the app's events name the
 * event map: `useSocketEvent<ServerToClient, "message">("message", (text, from) => …)`.
 *
 * @example
 * ```tsx
 * useSocketEvent<ServerToClient, "message">("message", (text, from) => setLines((l) => [...l, `${from}: ${text}`]));
 * useSocketEvent("disconnect", (reason) => console.log(reason));
 * ```
 */
export function useSocketEvent<K extends keyof SocketReservedEvents>(
  event: K,
  handler: SocketReservedEvents[K],
): void;
export function useSocketEvent<
  ListenEvents extends EventsMap = DefaultEventsMap,
  K extends keyof ListenEvents & string = keyof ListenEvents & string,
>(event: K, handler: ListenEvents[K]): void;
export function useSocketEvent(event: string, handler: Handler): void {
  const client = useClient("useSocketEvent");
  const listener = useLatest(handler);
  useCommitEffect(() => {
    const socket = client.socket as unknown as {
      on(event: string, listener: Handler): unknown;
      off(event: string, listener: Handler): unknown;
    };
    socket.on(event, listener);
    return () => {
      socket.off(event, listener);
    };
  }, [client, event, listener]);
}

/**
 * Listens to one of the client's lifecycle events (`state`, `authenticated`, `refreshing`, `refreshed`,
 * `refresh_failed`, `logged_out`) while the component is mounted, with the latest handler and one subscription.
 *
 * @example
 * ```tsx
 * useLifecycleEvent("logged_out", ({ reason }) => showLogin(reason));
 * ```
 */
export function useLifecycleEvent<K extends AuthedSocketEventName>(
  event: K,
  handler: AuthedSocketListener<K>,
): void {
  const client = useClient("useLifecycleEvent");
  const listener = useLatest(handler as Handler) as AuthedSocketListener<K>;
  useCommitEffect(() => client.on(event, listener), [client, event, listener]);
}
