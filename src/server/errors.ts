/**
 * Errors of the server companion. A verifier says *why* a token was refused by throwing a `VerifyError` with one of
 * the stable handshake codes; the middleware turns that into `connect_error` with `err.data.code`.
 */
import type { ExtendedError } from "socket.io";
import { type HandshakeErrorCode, type HandshakeErrorData, isHandshakeErrorCode } from "../protocol.js";

/**
 * Thrown by a verifier (built-in or your own) to refuse a token with a specific handshake code. Anything else a
 * verifier throws is reported as `TOKEN_INVALID`.
 *
 * @example
 * ```ts
 * const verify = async (token: string) => {
 *   const session = await sessions.lookup(token).catch((cause) => {
 *     throw new VerifyError("UNAVAILABLE", "session store unreachable", { cause });
 *   });
 *   if (!session) throw new VerifyError("TOKEN_INVALID", "unknown session");
 *   return { sub: session.userId, exp: session.expiresAtSec };
 * };
 * ```
 */
export class VerifyError extends Error {
  override name = "VerifyError" as const;
  /** The handshake code the client will see in `err.data.code`. */
  readonly code: HandshakeErrorCode;

  constructor(
    code: HandshakeErrorCode,
    message: string = defaultMessage(code),
    options?: { cause?: unknown },
  ) {
    super(message, options);
    if (!isHandshakeErrorCode(code)) {
      throw new TypeError(`VerifyError: unknown code ${JSON.stringify(code)}`);
    }
    this.code = code;
  }
}

/**
 * Recognises a `VerifyError` by shape as well as by class: the package ships ESM and CJS builds, and a verifier that
 * imported the other build throws an instance of a different class object.
 */
export function asVerifyError(value: unknown): VerifyError | undefined {
  if (value instanceof VerifyError) return value;
  if (
    value instanceof Error &&
    value.name === "VerifyError" &&
    isHandshakeErrorCode((value as { code?: unknown }).code)
  ) {
    return value as VerifyError;
  }
  return undefined;
}

/** The human messages sent to clients. Fixed strings, so a token can never leak into a `connect_error`. */
export function defaultMessage(code: HandshakeErrorCode): string {
  switch (code) {
    case "TOKEN_MISSING":
      return "Authentication required: no token was sent";
    case "TOKEN_INVALID":
      return "Authentication failed: the token is invalid";
    case "TOKEN_EXPIRED":
      return "Authentication failed: the token has expired";
    case "FORBIDDEN":
      return "Forbidden: this user may not connect here";
    case "UNAVAILABLE":
      return "Authentication is unavailable right now; retry later";
    case "TOKEN_REVOKED":
      return "Authentication failed: the token has been revoked";
    case "RATE_LIMITED":
      return "Too many attempts; retry later";
  }
}

/** The error handed to socket.io's `next(err)`: socket.io forwards `message` and `data` to the client. */
export function handshakeError(
  code: HandshakeErrorCode,
  message: string = defaultMessage(code),
  retryAfterMs?: number,
): ExtendedError {
  const error: ExtendedError = new Error(message);
  const data: HandshakeErrorData = retryAfterMs === undefined ? { code } : { code, retryAfterMs };
  error.data = data;
  return error;
}

/**
 * Keeps a verifier's own message only when it cannot carry the token: custom verifiers sometimes echo their input
 * ("bad token eyJ…"), and that text would travel to the client and into its logs.
 */
export function safeMessage(code: HandshakeErrorCode, message: string, token: unknown): string {
  if (message.length === 0 || message.length > 200) return defaultMessage(code);
  if (typeof token === "string") {
    // Any 8 consecutive characters of the token count, so a partial quote ("unknown session eyJhbGciOi…") is caught
    // too; shorter pieces would match ordinary words and carry no secret.
    for (let i = 0; i + 8 <= token.length; i++)
      if (message.includes(token.slice(i, i + 8))) return defaultMessage(code);
  }
  return message;
}
