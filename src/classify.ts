import { HandshakeErrorCode } from "./protocol.js";

/**
 * What a `connect_error` refused by the server means for the client:
 * - `"auth"`: the token was refused; refresh (forced) and re-handshake.
 * - `"fatal"`: the user may not connect (FORBIDDEN, HTTP 403); a new token will not help.
 * - `"retry"`: the server could not decide right now (UNAVAILABLE); retry later with the same token.
 * - `"rate_limited"`: too many attempts (RATE_LIMITED); transient, never a rejection: retry with the same token
 *   after at least `retryAfterMs` ({@link retryDelay}).
 * - `"other"`: not about auth (e.g. a custom middleware's refusal); retry later with backoff.
 */
export type Refusal = "auth" | "fatal" | "retry" | "rate_limited" | "other";

/** Codes other servers commonly put on `err.data` (express-jwt, koa-jwt style) that mean "the token is bad". */
const AUTH_CODES = new Set<unknown>([
  HandshakeErrorCode.TokenMissing,
  HandshakeErrorCode.TokenInvalid,
  HandshakeErrorCode.TokenExpired,
  HandshakeErrorCode.TokenRevoked,
  "invalid_token",
  "credentials_required",
  "revoked_token",
  "UNAUTHORIZED",
  "UNAUTHENTICATED",
]);

/**
 * Messages people's middlewares send when the token is missing, expired or invalid. "Connection rejected by server"
 * is what python-socketio says for a connect handler that returns False or raises a bare ConnectionRefusedError:
 * that handler is where Flask-SocketIO apps check the token.
 */
const AUTH_MESSAGE =
  /invalid or expired token|connection rejected by server|token (is )?(required|missing|expired|invalid)|no token|authentication (token )?required|authentication (failed|error)|not authenticated|unauthori[sz]ed|jwt (expired|malformed|must be provided)|invalid (token|signature|jwt)|expired token|token has expired/i;

/**
 * Decides, in order, with one reason per line:
 * 1. a stable code in `err.data.code` (ours, or common ones) is authoritative;
 * 2. an HTTP-like status in `err.data.status` / `statusCode` (401 auth, 403 fatal);
 * 3. the user's `isAuthError`, when it returns a boolean, overrides the guesses below;
 * 4. the message, matched against what common middlewares say.
 */
export function classifyRefusal(
  error: Error & { data?: unknown },
  isAuthError?: (error: Error & { data?: unknown }) => boolean | undefined,
): Refusal {
  let code: unknown;
  let status: unknown;
  try {
    const data = error.data;
    if (data !== null && typeof data === "object") {
      const fields = data as Record<string, unknown>;
      code = fields.code;
      status = fields.status ?? fields.statusCode;
    }
  } catch {
    // A hostile `data` (a throwing getter) says nothing reliable: the rules below decide.
  }
  if (code === HandshakeErrorCode.Forbidden) return "fatal";
  if (code === HandshakeErrorCode.Unavailable) return "retry";
  if (code === HandshakeErrorCode.RateLimited) return "rate_limited";
  if (AUTH_CODES.has(code)) return "auth";
  if (status === 401) return "auth";
  if (status === 403) return "fatal";
  let verdict: boolean | undefined;
  try {
    verdict = isAuthError?.(error);
  } catch {
    // A bug in the app's classifier must not stall the connection: fall back to the built-in rules.
    verdict = undefined;
  }
  if (typeof verdict === "boolean") return verdict ? "auth" : "other";
  let message = "";
  try {
    message = String(error.message);
  } catch {
    // as above
  }
  return AUTH_MESSAGE.test(message) ? "auth" : "other";
}

/** Longest wait a server may ask for: a hostile or broken `retryAfterMs` must not park the client for days. */
const MAX_RETRY_AFTER_MS = 10 * 60_000;

/**
 * The `retryAfterMs` a rate-limited refusal carries, on a `connect_error` (`err.data.retryAfterMs`) or on an
 * `auth:refresh` ack (`ack.retryAfterMs`): a finite number ≥ 0, capped at 10 minutes; undefined when absent or not a
 * number.
 */
export function retryAfterOf(refusal: unknown): number | undefined {
  let value: unknown;
  try {
    if (refusal === null || typeof refusal !== "object") return undefined;
    const data = (refusal as { data?: unknown }).data;
    const holder = data !== null && typeof data === "object" ? data : refusal;
    value = (holder as { retryAfterMs?: unknown }).retryAfterMs;
  } catch {
    return undefined; // a throwing getter says nothing
  }
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) return undefined;
  return Math.min(Math.ceil(value), MAX_RETRY_AFTER_MS);
}

/**
 * How long to wait before the next attempt after a transient refusal: the backoff, but never less than the
 * `retryAfterMs` the server asked for.
 */
export function retryDelay(refusal: unknown, backoffMs: number): number {
  return Math.max(backoffMs, retryAfterOf(refusal) ?? 0);
}
