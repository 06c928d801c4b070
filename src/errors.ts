/**
 * Every error the client raises or reports is an `AuthedSocketError` with a stable `code`, so callers can `switch`
 * on it instead of matching messages.
 */

export type AuthedSocketErrorCode =
  | "ERR_UNAUTHORIZED"
  | "ERR_REFRESH_FAILED"
  | "ERR_REFRESH_TIMEOUT"
  | "ERR_INVALID_TOKEN"
  | "ERR_AUTH_REJECTED"
  | "ERR_FORBIDDEN"
  | "ERR_REVOKED"
  | "ERR_CLOSED"
  | "ERR_LOGGED_OUT"
  | "ERR_ABORTED"
  | "ERR_WAIT_TIMEOUT";

export class AuthedSocketError extends Error {
  override name = "AuthedSocketError";
  readonly code: AuthedSocketErrorCode;

  constructor(code: AuthedSocketErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * Throw this from `refresh` (or `getToken`) to say the session is over — the refresh token was rejected, the user
 * must sign in again. The client moves to `logged_out("refresh_rejected")` and stops reconnecting.
 *
 * @example
 * ```ts
 * refresh: async () => {
 *   const res = await fetch("/refresh", { method: "POST", credentials: "include" });
 *   if (res.status === 401) throw new UnauthorizedError("refresh token rejected");
 *   return (await res.json()).accessToken;
 * }
 * ```
 */
export class UnauthorizedError extends AuthedSocketError {
  override name = "UnauthorizedError";
  constructor(message = "The session is no longer authorized", options?: { cause?: unknown }) {
    super("ERR_UNAUTHORIZED", message, options);
  }
}

/**
 * A refresh attempt failed for a reason that may pass (network, 5xx, timeout, a malformed answer). Throw one with
 * `retryAfterMs` when the token service said when to come back (`Retry-After`): the next attempt waits at least that
 * long, within `retry.maxDelayMs`.
 */
export class RefreshError extends AuthedSocketError {
  override name = "RefreshError";
  /** How long the token service asked the client to wait before the next attempt, if it said. */
  readonly retryAfterMs: number | undefined;
  constructor(
    code: "ERR_REFRESH_FAILED" | "ERR_REFRESH_TIMEOUT" | "ERR_INVALID_TOKEN",
    message: string,
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(code, message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/**
 * Every error this SDK raises, each `code` paired with its class (as jose's `AnyJOSEError`), so `switch (err.code)`
 * narrows: `ERR_UNAUTHORIZED` is an {@link UnauthorizedError}, the refresh codes a {@link RefreshError} (with
 * `retryAfterMs`), every other code a plain {@link AuthedSocketError}.
 */
export type AnyAuthedSocketError =
  | (UnauthorizedError & { readonly code: "ERR_UNAUTHORIZED" })
  | (RefreshError & { readonly code: "ERR_REFRESH_FAILED" | "ERR_REFRESH_TIMEOUT" | "ERR_INVALID_TOKEN" })
  | (AuthedSocketError & {
      readonly code: Exclude<
        AuthedSocketErrorCode,
        "ERR_UNAUTHORIZED" | "ERR_REFRESH_FAILED" | "ERR_REFRESH_TIMEOUT" | "ERR_INVALID_TOKEN"
      >;
    });

/** True for errors raised by this SDK; narrows to {@link AnyAuthedSocketError} so `code` can be switched on. */
export function isAuthedSocketError(value: unknown): value is AnyAuthedSocketError {
  return value instanceof AuthedSocketError;
}
