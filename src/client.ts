import { io as defaultIo, type Socket } from "socket.io-client";
import { ClientCore } from "./core.js";
import { normalizeUrl } from "./diagnostics.js";
import type {
  AuthedSocketEventName,
  AuthedSocketEvents,
  AuthedSocketListener,
  AuthedSocketState,
} from "./events.js";
import { type AuthedSocketOptions, normalizeOptions, type SocketIoOptions } from "./options.js";
import { wire } from "./wiring.js";

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
  const userAuth = o.socket.auth;
  if (userAuth !== undefined && (typeof userAuth !== "object" || userAuth === null))
    throw new TypeError(
      'authed-socket: option "socket.auth" must be an object (the client supplies the token)',
    );
  const ioFactory = o.io ?? (defaultIo as unknown as (url: string, options: SocketIoOptions) => Socket);
  const socket = ioFactory(href, { forceNew: true, ...o.socket, autoConnect: false }) as Socket;
  const core = new ClientCore(o, href, socket);
  if (o.tokenIn === "query")
    core.log.warn('tokenIn "query" puts the token in URLs, which proxies and servers log');
  wire(core);
  for (const [event, listener] of Object.entries(o.on)) {
    if (listener !== undefined)
      core.events.on(event as AuthedSocketEventName, listener as AuthedSocketListener<AuthedSocketEventName>);
  }
  core.installAuth();
  if (o.socket.autoConnect !== false) core.connect();
  return core as unknown as AuthedSocket<ListenEvents, EmitEvents>;
}
