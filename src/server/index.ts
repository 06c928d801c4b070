/**
 * `authed-socket/server`: the companion for a `socket.io` server. Every public name is exported here, by name.
 */

export type { MeterLike } from "../meter.js";
export type {
  AuthErrorPayload,
  ExpiringPayload,
  HandshakeErrorData,
  InBandRefreshErrorCode,
  ReadyPayload,
  RefreshAck,
  RefreshRequest,
  RevokedPayload,
  RoomsRevokedPayload,
} from "../protocol.js";
export { HandshakeErrorCode, PROTOCOL_VERSION, ProtocolEvent } from "../protocol.js";
export { authenticate, type GuardTarget, guardRecovered } from "./authenticate.js";
export { requireClaims } from "./claims.js";
export type { ServerClock } from "./clock.js";
export { VerifyError } from "./errors.js";
export type {
  AuthData,
  AuthenticateOptions,
  AuthRejection,
  AuthSocketData,
  HookSocket,
  MiddlewareSocket,
  SocketMiddleware,
  TokenSource,
} from "./options.js";
export type { RateLimiterLike, RateLimitOptions } from "./rate-limit.js";
export {
  type MemoryRevocationStoreOptions,
  memoryRevocationStore,
  type Revocation,
  type RevocationStore,
  type RevocationTarget,
} from "./revocation.js";
export {
  type RedisCommandClient,
  type RedisRevocationStoreOptions,
  redisRevocationStore,
} from "./revocation-redis.js";
export { type RevokeOptions, type RevokeResult, revokeSessions } from "./revoke.js";
export { countConnections, disconnectUser, type RoomOperator, type RoomsTarget, userRoom } from "./users.js";
export {
  type AsymmetricAlgorithm,
  type HmacAlgorithm,
  type JwksVerifierOptions,
  type JwtAlgorithm,
  type JwtClaims,
  type JwtVerifierCommonOptions,
  type JwtVerifierOptions,
  jwtVerifier,
  type PublicKeyInput,
  type PublicKeyVerifierOptions,
  type SecretVerifierOptions,
  type Verify,
} from "./verifier.js";
