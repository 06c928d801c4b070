/**
 * The wire contract between the client and `authed-socket/server`. Both sides import these names so a rename can
 * never make them drift apart. Nothing here touches a socket.
 */

/** Codes a server puts on `connect_error` (`err.data.code`) to say why a handshake was refused. */
export const HandshakeErrorCode = {
  /** No token in the handshake: the client should obtain one and retry. */
  TokenMissing: "TOKEN_MISSING",
  /** The token did not verify (signature, issuer, audience, malformed): refresh and retry. */
  TokenInvalid: "TOKEN_INVALID",
  /** The token verified but has expired: refresh and retry. */
  TokenExpired: "TOKEN_EXPIRED",
  /** The token is fine but the user may not connect here: fatal, a refresh will not help. */
  Forbidden: "FORBIDDEN",
  /** The server could not verify right now (e.g. a JWKS fetch failed): retry later with the same token. */
  Unavailable: "UNAVAILABLE",
  /** The token verified but a revocation covers it (logout everywhere, a revoked `jti`): refresh; a refresh the
   * token service also refuses ends the session. */
  TokenRevoked: "TOKEN_REVOKED",
  /** Too many attempts: not a verdict on the token. Retry with the same token after `data.retryAfterMs`, no sooner. */
  RateLimited: "RATE_LIMITED",
} as const;

export type HandshakeErrorCode = (typeof HandshakeErrorCode)[keyof typeof HandshakeErrorCode];

/** Codes an in-band refresh can be refused with (`auth:refresh` ack `{ ok: false, code }`). */
export type InBandRefreshErrorCode =
  | "TOKEN_MISSING"
  | "TOKEN_INVALID"
  | "TOKEN_EXPIRED"
  | "FORBIDDEN"
  | "UNAVAILABLE"
  | "SUBJECT_MISMATCH"
  | "TOKEN_REVOKED"
  | "RATE_LIMITED";

/** Event names of the protocol. Reserved: applications should not emit these themselves. */
export const ProtocolEvent = {
  /** S→C: the handshake was accepted; `inBand: true` advertises `auth:refresh`. */
  Ready: "auth:ready",
  /** C→S with ack: rotate the token on the live connection. */
  Refresh: "auth:refresh",
  /** S→C: the server asks for a refresh now. */
  Expiring: "auth:expiring",
  /** S→C: the token ran out past the grace period; a disconnect follows. */
  Expired: "auth:expired",
  /** S→C: the session is over; a disconnect follows and the client must not reconnect. */
  Revoked: "auth:revoked",
  /** S→C: the new token's claims no longer allow these rooms; the socket has left them. The connection stays. */
  RoomsRevoked: "auth:rooms_revoked",
} as const;

/**
 * The version of this protocol the companion speaks, announced in `auth:ready { version }` (docs/protocol.md,
 * "Versioning"). Raised only for a change a client of the previous version would misread; additions that such a
 * client ignores (an optional field, a new event) keep it.
 */
export const PROTOCOL_VERSION = 1;

/** Payload of `auth:ready`. */
export interface ReadyPayload {
  /** Expiry of the accepted token, epoch milliseconds on the server's clock; null if it has none. */
  expiresAt: number | null;
  /** True when the server serves `auth:refresh`. */
  inBand: boolean;
  /**
   * The protocol version the server speaks ({@link PROTOCOL_VERSION}). Optional: servers written before it was added
   * send none, and a client treats a missing or unusable value as 1.
   */
  version?: number;
}

/** Payload the client sends with `auth:refresh`. */
export interface RefreshRequest {
  token: string;
}

/**
 * Ack of `auth:refresh`. `RATE_LIMITED` carries `retryAfterMs`: the connection keeps its token and the client may ask
 * again after that long, no sooner (a server may cut a socket that asks again before then).
 */
export type RefreshAck =
  | { ok: true; expiresAt: number | null }
  | { ok: false; code: Exclude<InBandRefreshErrorCode, "RATE_LIMITED"> }
  | { ok: false; code: "RATE_LIMITED"; retryAfterMs: number };

/** Payload of `auth:expiring`. */
export interface ExpiringPayload {
  expiresAt: number | null;
}

/** Payload of `auth:revoked`. */
export interface RevokedPayload {
  reason: string;
}

/** At most this many rooms in one `auth:rooms_revoked`; a server sends more in several messages. */
export const MAX_REVOKED_ROOMS = 256;

/** Payload of `auth:rooms_revoked`: the rooms the socket was made to leave, never its own id or user room. */
export interface RoomsRevokedPayload {
  rooms: string[];
}

/** Payload of the compatibility `auth_error` event some servers send after accepting a connection. */
export interface AuthErrorPayload {
  message?: string;
  code?: string;
}

/** Shape of `err.data` on a `connect_error` refused by `authed-socket/server`. */
export interface HandshakeErrorData {
  code: HandshakeErrorCode;
  /** With `RATE_LIMITED`: milliseconds to wait before the next handshake. */
  retryAfterMs?: number;
}

const handshakeCodes: ReadonlySet<string> = new Set(Object.values(HandshakeErrorCode));

/** True for any of the stable handshake codes. */
export function isHandshakeErrorCode(value: unknown): value is HandshakeErrorCode {
  return typeof value === "string" && handshakeCodes.has(value);
}
