/**
 * Rate limits on handshakes and in-band refreshes, per IP and per subject, counted by rate-limiter-flexible
 * limiters the application builds (memory, Redis, cluster…). The companion only asks `consume(key)` and reads the
 * answer: a `RateLimiterRes` rejection means "limited, retry after `msBeforeNext`", an `Error` means the limiter's
 * store failed.
 */
import type { Socket } from "socket.io";

/** The server socket an `ipOf` hook reads (its handshake). */
type HookSocket = Socket;

/**
 * What the companion needs from a limiter: rate-limiter-flexible's `consume(key, points)`. Every limiter it ships
 * (`RateLimiterMemory`, `RateLimiterRedis`, `RateLimiterCluster`, with or without an `insuranceLimiter`) fits.
 */
export interface RateLimiterLike {
  consume(key: string, points?: number): Promise<unknown>;
}

/**
 * Limits for {@link AuthenticateOptions.rateLimit}. Each is optional; none is set by default (see docs/server.md,
 * "Rate limits", for why and for recommended values).
 */
export interface RateLimitOptions {
  /**
   * Handshakes per client IP, counted before the token is read or verified, so a flood costs no verification.
   * Key: `ip:<address>`.
   */
  handshakePerIp?: RateLimiterLike;
  /** Handshakes per verified subject (a stolen token replayed from many addresses). Key: `sub:<subject>`. */
  handshakePerSubject?: RateLimiterLike;
  /** In-band refreshes (`auth:refresh`) per client IP, counted before verification. Key: `ip:<address>`. */
  refreshPerIp?: RateLimiterLike;
  /** In-band refreshes per subject, counted after verification. Key: `sub:<subject>`. */
  refreshPerSubject?: RateLimiterLike;
  /**
   * The client's address. Behind a proxy every socket has the proxy's address: read the forwarded one here, but
   * only from a proxy you trust to set it.
   * @default (socket) => socket.handshake.address
   */
  ipOf?: (socket: HookSocket) => string;
}

/** Rate limits after validation. Internal. */
export interface RateLimits {
  handshakePerIp: RateLimiterLike | undefined;
  handshakePerSubject: RateLimiterLike | undefined;
  refreshPerIp: RateLimiterLike | undefined;
  refreshPerSubject: RateLimiterLike | undefined;
  ipOf: (socket: HookSocket) => string;
}

/** The outcome of one `consume`, as a value. */
export type LimitVerdict =
  | { kind: "allowed" }
  | { kind: "limited"; retryAfterMs: number }
  | { kind: "failed"; error: unknown };

const defaultIpOf = (socket: HookSocket): string => String(socket.handshake?.address ?? "");

const LIMITER_NAMES = ["handshakePerIp", "handshakePerSubject", "refreshPerIp", "refreshPerSubject"] as const;

/** Validates `rateLimit` and throws a `TypeError` naming the field at fault. */
export function normalizeRateLimits(options: RateLimitOptions | undefined): RateLimits {
  if (options === undefined) return { ...noLimits };
  if (typeof options !== "object" || options === null)
    throw new TypeError("authenticate: `rateLimit` must be an object of rate-limiter-flexible limiters");
  for (const name of LIMITER_NAMES) {
    const limiter = options[name];
    if (limiter !== undefined && typeof (limiter as { consume?: unknown })?.consume !== "function")
      throw new TypeError(
        `authenticate: \`rateLimit.${name}\` must be a rate limiter with consume(key), e.g. new RateLimiterMemory({ points: 20, duration: 10 })`,
      );
  }
  if (options.ipOf !== undefined && typeof options.ipOf !== "function")
    throw new TypeError("authenticate: `rateLimit.ipOf` must be a function (socket) => string");
  return {
    handshakePerIp: options.handshakePerIp,
    handshakePerSubject: options.handshakePerSubject,
    refreshPerIp: options.refreshPerIp,
    refreshPerSubject: options.refreshPerSubject,
    ipOf: options.ipOf ?? defaultIpOf,
  };
}

const noLimits: RateLimits = {
  handshakePerIp: undefined,
  handshakePerSubject: undefined,
  refreshPerIp: undefined,
  refreshPerSubject: undefined,
  ipOf: defaultIpOf,
};

/** Consumes one point of `limiter` for `key`; no limiter allows everything. Never throws. */
export async function consume(limiter: RateLimiterLike | undefined, key: string): Promise<LimitVerdict> {
  if (!limiter) return { kind: "allowed" };
  try {
    await limiter.consume(key, 1);
    return { kind: "allowed" };
  } catch (rejection) {
    // rate-limiter-flexible rejects with a RateLimiterRes when the key is over its points, with an Error otherwise.
    const wait =
      rejection instanceof Error ? undefined : (rejection as { msBeforeNext?: unknown })?.msBeforeNext;
    if (typeof wait === "number" && Number.isFinite(wait) && wait >= 0)
      return { kind: "limited", retryAfterMs: Math.max(1, Math.ceil(wait)) };
    return { kind: "failed", error: rejection };
  }
}

/** The key of a client address for the IP limiters; a hook that throws or returns nothing keys on "unknown". */
export function ipKey(limits: RateLimits, socket: HookSocket): string {
  let ip: unknown;
  try {
    ip = limits.ipOf(socket);
  } catch {
    ip = undefined;
  }
  return `ip:${typeof ip === "string" && ip.length > 0 ? ip.slice(0, 100) : "unknown"}`;
}

/** The key of a subject for the subject limiters. */
export function subjectKey(subject: string): string {
  return `sub:${subject}`;
}
