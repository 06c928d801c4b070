/**
 * Pure timing maths: no timers, no clock reads. Everything here is a function of its arguments so it can be tested
 * exhaustively.
 */

/** setTimeout treats any delay above this as 1 ms (it is a signed 32-bit int), so longer waits must be chained. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** Clamps a delay into what setTimeout honours: negative and NaN become 0, huge values the 32-bit maximum. */
export function clampDelay(delayMs: number): number {
  if (!(delayMs > 0)) return 0;
  return Math.min(delayMs, MAX_TIMER_DELAY_MS);
}

export interface RefreshInstantInput {
  /** When the token expires, local epoch ms. */
  expiresAt: number;
  /** The token's whole lifetime in ms (exp − iat, or the remaining life when unknown). */
  lifetimeMs: number;
  /** How long before expiry to refresh, ms. */
  marginMs: number;
  /** Fraction of the margin, 0..1, added at random so a fleet of clients does not refresh in one instant. */
  jitter: number;
  /** A number in [0, 1): Math.random in production, fixed in tests. */
  random: number;
}

/**
 * The local instant at which to refresh: `expiresAt − margin − random·jitter·margin`. The margin is capped at half
 * the lifetime, so a margin larger than a short token's life cannot cause a refresh loop: a fresh token always
 * lives at least half its lifetime before it is refreshed.
 */
export function refreshInstant({
  expiresAt,
  lifetimeMs,
  marginMs,
  jitter,
  random,
}: RefreshInstantInput): number {
  const half = Math.max(0, lifetimeMs) / 2;
  const spread = Math.min(Math.max(0, marginMs) * (1 + jitter), half);
  const base = Math.min(Math.max(0, marginMs), spread);
  return expiresAt - base - random * (spread - base);
}

export interface BackoffInput {
  /** 1 for the first retry. */
  attempt: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A number in [0, 1). */
  random: number;
}

/**
 * Exponential backoff with full jitter: a uniform pick in `[0, min(max, base·2^(attempt−1))]`. Full jitter spreads
 * a fleet that failed together (a refresh endpoint that went down) so it does not come back together.
 */
export function backoffDelay({ attempt, baseDelayMs, maxDelayMs, random }: BackoffInput): number {
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(Math.max(attempt, 1) - 1, 52));
  return Math.floor(random * ceiling);
}
