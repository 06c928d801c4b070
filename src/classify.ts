import { HandshakeErrorCode } from "./protocol.js";

/**
 * What a `connect_error` refused by the server means for the client:
 * - `"auth"`: the token was refused; refresh (forced) and re-handshake.
 * - `"fatal"`: the user may not connect (FORBIDDEN, HTTP 403); a new token will not help.
 * - `"retry"`: the server could not decide right now (UNAVAILABLE); retry later with the same token.
 * - `"other"`: not about auth (e.g. a custom middleware's refusal); retry later with backoff.
 */
export type Refusal = "auth" | "fatal" | "retry" | "other";

/** Codes other servers commonly put on `err.data` (express-jwt, koa-jwt style) that mean "the token is bad". */
const AUTH_CODES = new Set<unknown>([
  HandshakeErrorCode.TokenMissing,
  HandshakeErrorCode.TokenInvalid,
  HandshakeErrorCode.TokenExpired,
  "invalid_token",
  "credentials_required",
  "UNAUTHORIZED",
  "UNAUTHENTICATED",
]);

/** Messages people's middlewares send when the token is missing, expired or invalid. */
const AUTH_MESSAGE =
  /invalid or expired token|token (is )?(required|missing|expired|invalid)|no token|authentication (token )?required|authentication (failed|error)|not authenticated|unauthori[sz]ed|jwt (expired|malformed|must be provided)|invalid (token|signature|jwt)|expired token|token has expired/i;

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
  const data = (error.data !== null && typeof error.data === "object" ? error.data : {}) as Record<
    string,
    unknown
  >;
  const code = data.code;
  if (code === HandshakeErrorCode.Forbidden) return "fatal";
  if (code === HandshakeErrorCode.Unavailable) return "retry";
  if (AUTH_CODES.has(code)) return "auth";
  const status = data.status ?? data.statusCode;
  if (status === 401) return "auth";
  if (status === 403) return "fatal";
  const verdict = isAuthError?.(error);
  if (typeof verdict === "boolean") return verdict ? "auth" : "other";
  return AUTH_MESSAGE.test(String(error.message)) ? "auth" : "other";
}
