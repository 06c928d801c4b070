import type { ManagerOptions, Socket, SocketOptions } from "socket.io-client";
import type { Clock, Timers } from "./clock.js";
import { clampedTimers, systemClock, systemTimers } from "./clock.js";
import type { CrossTabPlugin } from "./cross-tab.js";
import type { Environment } from "./environment.js";
import type { AuthedSocketListeners, RefreshReason } from "./events.js";
import type { TokenResult } from "./expiry.js";
import { createLog, describeType, describeValue, type Logger } from "./log.js";
import { OPTION_NAMES, RETRY_NAMES, warnUnknownKeys } from "./option-names.js";

export type { TokenResult } from "./expiry.js";
export type { Logger } from "./log.js";
export { OPTION_NAMES } from "./option-names.js";

/** What `refresh` receives. */
export interface RefreshContext {
  /** Why this refresh runs. `"rejected"` means the server refused the current token: do not return a cached one. */
  reason: RefreshReason;
  /** Aborted when the attempt times out (`refreshTimeoutMs`) or the client logs out or closes. Pass it to fetch. */
  signal: AbortSignal;
  /** 1 for the first attempt of this refresh, 2 for its first retry, … */
  attempt: number;
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
   * closing this client never affects another socket (with false, a second client on the same socket is refused).
   * @default {}
   */
  socket?: SocketIoOptions;

  /**
   * Where the refresh window ends: the least time (ms, or a function of the lifetime) to leave before expiry. The
   * refresh is a uniform pick in a window 25 % of the lifetime wide ending here (65–90 % by default), raised to the
   * floor (4 × the slowest recent refresh, 250 ms–2 s) and capped to fit. See docs/options.md.
   * @default 10 % of the lifetime
   */
  refreshMarginMs?: number | ((lifetimeMs: number) => number);

  /**
   * @deprecated No effect: the refresh instant is a uniform pick in the refresh window (see `refreshMarginMs`),
   * which spreads a fleet over 25 % of the lifetime. Still accepted (0 to 1), so existing code keeps working.
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
   * at the next handshake — until the server shows that it cuts connections at the token's expiry; from then on each
   * refresh re-handshakes before the connection's token expires. `"reconnect"` says so from the start: every
   * refresh re-handshakes, at a moment when no ack is pending (emits made meanwhile are buffered and delivered).
   * @default "auto"
   */
  rotation?: "auto" | "reconnect";

  /**
   * Browser tabs of one origin share refreshes: exactly one tab calls `refresh` when the token is about to expire
   * and the others adopt its result (Web Locks + BroadcastChannel). Needed with rotating refresh tokens and reuse
   * detection, where two tabs refreshing with the same refresh token end the session. A no-op where Web Locks or
   * BroadcastChannel are missing (Node, React Native). Pass `crossTab()` (or `crossTab({ name, … })`), imported from
   * "authed-socket": apps that do not use it do not carry it in their bundle.
   * @default undefined (each tab refreshes on its own)
   */
  crossTab?: CrossTabPlugin | false;

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
   * Narrates the lifecycle at debug level: each state change, handshake refusal, transport error, refresh attempt
   * and its outcome, with token lifetimes but never a token (every line is redacted like any other). With the
   * default logger the lines go to `console.debug`; with your `logger`, to its `debug`. Off, the client still warns
   * when the session ends for a reason other than `logout()` and when the server cannot be reached.
   * @default false
   */
  debug?: boolean;

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
  /** The app's `refreshMarginMs` as a function; undefined for the refresh window's own end (10 % of the lifetime). */
  marginFor: ((lifetimeMs: number) => number) | undefined;
  jitter: number;
  refreshTimeoutMs: number;
  retry: Required<RetryOptions>;
  maxAuthRejections: number;
  tokenIn: "auth" | "header" | "query";
  isAuthError: ((error: Error & { data?: unknown }) => boolean | undefined) | undefined;
  authErrorEvent: string | null;
  rotation: "auto" | "reconnect";
  environment: Environment | "auto" | "none";
  crossTab: CrossTabPlugin | null;
  logger: Logger;
  debug: boolean;
  on: AuthedSocketListeners;
  clock: Clock;
  timers: Timers;
  io: ((url: string, options: SocketIoOptions) => Socket) | undefined;
}

/** `value` is shown (a number, a short string) where that is safe; see describeValue. */
function fail(name: string, expected: string, value: unknown, shown = describeValue(value)): never {
  throw new TypeError(`authed-socket: option "${name}" must be ${expected} (got ${shown})`);
}

/** A function was expected: whatever came instead is described by its kind only (a string here may be a token). */
function fn<T>(name: string, value: unknown, fallback?: T): T {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== "function") fail(name, "a function", value, describeType(value));
  return value as T;
}

function range(min: number, max: number): string {
  return max === Number.POSITIVE_INFINITY ? `a number ≥ ${min}` : `a number from ${min} to ${max}`;
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
    fail(name, range(min, max), value);
  return value;
}

/** `"a"`, `"a" or "b"`, `"a", "b" or "c"`. */
function alternatives(allowed: readonly string[]): string {
  const quoted = allowed.map((a) => `"${a}"`);
  return quoted.length < 2 ? (quoted[0] ?? "") : `${quoted.slice(0, -1).join(", ")} or ${quoted.at(-1)}`;
}

function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (value === undefined) return allowed[0] as T;
  if (!allowed.includes(value as T)) fail(name, alternatives(allowed), value);
  return value as T;
}

function normalizeRetry(retry: RetryOptions): Required<RetryOptions> {
  return {
    baseDelayMs: num("retry.baseDelayMs", retry.baseDelayMs, 1000, 0),
    maxDelayMs: num("retry.maxDelayMs", retry.maxDelayMs, 30_000, 0),
    attempts: num("retry.attempts", retry.attempts, Number.POSITIVE_INFINITY, 1),
  };
}

/** What an option left out reads as: one frozen empty object for all clients, not one each. */
const NONE = Object.freeze({});

/** `retry` when the app passed none: shared, like NONE. */
const DEFAULT_RETRY: Required<RetryOptions> = Object.freeze(normalizeRetry({}));

function obj<T extends object>(name: string, value: unknown): T {
  if (value === undefined) return NONE as T;
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
  for (const key of required)
    if (typeof o[key] !== "function") fail(`${name}.${key}`, "a function", o[key], describeType(o[key]));
  for (const key of optional)
    if (o[key] !== undefined && typeof o[key] !== "function")
      fail(`${name}.${key}`, "a function", o[key], describeType(o[key]));
  return o as T;
}

// option-names.ts lists the keys; these fail to compile when the list and the interfaces drift apart.
type ListedOption = (typeof OPTION_NAMES)[number];
const everyOptionListed: [Exclude<keyof AuthedSocketOptions, ListedOption>] extends [never] ? true : never =
  true;
const onlyOptionsListed: [Exclude<ListedOption, keyof AuthedSocketOptions>] extends [never] ? true : never =
  true;
const retryListed: [Exclude<keyof RetryOptions, (typeof RETRY_NAMES)[number]>] extends [never]
  ? true
  : never = true;
void everyOptionListed;
void onlyOptionsListed;
void retryListed;

/** setTimeout fires any delay above 2^31−1 ms after 1 ms; every timer the client sets goes through this clamp. */
const consoleLogger: Logger = {
  warn: (message, ...details) => console.warn(message, ...details),
  error: (message, ...details) => console.error(message, ...details),
};

/** The default logger with `debug: true`: the narration goes to console.debug. */
const verboseConsoleLogger: Logger = {
  debug: (message, ...details) => console.debug(message, ...details),
  info: (message, ...details) => console.info(message, ...details),
  ...consoleLogger,
};

/**
 * Validates options at creation and applies every default in one place. A wrong option throws a TypeError that
 * names it, so a typo fails at startup rather than an hour into a session.
 */
export function normalizeOptions(input: unknown, _url = ""): NormalizedOptions {
  const o = obj<AuthedSocketOptions>("options", input);
  const retry = obj<RetryOptions>("retry", o.retry);
  const margin = o.refreshMarginMs;
  if (typeof margin !== "function" && margin !== undefined && !(typeof margin === "number" && margin >= 0))
    fail("refreshMarginMs", "a number ≥ 0 or a function of the lifetime", margin);
  const marginFor = typeof margin === "function" ? margin : margin === undefined ? undefined : () => margin;
  const env = o.environment;
  if (
    env !== undefined &&
    env !== "auto" &&
    env !== "none" &&
    (typeof env !== "object" || env === null || typeof env.onResume !== "function")
  )
    fail("environment", '"auto", "none" or an object with onResume()', env);
  const debug = o.debug === undefined ? false : o.debug;
  if (typeof debug !== "boolean") fail("debug", "true or false", debug);
  const logger =
    o.logger === undefined
      ? debug
        ? verboseConsoleLogger
        : consoleLogger
      : o.logger === null
        ? {}
        : members<Logger>("logger", o.logger, [], ["debug", "info", "warn", "error"]);
  const warn = createLog(logger, () => []).warn;
  warnUnknownKeys(warn, o, OPTION_NAMES);
  warnUnknownKeys(warn, retry, RETRY_NAMES, "retry.");
  const authErrorEvent = o.authErrorEvent === undefined ? "auth_error" : o.authErrorEvent;
  if (authErrorEvent !== null && (typeof authErrorEvent !== "string" || authErrorEvent === ""))
    fail("authErrorEvent", "a non-empty string or null", authErrorEvent);
  const refreshTimeoutMs = num("refreshTimeoutMs", o.refreshTimeoutMs, 10_000, 1);
  let crossTab: CrossTabPlugin | null = null;
  if (o.crossTab !== undefined && o.crossTab !== false) {
    const plugin = o.crossTab as Partial<CrossTabPlugin> | true | null;
    if (plugin === null || typeof plugin !== "object" || typeof plugin.attach !== "function")
      throw new TypeError(
        'authed-socket: option "crossTab" takes crossTab() or crossTab({ name }), imported from "authed-socket"',
      );
    crossTab = plugin as CrossTabPlugin;
  }
  return {
    getToken: fn("getToken", o.getToken, () => null),
    refresh: fn("refresh", o.refresh),
    socket: obj<SocketIoOptions>("socket", o.socket),
    marginFor,
    jitter: num("jitter", o.jitter, 0.5, 0, 1),
    refreshTimeoutMs,
    retry: retry === NONE ? DEFAULT_RETRY : normalizeRetry(retry),
    maxAuthRejections: num("maxAuthRejections", o.maxAuthRejections, 3, 1),
    tokenIn: oneOf("tokenIn", o.tokenIn, ["auth", "header", "query"] as const),
    isAuthError: o.isAuthError === undefined ? undefined : fn("isAuthError", o.isAuthError),
    authErrorEvent,
    rotation: oneOf("rotation", o.rotation, ["auto", "reconnect"] as const),
    environment: env ?? "auto",
    crossTab,
    logger,
    debug,
    on: obj<AuthedSocketListeners>("on", o.on),
    clock: o.clock === undefined ? systemClock : members<Clock>("clock", o.clock, ["now"]),
    timers: clampedTimers(
      o.timers === undefined
        ? systemTimers
        : members<Timers>("timers", o.timers, ["setTimeout", "clearTimeout"]),
    ),
    io: o.io === undefined ? undefined : fn("io", o.io),
  };
}
