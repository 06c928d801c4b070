import type { ManagerOptions, Socket, SocketOptions } from "socket.io-client";
import type { Clock, Timers } from "./clock.js";
import { systemClock, systemTimers } from "./clock.js";
import type { CrossTabOptions } from "./cross-tab.js";
import type { Environment } from "./environment.js";
import type { AuthedSocketListeners, RefreshReason } from "./events.js";
import type { TokenResult } from "./expiry.js";
import { clampDelay } from "./schedule.js";

export type { TokenResult } from "./expiry.js";

/** What `refresh` receives. */
export interface RefreshContext {
  /** Why this refresh runs. `"rejected"` means the server refused the current token: do not return a cached one. */
  reason: RefreshReason;
  /** Aborted when the attempt times out (`refreshTimeoutMs`) or the client logs out or closes. Pass it to fetch. */
  signal: AbortSignal;
  /** 1 for the first attempt of this refresh, 2 for its first retry, … */
  attempt: number;
}

/** A sink for diagnostics. Every message is redacted (no token ever reaches it). */
export interface Logger {
  debug?(message: string, ...details: unknown[]): void;
  info?(message: string, ...details: unknown[]): void;
  warn?(message: string, ...details: unknown[]): void;
  error?(message: string, ...details: unknown[]): void;
}

/** Retry policy for failed refreshes (network errors, 5xx, timeouts). */
export interface RetryOptions {
  /**
   * First backoff ceiling in ms; each retry doubles it, and the actual wait is a uniform pick below it (full
   * jitter), so clients that failed together do not retry together.
   * @default 1000
   */
  baseDelayMs?: number;
  /**
   * Largest backoff ceiling in ms.
   * @default 30000
   */
  maxDelayMs?: number;
  /**
   * Attempts per refresh before giving up with `logged_out("refresh_failed")`. The default never gives up: a bot
   * that loses the network for an hour is authenticated again when the network returns.
   * @default Infinity
   */
  attempts?: number;
}

/** The socket.io-client options that are passed through; the client owns `auth` (see `tokenIn`) and `autoConnect`. */
export type SocketIoOptions = Partial<ManagerOptions & SocketOptions>;

export interface AuthedSocketOptions {
  /**
   * Returns the token the app already holds (e.g. from storage after sign-in): a string, `{ token, expiresAt?,
   * expiresIn? }`, or null when there is none. Called when the client needs a token and holds none; when it
   * returns null or an expired token, `refresh` runs first. Omit it if every token comes from `refresh`.
   * Throwing `UnauthorizedError` ends the session.
   * @default () => null
   */
  getToken?: () => TokenResult | Promise<TokenResult>;

  /**
   * Obtains a new access token (typically with a refresh token). Return a string, `{ token, expiresAt?,
   * expiresIn? }`, or null when the session is over. Throw `UnauthorizedError` for "session over" too; any other
   * throw is treated as transient and retried with backoff (see `retry`). Only one call runs at a time.
   * `expiresAt` is epoch ms on the issuer's clock; `expiresIn` is ms from now (immune to clock skew). Without
   * either, a JWT's `exp` is used; an opaque token without them is refreshed only when the server rejects it.
   */
  refresh: (context: RefreshContext) => TokenResult | Promise<TokenResult>;

  /**
   * socket.io-client options, passed through. `auth` may be an object: its fields are sent along with the token.
   * `autoConnect` is honoured by the client (connects at creation unless false); `forceNew` defaults to true so
   * closing this client never affects another socket.
   * @default {}
   */
  socket?: SocketIoOptions;

  /**
   * How long before expiry to refresh, in ms, or a function of the token's lifetime. Never more than half the
   * lifetime, so short tokens cannot cause a refresh loop.
   * @default (lifetimeMs) => Math.min(60_000, lifetimeMs * 0.2)
   */
  refreshMarginMs?: number | ((lifetimeMs: number) => number);

  /**
   * Random spread added to the margin, as a fraction of it (0 to 1): the refresh lands uniformly between
   * `expiry − margin·(1 + jitter)` and `expiry − margin`, so a fleet of clients does not refresh in one instant.
   * @default 0.5
   */
  jitter?: number;

  /**
   * Time limit for one `refresh` (or `getToken`) call, in ms. When it runs out the call's `signal` is aborted and
   * the attempt counts as failed (retried with backoff). A handshake waits at most this long for a token.
   * @default 10000
   */
  refreshTimeoutMs?: number;

  /**
   * Backoff for failed refreshes and for re-handshakes after a server-side refusal that is not about the token.
   * @default { baseDelayMs: 1000, maxDelayMs: 30000, attempts: Infinity }
   */
  retry?: RetryOptions;

  /**
   * How many freshly refreshed tokens the server may refuse in a row before the client gives up with
   * `logged_out("auth_rejected")`. Stops the refresh-reconnect loop against a server that refuses everything.
   * @default 3
   */
  maxAuthRejections?: number;

  /**
   * Where the token travels at the handshake:
   * - `"auth"`: in `handshake.auth.token` (the Socket.IO way; never in a URL).
   * - `"header"`: an `Authorization: Bearer` header, for servers that read it. Node and React Native only:
   *   browsers cannot set headers on a WebSocket (there it only works with the polling transport).
   * - `"query"`: the query string, for legacy servers. URLs end up in proxy and server logs; a warning is logged.
   * @default "auth"
   */
  tokenIn?: "auth" | "header" | "query";

  /**
   * Decides whether a `connect_error` refused by the server is about the token. Return true (refresh and retry),
   * false (not an auth failure) or undefined (let the built-in rules decide: `err.data.code`, then common messages
   * such as "Invalid or expired token" or "jwt expired"). Stable codes in `err.data.code` always win.
   * @default undefined
   */
  isAuthError?: (error: Error & { data?: unknown }) => boolean | undefined;

  /**
   * Name of the event a server emits after accepting a connection to say the token is bad (Flask-SocketIO style).
   * It triggers a forced refresh and a re-handshake. Null turns it off.
   * @default "auth_error"
   */
  authErrorEvent?: string | null;

  /**
   * How a proactive refresh reaches a connected server: `"auto"` rotates on the live connection when the server
   * speaks the in-band protocol (`authed-socket/server`), and otherwise keeps the connection and uses the new token
   * at the next handshake; `"reconnect"` always re-handshakes with the new token.
   * @default "auto"
   */
  rotation?: "auto" | "reconnect";

  /**
   * Browser tabs of one origin share refreshes: exactly one tab calls `refresh` when the token is about to expire
   * and the others adopt its result (Web Locks + BroadcastChannel). Needed with rotating refresh tokens and reuse
   * detection, where two tabs refreshing with the same refresh token end the session. A no-op where Web Locks or
   * BroadcastChannel are missing (Node, React Native).
   * @default false
   */
  crossTab?: boolean | CrossTabOptions;

  /**
   * Signals that the app came back (tab visible, network online, React Native AppState active): the client then
   * re-checks the token at once instead of trusting a timer that may have slept. `"auto"` uses the browser signals
   * where a DOM exists and none elsewhere; pass `reactNativeEnvironment(AppState)` in React Native.
   * @default "auto"
   */
  environment?: Environment | "auto" | "none";

  /**
   * Diagnostics sink. Messages are redacted: tokens never reach it.
   * @default warnings and errors to console
   */
  logger?: Logger | null;

  /**
   * Lifecycle listeners to attach before anything can fire (same as calling `client.on` for each).
   * @default {}
   */
  on?: AuthedSocketListeners;

  /** Wall clock; injected in tests. @default Date.now */
  clock?: Clock;

  /** Timer functions; injected in tests. @default globalThis.setTimeout / clearTimeout */
  timers?: Timers;

  /**
   * The socket.io-client factory (its `io` export). Pass your own to use a specific instance of socket.io-client.
   * @default io from "socket.io-client"
   */
  io?: (url: string, options: SocketIoOptions) => Socket;
}

/** The options with every default applied; internal. */
export interface NormalizedOptions {
  getToken: () => TokenResult | Promise<TokenResult>;
  refresh: (context: RefreshContext) => TokenResult | Promise<TokenResult>;
  socket: SocketIoOptions;
  marginFor: (lifetimeMs: number) => number;
  jitter: number;
  refreshTimeoutMs: number;
  retry: Required<RetryOptions>;
  maxAuthRejections: number;
  tokenIn: "auth" | "header" | "query";
  isAuthError: ((error: Error & { data?: unknown }) => boolean | undefined) | undefined;
  authErrorEvent: string | null;
  rotation: "auto" | "reconnect";
  environment: Environment | "auto" | "none";
  crossTab: Required<CrossTabOptions> | null;
  logger: Logger;
  on: AuthedSocketListeners;
  clock: Clock;
  timers: Timers;
  io: ((url: string, options: SocketIoOptions) => Socket) | undefined;
}

function fail(name: string, expected: string, value: unknown): never {
  const got = value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
  throw new TypeError(`authed-socket: option "${name}" must be ${expected} (got ${got})`);
}

function fn<T>(name: string, value: unknown, fallback?: T): T {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== "function") fail(name, "a function", value);
  return value as T;
}

function num(
  name: string,
  value: unknown,
  fallback: number,
  min: number,
  max = Number.POSITIVE_INFINITY,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || Number.isNaN(value) || value < min || value > max)
    fail(name, `a number from ${min} to ${max}`, value);
  return value;
}

function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (value === undefined) return allowed[0] as T;
  if (!allowed.includes(value as T)) fail(name, allowed.map((a) => `"${a}"`).join(" or "), value);
  return value as T;
}

function obj<T extends object>(name: string, value: unknown): T {
  if (value === undefined) return {} as T;
  if (value === null || typeof value !== "object" || Array.isArray(value)) fail(name, "an object", value);
  return value as T;
}

function members<T extends object>(
  name: string,
  value: unknown,
  required: readonly string[],
  optional: readonly string[] = [],
): T {
  const o = obj<T>(name, value) as Record<string, unknown>;
  for (const key of required) if (typeof o[key] !== "function") fail(`${name}.${key}`, "a function", o[key]);
  for (const key of optional)
    if (o[key] !== undefined && typeof o[key] !== "function") fail(`${name}.${key}`, "a function", o[key]);
  return o as T;
}

/** setTimeout fires any delay above 2^31−1 ms after 1 ms; every timer the client sets goes through this clamp. */
function clamped(timers: Timers): Timers {
  return {
    setTimeout: (callback, delayMs) => timers.setTimeout(callback, clampDelay(delayMs)),
    clearTimeout: (h) => timers.clearTimeout(h),
  };
}

/** The default refresh margin: 20 % of the lifetime, at most a minute. */
export const defaultMargin = (lifetimeMs: number) => Math.min(60_000, lifetimeMs * 0.2);

const consoleLogger: Logger = {
  warn: (message, ...details) => console.warn(message, ...details),
  error: (message, ...details) => console.error(message, ...details),
};

/**
 * Validates options at creation and applies every default in one place. A wrong option throws a TypeError that
 * names it, so a typo fails at startup rather than an hour into a session.
 */
export function normalizeOptions(input: unknown, url = ""): NormalizedOptions {
  const o = obj<AuthedSocketOptions>("options", input);
  const retry = obj<RetryOptions>("retry", o.retry);
  const margin = o.refreshMarginMs;
  if (typeof margin !== "function") num("refreshMarginMs", margin, 0, 0);
  const marginFor =
    typeof margin === "function" ? margin : margin === undefined ? defaultMargin : () => margin;
  const env = o.environment;
  if (
    env !== undefined &&
    env !== "auto" &&
    env !== "none" &&
    (typeof env !== "object" || env === null || typeof env.onResume !== "function")
  )
    fail("environment", '"auto", "none" or an object with onResume()', env);
  const logger =
    o.logger === undefined
      ? consoleLogger
      : o.logger === null
        ? {}
        : members<Logger>("logger", o.logger, [], ["debug", "info", "warn", "error"]);
  const authErrorEvent = o.authErrorEvent === undefined ? "auth_error" : o.authErrorEvent;
  if (authErrorEvent !== null && (typeof authErrorEvent !== "string" || authErrorEvent === ""))
    fail("authErrorEvent", "a non-empty string or null", authErrorEvent);
  const refreshTimeoutMs = num("refreshTimeoutMs", o.refreshTimeoutMs, 10_000, 1);
  let crossTab: Required<CrossTabOptions> | null = null;
  if (o.crossTab !== undefined && o.crossTab !== false) {
    const c = o.crossTab === true ? {} : obj<CrossTabOptions>("crossTab", o.crossTab);
    if (c.name !== undefined && (typeof c.name !== "string" || c.name === ""))
      fail("crossTab.name", "a non-empty string", c.name);
    crossTab = {
      name: c.name ?? `authed-socket:${url}`,
      lockTimeoutMs: num("crossTab.lockTimeoutMs", c.lockTimeoutMs, refreshTimeoutMs / 2, 1),
      handoffMs: num("crossTab.handoffMs", c.handoffMs, 50, 0),
    };
  }
  return {
    getToken: fn("getToken", o.getToken, () => null),
    refresh: fn("refresh", o.refresh),
    socket: obj<SocketIoOptions>("socket", o.socket),
    marginFor,
    jitter: num("jitter", o.jitter, 0.5, 0, 1),
    refreshTimeoutMs,
    retry: {
      baseDelayMs: num("retry.baseDelayMs", retry.baseDelayMs, 1000, 0),
      maxDelayMs: num("retry.maxDelayMs", retry.maxDelayMs, 30_000, 0),
      attempts: num("retry.attempts", retry.attempts, Number.POSITIVE_INFINITY, 1),
    },
    maxAuthRejections: num("maxAuthRejections", o.maxAuthRejections, 3, 1),
    tokenIn: oneOf("tokenIn", o.tokenIn, ["auth", "header", "query"] as const),
    isAuthError: o.isAuthError === undefined ? undefined : fn("isAuthError", o.isAuthError),
    authErrorEvent,
    rotation: oneOf("rotation", o.rotation, ["auto", "reconnect"] as const),
    environment: env ?? "auto",
    crossTab,
    logger,
    on: obj<AuthedSocketListeners>("on", o.on),
    clock: o.clock === undefined ? systemClock : members<Clock>("clock", o.clock, ["now"]),
    timers: clamped(
      o.timers === undefined
        ? systemTimers
        : members<Timers>("timers", o.timers, ["setTimeout", "clearTimeout"]),
    ),
    io: o.io === undefined ? undefined : fn("io", o.io),
  };
}
