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
import {
  describeRefusal,
  describeTransportError,
  describeType,
  describeValue,
  isObject,
  type Log,
  type SocketError,
} from "./log.js";
import { noop } from "./util.js";

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
      fields.length === 0
        ? "no fields"
        : `fields ${fields
            .slice(0, 6)
            .map((key) => describeValue(key))
            .join(", ")}`;
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

/** How many shape errors in a row end the session: a provider that returns the wrong type is a bug, not a blip. */
export const SHAPE_ERRORS_BEFORE_GIVING_UP = 3;

/**
 * Counts provider results that cannot be tokens, in a row. Retrying a network failure can help; retrying a
 * function that returns `{ accessToken }` cannot, and would retry forever with the default `retry.attempts`.
 */
export class ShapeErrorCounter {
  private inARow = 0;
  constructor(private readonly limit = SHAPE_ERRORS_BEFORE_GIVING_UP) {}
  /**
   * Records one refresh outcome (`null` for a success or a failure of another kind). Returns the error that ends
   * the session when the limit is reached, otherwise undefined (retry as usual).
   */
  record(outcome: ProviderResult | null): RefreshError | undefined {
    if (!outcome || outcome.ok || !outcome.shape) {
      this.inARow = 0;
      return undefined;
    }
    if (++this.inARow < this.limit) return undefined;
    return new RefreshError(
      "ERR_INVALID_TOKEN",
      `${outcome.error.message} (${this.inARow} times in a row: a programming error, not a passing failure)`,
      { cause: outcome.error },
    );
  }
}

export const createShapeErrorCounter = (limit?: number) => new ShapeErrorCounter(limit);

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

export { describeRefusal, describeTransportError } from "./log.js";
export { emitAfterClose, emitAfterLoggedOut, refuseEmits } from "./refuse-emits.js";

interface Listenable {
  on(event: string, listener: (...args: never[]) => void): unknown;
  off(event: string, listener: (...args: never[]) => void): unknown;
}
/** The parts of a socket.io-client Socket the narrator listens to. */
export interface WatchedSocket extends Listenable {
  readonly active: boolean;
  readonly io: Listenable;
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
 *
 * A class, not a closure factory: one per client, its behaviour on the prototype and its state in fields.
 */
export class Diagnostics {
  private readonly shownUrl: string;
  private refusal: SocketError | undefined = undefined;
  private lastTransportError: SocketError | undefined = undefined;
  private transportFailures = 0;
  private refusals = 0;
  private warnedUnreachable = false;
  private warnedRefusing = false;

  constructor(
    private readonly log: Log,
    url: string,
    private readonly debug: boolean,
    /** Local epoch ms, for "expires in …" (the client is one). */ private readonly clock: { now(): number },
  ) {
    this.shownUrl = displayUrl(url);
  }

  private narrate(message: string): void {
    if (this.debug) this.log.debug(message);
  }

  private expiresIn(expiresAt: number | null): string {
    return expiresAt === null
      ? "an opaque token (no known expiry)"
      : `a token that expires in ${seconds(expiresAt - this.clock.now())}`;
  }

  /** A `connect_error`: the client calls this first in its own listener, so a refusal is on record. */
  connectError(error: SocketError, active: boolean): void {
    const { shownUrl } = this;
    if (active) {
      // socket.io's Manager retries transport failures by itself; say once that it is not getting anywhere.
      const attempts = ++this.transportFailures;
      this.lastTransportError = error;
      this.narrate(`cannot reach ${shownUrl} (attempt ${attempts}): ${describeTransportError(error)}`);
      if (attempts >= UNREACHABLE_AFTER && !this.warnedUnreachable) {
        this.warnedUnreachable = true;
        this.log.warn(
          `cannot reach ${shownUrl}: ${attempts} attempts failed, the last with ${describeTransportError(error)}; still retrying`,
        );
      }
      return;
    }
    // Recorded, not narrated: the client's own debug line names the refusal with how it classified it.
    this.refusal = error;
    const refusals = ++this.refusals;
    if (refusals >= REFUSALS_BEFORE_WARNING && !this.warnedRefusing) {
      this.warnedRefusing = true;
      this.log.warn(
        `the server at ${shownUrl} refused ${refusals} handshakes in a row, the last with ${describeRefusal(error)}; still retrying`,
      );
    }
  }

  /** A `connect`: the attempts and refusals counted so far are forgotten. */
  connected(): void {
    if (this.warnedUnreachable)
      this.log.info(`reached ${this.shownUrl} after ${this.transportFailures} failed attempts`);
    this.transportFailures = 0;
    this.refusals = 0;
    this.warnedUnreachable = false;
    this.warnedRefusing = false;
    this.refusal = undefined;
    this.lastTransportError = undefined;
  }

  /**
   * Says why the session ended: a warning for every reason but `logout()`, with the error, the server's last
   * refusal and what to check. Call it before the session's tokens are forgotten, so the log still redacts them.
   */
  loggedOut(reason: LoggedOutReason, error?: AuthedSocketError): void {
    if (reason === "logout") return this.narrate("logged out by logout()");
    const { refusal } = this;
    let line = `logged out (${reason})`;
    if (error) line += `: ${error.message}`;
    if (refusal && !error?.message.includes(refusal.message))
      line += `; the server's last refusal: ${describeRefusal(refusal)}`;
    this.log.warn(`${line}. ${HINTS[reason]}.`);
  }

  /**
   * `ERR_AUTH_REJECTED` for `count` fresh tokens refused in a row, quoting the server's last refusal and carrying
   * it as `cause`.
   */
  authRejected(count: number): AuthedSocketError {
    const { refusal } = this;
    const said = refusal ? `; the last refusal: ${describeRefusal(refusal)}` : "";
    return new AuthedSocketError(
      "ERR_AUTH_REJECTED",
      `the server refused ${count} fresh tokens in a row${said}`,
      refusal ? { cause: refusal } : undefined,
    );
  }

  /** What has gone wrong so far on this connection attempt, for a `waitFor` timeout: "" when nothing has. */
  explain(): string {
    const { refusal, lastTransportError } = this;
    if (refusal) return ` (the server's last refusal: ${describeRefusal(refusal)})`;
    if (lastTransportError)
      return ` (cannot reach ${this.shownUrl}: ${this.transportFailures} attempts, the last with ${describeTransportError(lastTransportError)})`;
    return "";
  }

  /**
   * Logs one failed refresh attempt: the first three and then every power of two at warn (a refresh that retries
   * for an hour must not print 120 warnings), the others at debug.
   */
  refreshFailed(error: AuthedSocketError, attempt: number, retryInMs: number | null): void {
    const next = retryInMs === null ? "giving up" : `retrying in ${seconds(retryInMs)}`;
    const line = `refresh attempt ${attempt} failed (${next}): ${error.message}`;
    if (attempt <= 3 || (attempt & (attempt - 1)) === 0 || retryInMs === null) this.log.warn(line);
    else this.log.debug(line);
  }

  /**
   * With `debug`: narrates disconnects, reconnect attempts and every lifecycle event; returns the function that
   * stops. Without `debug` nothing listens (no listener, no closure per client: the function returned is shared).
   */
  narrateLifecycle(socketLike: object, events: WatchedEvents): () => void {
    if (!this.debug) return noop;
    const socket = socketLike as WatchedSocket;
    const onDisconnect = (reason: string) => this.narrate(`disconnected: ${reason}`);
    const onAttempt = (attempt: number) => this.narrate(`reconnect attempt ${attempt}`);
    socket.on("disconnect", onDisconnect);
    socket.io.on("reconnect_attempt", onAttempt);
    const stops = [
      () => socket.off("disconnect", onDisconnect),
      () => socket.io.off("reconnect_attempt", onAttempt),
      events.on("state", ({ from, to }: { from: AuthedSocketState; to: AuthedSocketState }) =>
        this.narrate(`state ${from} → ${to}`),
      ),
      events.on("refreshing", ({ reason, attempt }) =>
        this.narrate(`refreshing (${reason})${attempt > 1 ? `, attempt ${attempt}` : ""}`),
      ),
      events.on("refreshed", ({ expiresAt }) => this.narrate(`refreshed: ${this.expiresIn(expiresAt)}`)),
      events.on("authenticated", ({ via, expiresAt }) =>
        this.narrate(`authenticated (${via}) with ${this.expiresIn(expiresAt)}`),
      ),
    ];
    return () => {
      for (const stop of stops.splice(0)) stop();
    };
  }
}

/** A `Diagnostics` from options (`now` a function of no arguments). */
export function createDiagnostics({ log, url, debug, now }: DiagnosticsOptions): Diagnostics {
  return new Diagnostics(log, url, debug, { now });
}

/**
 * Makes `diagnostics` listen on its own, for code that is not the client (the client calls it from its listeners):
 * `connect_error` and `connect`, plus the narration with `debug`; returns the function that stops. Attach it before
 * other listeners of those events. A function of this module rather than a method, so a bundle of the client alone
 * does not carry it.
 */
export function watch(diagnostics: Diagnostics, socketLike: object, events: WatchedEvents): () => void {
  const socket = socketLike as WatchedSocket;
  const onError = (error: SocketError) => diagnostics.connectError(error, socket.active);
  const onConnect = () => diagnostics.connected();
  socket.on("connect_error", onError);
  socket.on("connect", onConnect);
  const stopNarration = diagnostics.narrateLifecycle(socket, events);
  return () => {
    socket.off("connect_error", onError);
    socket.off("connect", onConnect);
    stopNarration();
  };
}
