import { jwtDecode } from "jwt-decode";

/** What a token provider may return: a string, an object with an explicit expiry, or null for "no token". */
export type TokenResult =
  | string
  | {
      token: string;
      /** Absolute expiry, epoch ms on the issuer's clock. */
      expiresAt?: number;
      /** Remaining lifetime in ms, counted from when the client receives it (immune to clock skew). */
      expiresIn?: number;
    }
  | null
  | undefined;

/** A token as the client holds it, with its expiry translated onto this device's clock. */
export interface HeldToken {
  value: string;
  /** Local epoch ms at which the token expires; null for an opaque token without a known expiry. */
  expiresAt: number | null;
  /** Whole lifetime in ms (for the margin); null when unknown. */
  lifetimeMs: number | null;
  /** Local epoch ms at which the client received it. */
  receivedAt: number;
}

interface Claims {
  exp?: unknown;
  iat?: unknown;
}

/** Reads `exp`/`iat` (seconds) from a JWT; a non-JWT yields `{ jwt: false }`. Never throws. */
export function readClaims(token: string): { jwt: boolean; exp?: number; iat?: number; badExp?: boolean } {
  let claims: Claims;
  try {
    claims = jwtDecode<Claims>(token);
  } catch {
    return { jwt: false };
  }
  if (claims === null || typeof claims !== "object") return { jwt: false };
  const { exp, iat } = claims;
  const out: { jwt: boolean; exp?: number; iat?: number; badExp?: boolean } = { jwt: true };
  if (typeof exp === "number" && Number.isFinite(exp)) out.exp = exp;
  else if (exp !== undefined) out.badExp = true;
  if (typeof iat === "number" && Number.isFinite(iat)) out.iat = iat;
  return out;
}

export interface AnchorContext {
  /** Local epoch ms now. */
  now: number;
  /** The skew estimate; a fresh token with `iat` adds an observation to it before the expiry is computed. */
  skew: SkewEstimator;
  /** `now − monotonic now`, when a monotonic clock exists: it changes only when the wall clock is set. */
  wallMinusMonotonic?: number;
  /** True when the token comes straight from `refresh` (so its `iat` is "now" on the issuer's clock). */
  fresh: boolean;
}

export interface Anchored {
  token: HeldToken;
  /** Set when the JWT had an `exp` claim that was not a number: the token is treated as opaque. */
  badExp: boolean;
}

/**
 * Translates a provider result into a HeldToken on the local clock. Precedence: the provider's `expiresIn`
 * (relative, exact), then its `expiresAt`, then the JWT `exp`. For a fresh token the gap between local receipt and
 * `iat` measures the clock skew, so a device whose clock is minutes off still refreshes on time.
 */
export function anchorToken(
  value: string,
  extra: { expiresAt?: number; expiresIn?: number },
  ctx: AnchorContext,
): Anchored {
  const { now } = ctx;
  const claims = readClaims(value);
  if (ctx.fresh && claims.iat !== undefined) ctx.skew.add(now - claims.iat * 1000, ctx.wallMinusMonotonic);
  const skew = ctx.skew.skewMs;
  const lifetimeFromClaims =
    claims.exp !== undefined && claims.iat !== undefined ? (claims.exp - claims.iat) * 1000 : null;
  let expiresAt: number | null = null;
  if (extra.expiresIn !== undefined) expiresAt = now + extra.expiresIn;
  else if (extra.expiresAt !== undefined) expiresAt = extra.expiresAt + skew;
  else if (claims.exp !== undefined) expiresAt = claims.exp * 1000 + skew;
  const lifetimeMs =
    expiresAt === null ? null : (extra.expiresIn ?? lifetimeFromClaims ?? Math.max(0, expiresAt - now));
  return { token: { value, expiresAt, lifetimeMs, receivedAt: now }, badExp: claims.badExp === true };
}

/**
 * Estimates `local clock − issuer clock` from the last few fresh tokens. A provider may hand back a cached token
 * whose `iat` lies in the past, which reads as extra skew and would push the refresh past the real expiry; real skew
 * is the smallest gap seen, so the estimate is the minimum of a short window. The window (rather than an all-time
 * minimum) lets the estimate heal after the device clock is corrected.
 */
/** Skew below this is taken as none (see SkewEstimator.skewMs). */
export const SKEW_DEADBAND_MS = 2000;

export class SkewEstimator {
  private readonly samples: number[] = [];
  private marker: number | undefined;
  constructor(private readonly size = 3) {}

  /**
   * Adds one observation. `marker` (wall − monotonic time) changes only when the wall clock is set; when it moved,
   * the older observations describe a clock that no longer exists and are dropped, so an NTP correction is learnt at
   * once instead of after a window of fresh tokens.
   */
  add(observedMs: number, marker?: number): void {
    if (marker !== undefined && Number.isFinite(marker)) {
      if (this.marker !== undefined && Math.abs(marker - this.marker) > SKEW_DEADBAND_MS)
        this.samples.length = 0;
      this.marker = marker;
    }
    this.samples.push(observedMs);
    if (this.samples.length > this.size) this.samples.shift();
  }

  /**
   * 0 until a fresh token has been seen, and 0 while the skew is within JWT resolution: `iat` is whole seconds, so
   * an observation overstates the skew by up to a second plus latency, and correcting for that noise would make a
   * correct clock disagree with the server about short tokens.
   */
  get skewMs(): number {
    const skew = this.samples.length === 0 ? 0 : Math.min(...this.samples);
    return Math.abs(skew) < SKEW_DEADBAND_MS ? 0 : skew;
  }
}
