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
 * The refresh instant before the window (kept for comparison, bench/spread.ts): `expiresAt − margin −
 * random·jitter·margin`. It spreads a fleet over `jitter·margin` only (under 1 % of a 1-hour lifetime). The margin is capped at half
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

/**
 * The most a proactive refresh leaves before expiry for its own sake: enough for a refresh round trip and a
 * re-handshake on a slow mobile link (each well under a second at p99) plus one quick retry. The floor actually used
 * is measured (`refreshFloor`): four times the slowest recent refresh, between MIN_REFRESH_FLOOR_MS and this; until a
 * refresh was timed, this. It is capped at half the lifetime, so a token shorter than twice the floor still lives
 * half its life before it is refreshed (no refresh loop). Clock skew and `iat`'s whole seconds are accounted for
 * separately (expiry.ts), before this.
 */
export const REFRESH_FLOOR_MS = 2000;

/** The least floor: absorbs a late timer on a loaded event loop and the drain before a re-handshake. */
export const MIN_REFRESH_FLOOR_MS = 250;

/**
 * The floor for the next refresh window, from the slowest of the recent refresh round trips (null: none timed yet):
 * a refresh that takes 20 ms on a LAN need not leave 2 s, which for a 3-s token is most of its life.
 */
export function refreshFloor(slowestRefreshMs: number | null): number {
  if (slowestRefreshMs === null || !(slowestRefreshMs >= 0)) return REFRESH_FLOOR_MS;
  return Math.min(REFRESH_FLOOR_MS, Math.max(MIN_REFRESH_FLOOR_MS, 4 * slowestRefreshMs));
}

/**
 * The refresh window's width as a fraction of the lifetime: a fleet sharing one `exp` spreads over this much. A
 * quarter, so that the spread a finite fleet actually shows (500 uniform picks cover ~99.6 % of the window) stays
 * above the 20 % that client-go's 70–90 % gives.
 */
export const REFRESH_WINDOW = 0.25;

/** Where the window ends by default, as the fraction of the lifetime left: with the width, 65–90 % of the lifetime. */
export const REFRESH_WINDOW_END_LEAD = 0.1;

export interface RefreshWindowInput {
  /** When the token expires, local epoch ms. */
  expiresAt: number;
  /** The token's whole lifetime in ms. */
  lifetimeMs: number;
  /**
   * The least time to leave before expiry, chosen by the app (`refreshMarginMs`); undefined for the default, 10 % of
   * the lifetime. Raised to the floor and capped at 65 % of the lifetime so the window always fits.
   */
  marginMs?: number;
  /** The least lead before expiry (`refreshFloor`); REFRESH_FLOOR_MS when absent. Capped at half the lifetime. */
  floorMs?: number;
}

/** The earliest and latest local instants (epoch ms) of a token's refresh window. */
export interface RefreshWindow {
  earliest: number;
  latest: number;
}

/**
 * The window in which a token is refreshed: 25 % of its lifetime wide, ending `max(margin, floor)` before expiry
 * (65–90 % of the lifetime by default; Kubernetes client-go's certificate rotation uses 70–90 %). For a short token the
 * floor moves the window earlier rather than narrowing it, so the fleet spread is the same share for every length.
 */
export function refreshWindow({
  expiresAt,
  lifetimeMs,
  marginMs,
  floorMs = REFRESH_FLOOR_MS,
}: RefreshWindowInput): RefreshWindow {
  const life = lifetimeMs > 0 ? lifetimeMs : 0;
  const floor = Math.min(floorMs, life / 2);
  const wanted = marginMs !== undefined && marginMs >= 0 ? marginMs : life * REFRESH_WINDOW_END_LEAD;
  const endLead = Math.min(Math.max(wanted, floor), life * (1 - REFRESH_WINDOW - 0.1));
  return { earliest: expiresAt - endLead - life * REFRESH_WINDOW, latest: expiresAt - endLead };
}

/**
 * A uniformly random instant of the refresh window: `random` in [0, 1) maps linearly from its latest end (0) to its
 * earliest (→ 1), so 500 clients sharing one `exp` refresh spread evenly over 25 % of the lifetime.
 */
export function refreshInstantInWindow(input: RefreshWindowInput & { random: number }): number {
  const { earliest, latest } = refreshWindow(input);
  const random = input.random >= 0 && input.random < 1 ? input.random : 0;
  return latest - random * (latest - earliest);
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
