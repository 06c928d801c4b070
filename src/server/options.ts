/**
 * The options of `authenticate()` (the interface is the documentation) and the one place where they are checked and
 * defaults applied.
 */

import type { DefaultEventsMap, ExtendedError, Socket } from "socket.io";
import type { MeterLike as Meter } from "../meter.js";
import type { InBandRefreshErrorCode } from "../protocol.js";
import { type ServerClock, systemClock } from "./clock.js";
import { type ServerMetrics, serverMetrics } from "./metrics.js";
import { normalizeRateLimits, type RateLimitOptions, type RateLimits } from "./rate-limit.js";
import { memoryRevocationStore, type RevocationStore } from "./revocation.js";
import type { JwtClaims, Verify } from "./verifier.js";

/** What `authenticate()` puts on `socket.data.auth` once a token is accepted. No token is ever stored. */
export interface AuthData<C extends object = JwtClaims> {
  /** Whom the token belongs to (by default its `sub` claim). Never changes for the life of a socket. */
  subject: string;
  /** The verified claims of the current token; replaced by an in-band refresh. */
  claims: C;
  /** Expiry of the current token, epoch milliseconds on the server's clock; null for a token without `exp`. */
  expiresAt: number | null;
}

/**
 * The `SocketData` shape `authenticate()` fills in. Intersect it with your own:
 * `new Server<ClientToServer, ServerToClient, InterServer, MyData & AuthSocketData>()`.
 */
export interface AuthSocketData<C extends object = JwtClaims> {
  auth: AuthData<C>;
}

/**
 * What the middlewares need from a socket. Every socket.io `Socket<…>` fits, whatever its event maps, provided its
 * `SocketData` does not give `auth` a different type.
 */
export interface MiddlewareSocket<C extends object = JwtClaims> {
  readonly id: string;
  readonly handshake: Socket["handshake"];
  data: Partial<AuthSocketData<C>>;
}

/** A socket.io middleware as `io.use()` and `namespace.use()` accept it. */
export type SocketMiddleware<C extends object = JwtClaims> = (
  socket: MiddlewareSocket<C>,
  next: (err?: ExtendedError) => void,
) => void;

/** The socket handed to hooks: a server socket with untyped events (hooks read the handshake, not the events). */
export type HookSocket = Socket<
  DefaultEventsMap,
  DefaultEventsMap,
  DefaultEventsMap,
  Record<string, unknown>
>;

/** Where the handshake token is read from. */
export type TokenSource = "auth" | "header";

/** Why a handshake, an in-band refresh or a recovered session was refused; for your logs. */
export interface AuthRejection {
  /**
   * When it happened: at the handshake, on `auth:refresh`, when a recovered session was re-checked, or when a live
   * socket was found covered by a revocation on its re-check after it joined its user room.
   */
  phase: "handshake" | "refresh" | "recovery" | "revocation";
  /** The code the client was sent. */
  code: InBandRefreshErrorCode;
  /** With `RATE_LIMITED`: the wait the client was told. */
  retryAfterMs?: number;
  /** The socket's id. */
  socketId: string;
  /** What the verifier or hook threw, if anything. Server-side only: it may quote the token, so log it with care. */
  error?: unknown;
}

/** Options of {@link authenticate}. */
export interface AuthenticateOptions<C extends object = JwtClaims> {
  /**
   * Turns a token into claims, or throws. Use {@link jwtVerifier} or your own function; throw a `VerifyError` to
   * choose the handshake code, anything else is reported as `TOKEN_INVALID`.
   */
  verify: Verify<C>;
  /**
   * Where to look for the token, in order. `"auth"` reads `socket.handshake.auth.token` (what socket.io-client sends
   * in `auth`); `"header"` reads `Authorization: Bearer <token>` (Node and React Native clients can set headers,
   * browsers' WebSocket cannot).
   * @default ["auth"]
   */
  tokenFrom?: readonly TokenSource[];
  /**
   * A token (or `Authorization` header) longer than this many characters is refused with `TOKEN_INVALID` before
   * anything reads it — no scan, no verifier call — so a hostile client cannot make the server work on megabytes.
   * @default 8192
   */
  maxTokenBytes?: number;
  /**
   * A session restored by `connectionStateRecovery` must present a token (every authed-socket client sends one);
   * one that brings only socket.io's recovery credentials is cut with `auth:expired`, which sends a well-behaved
   * client through a fresh handshake. `false` lets such a session live on its stored claims until they expire.
   * @default true
   */
  requireTokenOnRecovery?: boolean;
  /**
   * Extracts the user's identity from the claims. It names the user room and must stay the same across in-band
   * refreshes. A missing or empty subject refuses the token with `TOKEN_INVALID`.
   * @default (claims) => claims.sub
   */
  subject?: (claims: C) => string;
  /**
   * May this user connect here? `false` refuses with `FORBIDDEN` (fatal for the client). Runs at the handshake and
   * again on every in-band refresh with the new claims. A throw refuses with `UNAVAILABLE` unless it is a `VerifyError`.
   * @default undefined (everyone with a valid token)
   */
  authorize?: (claims: C, socket: HookSocket) => boolean | Promise<boolean>;
  /**
   * Is this token revoked (your own `jti` deny-list)? `true` refuses the handshake or the in-band refresh with
   * `TOKEN_REVOKED` and cuts a recovered session with `auth:revoked`. For revocations that cut live sockets on every
   * node too, use `revocations` and `revokeSessions()`.
   * A throw refuses with `UNAVAILABLE` unless it is a `VerifyError`.
   * @default undefined (nothing is revoked)
   */
  isRevoked?: (claims: C) => boolean | Promise<boolean>;
  /**
   * Where `revokeSessions()` records revocations and where every handshake, in-band refresh and restored session
   * is checked against them (after verification, right before it is accepted, and again once the socket has joined
   * its user room). Share one store between the namespaces you revoke together; in a cluster use
   * `redisRevocationStore()` so every node sees every revocation.
   * @default memoryRevocationStore() (this process only)
   */
  revocations?: RevocationStore;
  /**
   * Rate limits on handshakes and in-band refreshes, per IP and per subject, with rate-limiter-flexible limiters. A
   * limited handshake is refused with `RATE_LIMITED` and `data.retryAfterMs`; a limited refresh is acked
   * `{ ok: false, code: "RATE_LIMITED", retryAfterMs }`, and a socket that asks again before that wait is over is cut.
   * @default {} (no limits: the right store and the right client address depend on the deployment)
   */
  rateLimit?: RateLimitOptions;
  /**
   * How long before expiry the server sends `auth:expiring`, asking the client to refresh now. A token whose last
   * tenth is shorter (lifetime from `iat`) gets it in that last tenth instead, once.
   * @default 30_000
   */
  expiringBeforeMs?: number;
  /**
   * How long past expiry a connection may live before `auth:expired` and the disconnect, so a refresh that is
   * under way when the token runs out can still land.
   * @default 5000
   */
  graceMs?: number;
  /**
   * Serve `auth:refresh` (token rotation on the live connection) and advertise it in `auth:ready`.
   * @default true
   */
  inBand?: boolean;
  /**
   * Join every socket to {@link userRoom}(subject), which `disconnectUser()` and `countConnections()` rely on.
   * @default true
   */
  joinUserRoom?: boolean;
  /**
   * Who may be in which rooms: `rooms(claims, room, socket)` returns `true` to allow. With it, `socket.join` of a
   * room it refuses is dropped (the socket does not join; `join` returns as usual, so no client input can throw
   * into the app), and after every in-band refresh, and on every restored session, the rooms the socket is in are
   * checked again with the new claims: those refused are left and named to the client (`auth:rooms_revoked
   * { rooms }`, the client's `rooms_left` event). The socket's own id room and its user room are never checked.
   * It must answer at once; a throw or anything but `true` refuses. Rooms newly allowed are not joined.
   * @default undefined (no room guard: every join is allowed)
   */
  rooms?: (claims: C, room: string, socket: HookSocket) => boolean;
  /**
   * Clock and timers for the expiry watchdog; tests inject one to count pending timers or run on fake time.
   * @default the system clock
   */
  clock?: ServerClock;
  /**
   * Called for every refusal, with the cause, so the server can log why (e.g. a JWKS outage). Errors it throws are
   * ignored.
   * @default undefined
   */
  onReject?: (rejection: AuthRejection) => void;
  /**
   * An OpenTelemetry `Meter` (`metrics.getMeter("authed-socket")`) to record handshakes, in-band refreshes, expiry
   * cuts, revocations, rate-limited refusals and verification time on; docs/metrics.md lists every instrument.
   * Without one nothing is recorded and `@opentelemetry/api` is never needed.
   * @default undefined (no metrics)
   */
  meter?: Meter;
}

/** Options after validation, with every default applied. Internal. */
export interface AuthContext {
  verify: Verify<object>;
  tokenFrom: readonly TokenSource[];
  maxTokenBytes: number;
  requireTokenOnRecovery: boolean;
  subjectOf: (claims: object) => unknown;
  authorize: ((claims: object, socket: HookSocket) => boolean | Promise<boolean>) | undefined;
  isRevoked: ((claims: object) => boolean | Promise<boolean>) | undefined;
  revocations: RevocationStore;
  limits: RateLimits;
  expiringBeforeMs: number;
  graceMs: number;
  inBand: boolean;
  joinUserRoom: boolean;
  rooms: ((claims: object, room: string, socket: HookSocket) => boolean) | undefined;
  clock: ServerClock;
  onReject: (rejection: AuthRejection) => void;
  metrics: ServerMetrics;
}

const defaultSubject = (claims: object): unknown => (claims as { sub?: unknown }).sub;

/** Validates options at creation and throws a `TypeError` naming the option at fault. */
export function normalizeOptions<C extends object>(options: AuthenticateOptions<C>): AuthContext {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("authenticate: options must be an object with a `verify` function");
  }
  const {
    verify,
    tokenFrom = ["auth"],
    maxTokenBytes = 8192,
    requireTokenOnRecovery = true,
    subject,
    authorize,
    isRevoked,
    revocations,
    rateLimit,
    expiringBeforeMs = 30_000,
    graceMs = 5000,
    inBand = true,
    joinUserRoom = true,
    rooms,
    clock = systemClock,
    onReject,
    meter,
  } = options;
  if (typeof verify !== "function") {
    throw new TypeError(
      "authenticate: `verify` must be a function (token) => claims, e.g. jwtVerifier({...})",
    );
  }
  if (
    !Array.isArray(tokenFrom) ||
    tokenFrom.length === 0 ||
    !tokenFrom.every((source) => source === "auth" || source === "header")
  ) {
    throw new TypeError('authenticate: `tokenFrom` must be a non-empty array of "auth" and/or "header"');
  }
  if (!Number.isInteger(maxTokenBytes) || maxTokenBytes < 1)
    throw new TypeError(
      `authenticate: \`maxTokenBytes\` must be a positive integer (got ${String(maxTokenBytes)})`,
    );
  if (typeof requireTokenOnRecovery !== "boolean")
    throw new TypeError("authenticate: `requireTokenOnRecovery` must be a boolean");
  checkOptionalFunction("subject", subject);
  checkOptionalFunction("authorize", authorize);
  checkOptionalFunction("isRevoked", isRevoked);
  checkOptionalFunction("onReject", onReject);
  checkOptionalFunction("rooms", rooms);
  if (
    revocations !== undefined &&
    (typeof revocations !== "object" ||
      revocations === null ||
      typeof revocations.add !== "function" ||
      typeof revocations.find !== "function")
  )
    throw new TypeError(
      "authenticate: `revocations` must be a revocation store with add() and find(), e.g. redisRevocationStore({ client })",
    );
  const limits = normalizeRateLimits(rateLimit);
  checkDuration("expiringBeforeMs", expiringBeforeMs);
  checkDuration("graceMs", graceMs);
  if (typeof inBand !== "boolean") throw new TypeError("authenticate: `inBand` must be a boolean");
  if (typeof joinUserRoom !== "boolean")
    throw new TypeError("authenticate: `joinUserRoom` must be a boolean");
  if (
    typeof clock !== "object" ||
    clock === null ||
    typeof clock.now !== "function" ||
    typeof clock.setTimeout !== "function" ||
    typeof clock.clearTimeout !== "function"
  ) {
    throw new TypeError("authenticate: `clock` must have now(), setTimeout() and clearTimeout()");
  }
  const metrics = serverMetrics(meter);
  return {
    verify: metrics.timeVerify(verify as Verify<object>),
    tokenFrom: [...tokenFrom],
    maxTokenBytes,
    requireTokenOnRecovery,
    subjectOf: (subject as ((claims: object) => unknown) | undefined) ?? defaultSubject,
    authorize: authorize as AuthContext["authorize"],
    isRevoked: isRevoked as AuthContext["isRevoked"],
    revocations: revocations ?? memoryRevocationStore({ clock }),
    limits,
    expiringBeforeMs,
    graceMs,
    inBand,
    joinUserRoom,
    rooms: rooms as AuthContext["rooms"],
    clock,
    onReject: (rejection) => {
      try {
        onReject?.(rejection);
      } catch {
        // A logging hook must not turn a refusal into a crash.
      }
    },
    metrics,
  };
}

function checkOptionalFunction(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== "function") {
    throw new TypeError(`authenticate: \`${name}\` must be a function`);
  }
}

function checkDuration(name: string, value: unknown): void {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`authenticate: \`${name}\` must be a non-negative number of milliseconds`);
  }
}
