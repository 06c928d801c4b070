import { jwtDecode } from "jwt-decode";
import { keepLast } from "./util.js";

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
  /** The JWT's `sub` claim when it is a string (read once, with `exp`); undefined for opaque tokens. */
  subject?: string | undefined;
}

interface Claims {
  exp?: unknown;
  iat?: unknown;
  sub?: unknown;
}

/** What readClaims finds in a token. */
export interface ReadClaims {
  jwt: boolean;
  exp?: number;
  iat?: number;
  sub?: string;
  badExp?: boolean;
}

/** Reads `exp`/`iat` (seconds) and a string `sub` from a JWT; a non-JWT yields `{ jwt: false }`. Never throws. */
export function readClaims(token: string): ReadClaims {
  let claims: Claims;
  try {
    claims = jwtDecode<Claims>(token);
  } catch {
    return { jwt: false };
  }
  if (claims === null || typeof claims !== "object") return { jwt: false };
  const { exp, iat, sub } = claims;
  const out: ReadClaims = { jwt: true };
  if (typeof sub === "string") out.sub = sub;
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
  /**
   * True when the token comes straight from `refresh` (so its `iat` is "now" on the issuer's clock, give or take the
   * round trip). A token that is not fresh (stored, from another tab) still bounds the skew from above: it cannot
   * have been issued after the issuer's "now".
   */
  fresh: boolean;
  /** How long the refresh call took, local ms: the most its token can have travelled since issue. @default 0 */
  roundTripMs?: number;
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
  const lifetimeFromClaims =
    claims.exp !== undefined && claims.iat !== undefined ? (claims.exp - claims.iat) * 1000 : null;
  if (claims.iat !== undefined)
    ctx.skew.add(
      now - claims.iat * 1000,
      ctx.wallMinusMonotonic,
      ctx.fresh ? (ctx.roundTripMs ?? 0) : null,
      lifetimeFromClaims ?? undefined,
    );
  const skew = ctx.skew.skewMs;
  let expiresAt: number | null = null;
  if (extra.expiresIn !== undefined) expiresAt = now + extra.expiresIn;
  else if (extra.expiresAt !== undefined) expiresAt = extra.expiresAt + skew;
  else if (claims.exp !== undefined) expiresAt = claims.exp * 1000 + skew;
  const lifetimeMs =
    expiresAt === null ? null : (extra.expiresIn ?? lifetimeFromClaims ?? Math.max(0, expiresAt - now));
  return {
    token: { value, expiresAt, lifetimeMs, receivedAt: now, subject: claims.sub },
    badExp: claims.badExp === true,
  };
}

/** Skew below this on the "ahead" side is taken as none (see SkewEstimator.skewMs). */
export const SKEW_DEADBAND_MS = 2000;

/** `iat` is whole seconds: a token may have been issued up to this long after the instant its `iat` names. */
export const IAT_RESOLUTION_MS = 1000;

/**
 * Estimates `skew = local clock − issuer clock` so that it errs early, never late: the expiry on the local clock is
 * `exp + skew`, so an estimate above the real skew would keep an expired token.
 *
 * Every token with `iat` bounds the skew from above: `skew ≤ now − iat` (it cannot have been issued after the
 * issuer's "now"); a stored token issued "in the future" thus proves the clock behind. A fresh token also bounds it
 * from below, to within `iat`'s lost fraction (up to 1 s) plus the round trip: `skew ≥ now − iat − 1 s − roundTrip`.
 * The estimate is the highest lower bound of a short window that is consistent with every upper bound in it (a
 * provider may hand back a cached token: its old `iat` makes a lower bound above the others' upper bounds, and it is
 * dropped), so it is never above the real skew and it tightens as tokens issued at different fractions of a second
 * arrive (a window of eight: the estimate then sits about a ninth of a second below the real skew on average,
 * against a quarter with three) — for 2-s tokens that difference is half their life. Without a fresh sample the estimate is capped at 0,
 * since an upper bound alone cannot prove the clock ahead. For a token shorter than two seconds the `iat` slack is
 * capped at half its lifetime: assuming the whole second lost would judge a 1-s token expired on arrival, while the
 * server, reading the same whole seconds, accepts it. The window (rather than all time) heals after the device clock
 * is corrected.
 */
export class SkewEstimator {
  /** Replaced rather than pushed onto, so it stays exactly sized (a pushed array is sized for 17: ~120 B more). */
  private samples: ReadonlyArray<{ upper: number; lower: number | null }> = [];
  private marker: number | undefined;
  constructor(private readonly size = 8) {}

  /**
   * Adds one observation `now − iat·1000`. `roundTripMs` is the refresh's duration for a fresh token, null for a
   * token whose age is unknown (stored, adopted). `marker` (wall − monotonic time) changes only when the wall clock
   * is set; when it moved, the older observations describe a clock that no longer exists and are dropped, so an NTP
   * correction is learnt at once instead of after a window of fresh tokens.
   */
  add(observedMs: number, marker?: number, roundTripMs: number | null = 0, lifetimeMs?: number): void {
    if (marker !== undefined && Number.isFinite(marker)) {
      if (this.marker !== undefined && Math.abs(marker - this.marker) > SKEW_DEADBAND_MS) this.samples = [];
      this.marker = marker;
    }
    const iatSlack =
      lifetimeMs !== undefined && lifetimeMs > 0
        ? Math.min(IAT_RESOLUTION_MS, lifetimeMs / 2)
        : IAT_RESOLUTION_MS;
    // A fresh token's lower bound sits below the real skew by what the observation cannot see.
    const lower = roundTripMs === null ? null : observedMs - iatSlack - Math.max(0, roundTripMs);
    this.samples = keepLast([...this.samples, { upper: observedMs, lower }], this.size);
  }

  /**
   * 0 until a token with `iat` has been seen. A clock found ahead by less than SKEW_DEADBAND_MS reads as 0 (that only
   * makes the client earlier: a correct clock then agrees with the server about short tokens); a clock found behind is
   * used as measured, however little, because ignoring it would make the client late.
   */
  get skewMs(): number {
    if (this.samples.length === 0) return 0;
    const upper = Math.min(...this.samples.map((sample) => sample.upper));
    let skew = Number.NEGATIVE_INFINITY;
    for (const { lower } of this.samples) if (lower !== null && lower <= upper && lower > skew) skew = lower;
    if (skew === Number.NEGATIVE_INFINITY) skew = Math.min(upper, 0);
    return skew > 0 && skew < SKEW_DEADBAND_MS ? 0 : skew;
  }
}
