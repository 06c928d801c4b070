/**
 * What the client tells a person when something goes wrong (issue: "failures that explain themselves"): why a
 * session ended, that a server cannot be reached, what a token provider returned instead of a token, and — with
 * `debug: true` — the lifecycle step by step. Small pieces the client calls; each is a value or a function of its
 * inputs, tested on its own. Nothing here prints a token: every line goes through the redacting log.
 */
import { AuthedSocketError, RefreshError } from "./errors.js";
import type {
  AuthedSocketEventName,
  AuthedSocketListener,
  AuthedSocketState,
  LoggedOutReason,
} from "./events.js";
import { describeType, describeValue, type Log } from "./log.js";

// ---- the URL ------------------------------------------------------------------------------------------------

/**
 * The URL `createAuthedSocket` accepts: a non-empty string or a `URL` (as `refreshWithFetch` does), returned as a
 * string because socket.io-client parses strings only (a `URL` object would be read as an options object).
 */
export function normalizeUrl(url: unknown): string {
  if (typeof url === "string" && url !== "") return url;
  // `instanceof` fails for a URL from another realm (an iframe, a test environment's own URL class).
  if (
    url instanceof URL ||
    (isObject(url) && typeof url.href === "string" && typeof url.protocol === "string")
  ) {
    const href = String((url as URL).href);
    if (href !== "") return href;
  }
  throw new TypeError(
    `authed-socket: "url" must be a non-empty string or a URL (got ${url === "" ? "an empty string" : describeType(url)})`,
  );
}

/** The URL as a message may show it: no user, password, query or fragment (any of them may carry a secret). */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const path = parsed.pathname === "/" ? "" : parsed.pathname;
    return `${parsed.protocol}//${parsed.host}${path}`;
  } catch {
    // A relative URL (a page's own origin): drop the query and fragment.
    return url.split(/[?#]/, 1)[0] ?? "";
  }
}

// ---- what a token provider returned -------------------------------------------------------------------------

/** A provider's result checked: the token and its expiry hints, or an error that says what was wrong. */
export type ProviderResult =
  | { ok: true; value: string; extra: { expiresAt?: number; expiresIn?: number } }
  /** `shape` is true when the result cannot be a token at all (wrong type, no `token`): retrying will not help. */
  | { ok: false; error: RefreshError; shape: boolean };

/** Field names a token endpoint commonly uses for the access token; a result with one of them lacks only `token`. */
const TOKEN_LOOKALIKES = ["accessToken", "access_token", "id_token", "idToken", "jwt", "access"];

/**
 * Checks what `refresh` or `getToken` returned (null/undefined are handled by the caller: they mean "no token").
 * Messages name types and field names, never values: a malformed result may still contain a secret.
 */
export function checkProviderResult(result: unknown, which: "refresh" | "getToken"): ProviderResult {
  const expected = "a string, { token, expiresAt?, expiresIn? } or null";
  const invalid = (message: string, shape: boolean): ProviderResult => ({
    ok: false,
    error: new RefreshError("ERR_INVALID_TOKEN", `${which} ${message}`),
    shape,
  });
  if (typeof result === "string")
    return result === "" ? invalid("returned an empty string", true) : { ok: true, value: result, extra: {} };
  if (!isObject(result) || Array.isArray(result))
    return invalid(`must return ${expected} (got ${describeType(result)})`, true);
  const r = result as Record<string, unknown>;
  if (!("token" in r)) {
    const lookalike = TOKEN_LOOKALIKES.find((name) => typeof r[name] === "string");
    const fields = Object.keys(r);
    const listed =
      fields.length === 0 ? "no fields" : `fields ${fields.slice(0, 6).map(quoteKey).join(", ")}`;
    const hint = lookalike
      ? `; return { token: result.${lookalike}${expiryHint(r)} } instead`
      : `; return ${expected}`;
    return invalid(`returned an object without "token" (${listed})${hint}`, true);
  }
  if (typeof r.token !== "string")
    return invalid(`returned { token } whose token is ${describeType(r.token)}, not a string`, true);
  if (r.token === "") return invalid("returned { token } with an empty token", true);
  const extra: { expiresAt?: number; expiresIn?: number } = {};
  for (const name of ["expiresAt", "expiresIn"] as const) {
    const value = r[name];
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isFinite(value))
      return invalid(
        `returned ${name} = ${typeof value === "number" ? value : describeType(value)}; it must be a finite number of ms`,
        true,
      );
    extra[name] = value;
  }
  return { ok: true, value: r.token, extra };
}

/** OAuth's `expires_in` is in seconds; the client's `expiresIn` is in ms. */
function expiryHint(r: Record<string, unknown>): string {
  return typeof r.expires_in === "number" ? ", expiresIn: result.expires_in * 1000" : "";
}

function quoteKey(key: string): string {
  return describeValue(key);
}

/** How many shape errors in a row end the session: a provider that returns the wrong type is a bug, not a blip. */
export const SHAPE_ERRORS_BEFORE_GIVING_UP = 3;

/**
 * Counts provider results that cannot be tokens, in a row. Retrying a network failure can help; retrying a
 * function that returns `{ accessToken }` cannot, and would retry forever with the default `retry.attempts`.
 */
export function createShapeErrorCounter(limit = SHAPE_ERRORS_BEFORE_GIVING_UP) {
  let inARow = 0;
  return {
    /**
     * Records one refresh outcome (`null` for a success or a failure of another kind). Returns the error that ends
     * the session when the limit is reached, otherwise undefined (retry as usual).
     */
    record(outcome: ProviderResult | null): RefreshError | undefined {
      if (!outcome || outcome.ok || !outcome.shape) {
        inARow = 0;
        return undefined;
      }
      inARow++;
      if (inARow < limit) return undefined;
      return new RefreshError(
        "ERR_INVALID_TOKEN",
        `${outcome.error.message} (${inARow} times in a row: a programming error, not a passing failure)`,
        { cause: outcome.error },
      );
    },
    reset(): void {
      inARow = 0;
    },
  };
}

/**
 * The failure for a `refresh` that threw something other than an `AuthedSocketError`. Its message is the thrown
 * message as it is, named as coming from `refresh`, so an app that throws `new Error("refresh failed")` does not
 * read "refresh failed: refresh failed".
 */
export function refreshThrew(thrown: unknown, which: "refresh" | "getToken" = "refresh"): RefreshError {
  const name = thrown instanceof Error && thrown.name !== "Error" ? `${thrown.name}: ` : "";
  const message = thrown instanceof Error ? thrown.message : describeValue(thrown);
  return new RefreshError("ERR_REFRESH_FAILED", `${which} threw ${name}${message || "(no message)"}`, {
    cause: thrown,
  });
}

// ---- the narrator -------------------------------------------------------------------------------------------

/** Transport failures in a row before the one "cannot reach" warning. */
export const UNREACHABLE_AFTER = 3;
/** Server refusals that are not about the token, in a row, before the one "keeps refusing" warning. */
export const REFUSALS_BEFORE_WARNING = 5;

export { emitAfterClose, emitAfterLoggedOut, refuseEmits } from "./refuse-emits.js";

/** The parts of a socket.io-client Socket the narrator listens to. */
export interface WatchedSocket {
  readonly active: boolean;
  on(event: string, listener: (...args: never[]) => void): unknown;
  off(event: string, listener: (...args: never[]) => void): unknown;
  readonly io: {
    on(event: string, listener: (...args: never[]) => void): unknown;
    off(event: string, listener: (...args: never[]) => void): unknown;
  };
}

/** The client's lifecycle emitter (events.ts). */
export interface WatchedEvents {
  on<K extends AuthedSocketEventName>(event: K, listener: AuthedSocketListener<K>): () => void;
}

export interface DiagnosticsOptions {
  log: Log;
  /** The server URL, shown without credentials, query or fragment. */
  url: string;
  /** Narrate the lifecycle at debug level (the `debug` option). */
  debug: boolean;
  /** Local epoch ms, for "expires in …". */
  now: () => number;
}

type SocketError = Error & { data?: unknown; description?: unknown; type?: unknown };

/** "xhr poll error (no HTTP response)", "websocket error (connect ECONNREFUSED 127.0.0.1:1)". */
export function describeTransportError(error: SocketError): string {
  const d = error.description;
  let detail = "";
  if (typeof d === "number") detail = d === 0 ? "no HTTP response" : `HTTP ${d}`;
  else if (d instanceof Error || (isObject(d) && typeof d.message === "string"))
    detail = String((d as { message: string }).message);
  else if (isObject(d) && isObject(d.error) && typeof d.error.message === "string") detail = d.error.message;
  return detail && !error.message.includes(detail) ? `${error.message} (${detail})` : error.message;
}

/** A refusal as the server said it: its message and, when present, its `data.code`. */
export function describeRefusal(error: SocketError): string {
  const code = isObject(error.data) && typeof error.data.code === "string" ? error.data.code : undefined;
  const message = JSON.stringify(error.message);
  return code && !error.message.includes(code) ? `${message} (code ${code})` : message;
}

function seconds(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  return `${s >= 10 ? Math.round(s) : Math.round(s * 10) / 10} s`;
}

/** What to check for each way a session can end; shown once, with the warning. */
const HINTS: Record<Exclude<LoggedOutReason, "logout">, string> = {
  auth_rejected:
    "Check that the server verifies with the issuer's secret or key, algorithm, issuer and audience, and its clock",
  forbidden: "The server refused this user; a new token will not help",
  refresh_rejected: "refresh returned null or threw UnauthorizedError: the user must sign in again",
  refresh_failed: "connect() starts a new session",
  revoked: "The server ended the session; the user must sign in again",
};

/**
 * Listens to a socket and the lifecycle emitter and says what matters: one warning when the server cannot be reached,
 * one when it keeps refusing handshakes for reasons that are not the token, and — with `debug` — every step; the
 * client calls `loggedOut` when the session ends (a warning, with the server's last refusal). `watch` must run before
 * the client adds its own socket listeners, so a refusal is on record when it ends the session.
 */
export function createDiagnostics({ log, url, debug, now }: DiagnosticsOptions) {
  const shownUrl = displayUrl(url);
  let lastRefusal: SocketError | undefined;
  let lastTransportError: SocketError | undefined;
  let transportFailures = 0;
  let refusals = 0;
  let warnedUnreachable = false;
  let warnedRefusing = false;
  const narrate = debug ? (message: string) => log.debug(message) : () => undefined;
  const expiresIn = (expiresAt: number | null) =>
    expiresAt === null
      ? "an opaque token (no known expiry)"
      : `a token that expires in ${seconds(expiresAt - now())}`;

  function onConnectError(error: SocketError, active: boolean): void {
    if (active) {
      // socket.io's Manager retries transport failures by itself; say once that it is not getting anywhere.
      transportFailures++;
      lastTransportError = error;
      narrate(`cannot reach ${shownUrl} (attempt ${transportFailures}): ${describeTransportError(error)}`);
      if (transportFailures >= UNREACHABLE_AFTER && !warnedUnreachable) {
        warnedUnreachable = true;
        log.warn(
          `cannot reach ${shownUrl}: ${transportFailures} attempts failed, the last with ${describeTransportError(error)}; still retrying`,
        );
      }
      return;
    }
    // Recorded, not narrated: the client's own debug line names the refusal with how it classified it.
    lastRefusal = error;
    refusals++;
    if (refusals >= REFUSALS_BEFORE_WARNING && !warnedRefusing) {
      warnedRefusing = true;
      log.warn(
        `the server at ${shownUrl} refused ${refusals} handshakes in a row, the last with ${describeRefusal(error)}; still retrying`,
      );
    }
  }

  function onConnect(): void {
    if (warnedUnreachable) log.info(`reached ${shownUrl} after ${transportFailures} failed attempts`);
    transportFailures = 0;
    refusals = 0;
    warnedUnreachable = false;
    warnedRefusing = false;
    lastRefusal = undefined;
    lastTransportError = undefined;
  }

  function loggedOut(reason: LoggedOutReason, error?: AuthedSocketError): void {
    if (reason === "logout") return narrate("logged out by logout()");
    let line = `logged out (${reason})`;
    if (error) line += `: ${error.message}`;
    if (lastRefusal && !error?.message.includes(lastRefusal.message))
      line += `; the server's last refusal: ${describeRefusal(lastRefusal)}`;
    log.warn(`${line}. ${HINTS[reason]}.`);
  }

  return {
    /**
     * Says why the session ended: a warning for every reason but `logout()`, with the error, the server's last
     * refusal and what to check. Call it before the session's tokens are forgotten, so the log still redacts them.
     */
    loggedOut,

    /** The server's last handshake refusal since the last accepted connection. */
    get lastRefusal(): Error | undefined {
      return lastRefusal;
    },

    /**
     * `ERR_AUTH_REJECTED` for `count` fresh tokens refused in a row, quoting the server's last refusal and carrying
     * it as `cause`.
     */
    authRejected(count: number): AuthedSocketError {
      const said = lastRefusal ? `; the last refusal: ${describeRefusal(lastRefusal)}` : "";
      return new AuthedSocketError(
        "ERR_AUTH_REJECTED",
        `the server refused ${count} fresh tokens in a row${said}`,
        lastRefusal ? { cause: lastRefusal } : undefined,
      );
    },

    /** What has gone wrong so far on this connection attempt, for a `waitFor` timeout: "" when nothing has. */
    explain(): string {
      if (lastRefusal) return ` (the server's last refusal: ${describeRefusal(lastRefusal)})`;
      if (lastTransportError)
        return ` (cannot reach ${shownUrl}: ${transportFailures} attempts, the last with ${describeTransportError(lastTransportError)})`;
      return "";
    },

    /**
     * Logs one failed refresh attempt: the first three and then every power of two at warn (a refresh that retries
     * for an hour must not print 120 warnings), the others at debug.
     */
    refreshFailed(error: AuthedSocketError, attempt: number, retryInMs: number | null): void {
      const next = retryInMs === null ? "giving up" : `retrying in ${seconds(retryInMs)}`;
      const line = `refresh attempt ${attempt} failed (${next}): ${error.message}`;
      if (attempt <= 3 || (attempt & (attempt - 1)) === 0 || retryInMs === null) log.warn(line);
      else log.debug(line);
    },

    /** A `connect_error`: the client calls this first in its own listener, so a refusal is on record. */
    connectError: onConnectError,

    /** A `connect`: the attempts and refusals counted so far are forgotten. */
    connected: onConnect,

    /**
     * With `debug`: narrates disconnects, reconnect attempts and every lifecycle event; returns the function that
     * stops. Without `debug` nothing listens (no listener, no closure per client).
     */
    narrateLifecycle(socketLike: object, events: WatchedEvents): () => void {
      if (!debug) return () => undefined;
      const socket = socketLike as WatchedSocket;
      const onDisconnect = (reason: string) => narrate(`disconnected: ${reason}`);
      const onAttempt = (attempt: number) => narrate(`reconnect attempt ${attempt}`);
      socket.on("disconnect", onDisconnect);
      socket.io.on("reconnect_attempt", onAttempt);
      const stops = [
        () => socket.off("disconnect", onDisconnect),
        () => socket.io.off("reconnect_attempt", onAttempt),
        events.on("state", ({ from, to }: { from: AuthedSocketState; to: AuthedSocketState }) =>
          narrate(`state ${from} → ${to}`),
        ),
        events.on("refreshing", ({ reason, attempt }) =>
          narrate(`refreshing (${reason})${attempt > 1 ? `, attempt ${attempt}` : ""}`),
        ),
        events.on("refreshed", ({ expiresAt }) => narrate(`refreshed: ${expiresIn(expiresAt)}`)),
        events.on("authenticated", ({ via, expiresAt }) =>
          narrate(`authenticated (${via}) with ${expiresIn(expiresAt)}`),
        ),
      ];
      return () => {
        for (const stop of stops.splice(0)) stop();
      };
    },

    /**
     * Listens on its own (for code that is not the client): `connect_error` and `connect`, plus the narration with
     * `debug`; returns the function that stops. Attach it before other listeners of those events.
     */
    watch(socketLike: object, events: WatchedEvents): () => void {
      const socket = socketLike as WatchedSocket;
      const onError = (error: SocketError) => onConnectError(error, socket.active);
      socket.on("connect_error", onError);
      socket.on("connect", onConnect);
      const stopNarration = this.narrateLifecycle(socket, events);
      return () => {
        socket.off("connect_error", onError);
        socket.off("connect", onConnect);
        stopNarration();
      };
    },
  };
}

export type Diagnostics = ReturnType<typeof createDiagnostics>;

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object";
}
