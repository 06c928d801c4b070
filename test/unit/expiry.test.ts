import { describe, expect, it } from "vitest";
import {
  anchorToken,
  IAT_RESOLUTION_MS,
  readClaims,
  SKEW_DEADBAND_MS,
  SkewEstimator,
} from "../../src/expiry.js";
import { refreshInstantInWindow } from "../../src/schedule.js";
import { fakeJwt, jwtAt } from "../helpers/support.js";

const MINUTE = 60_000;
/** The issuer's "now": a fixed instant with a sub-second part, as a real one would have. */
const SERVER_NOW = 1_700_000_000_000 + 123;

/** A raw base64url JWT segment from any JSON text (for payloads JSON.stringify cannot produce). */
const rawJwt = (payloadJson: string) =>
  `${Buffer.from('{"alg":"HS256"}').toString("base64url")}.${Buffer.from(payloadJson).toString("base64url")}.sig`;

describe("readClaims", () => {
  it("reads exp, iat and sub from a JWT", () => {
    expect(readClaims(fakeJwt({ sub: "u", iat: 1000, exp: 1600 }))).toEqual({
      jwt: true,
      iat: 1000,
      exp: 1600,
      sub: "u",
    });
  });

  it("reports a JWT without exp or iat as a JWT with neither", () => {
    expect(readClaims(fakeJwt({ sub: "u" }))).toEqual({ jwt: true, sub: "u" });
  });

  it("leaves out a sub that is not a string", () => {
    expect(readClaims(fakeJwt({ sub: 42 }))).toEqual({ jwt: true });
  });

  it("reports a non-JWT (opaque) token as not a JWT", () => {
    expect(readClaims("opaque-access-token-0123456789")).toEqual({ jwt: false });
  });

  it("reports garbage as not a JWT, without throwing", () => {
    for (const garbage of ["", ".", "a.b.c", "eyJhbGciOi.broken", "eyJ.eyJ.eyJ", "💥.💥.💥"]) {
      expect(readClaims(garbage), garbage).toEqual({ jwt: false });
    }
  });

  it("reports a payload that is JSON but not an object as not a JWT", () => {
    expect(readClaims(rawJwt("null"))).toEqual({ jwt: false });
    expect(readClaims(rawJwt('"a string"'))).toEqual({ jwt: false });
    expect(readClaims(rawJwt("42"))).toEqual({ jwt: false });
  });

  it('flags exp: "soon" as badExp and leaves exp out', () => {
    const claims = readClaims(fakeJwt({ iat: 1000, exp: "soon" }));
    expect(claims).toEqual({ jwt: true, iat: 1000, badExp: true });
    expect(claims).not.toHaveProperty("exp");
  });

  it("flags null and non-finite exp as badExp", () => {
    expect(readClaims(fakeJwt({ exp: null }))).toEqual({ jwt: true, badExp: true });
    expect(readClaims(rawJwt('{"exp":1e400}'))).toEqual({ jwt: true, badExp: true });
  });

  it("ignores a non-numeric iat without flagging anything", () => {
    expect(readClaims(fakeJwt({ iat: "yesterday", exp: 1600 }))).toEqual({ jwt: true, exp: 1600 });
  });
});

describe("anchorToken precedence", () => {
  const now = SERVER_NOW;
  const jwtExpSec = Math.floor(now / 1000) + 3600;
  const token = fakeJwt({ sub: "u", iat: Math.floor(now / 1000), exp: jwtExpSec });
  const ctx = () => ({ now, skew: new SkewEstimator(), fresh: false });

  it("expiresIn wins over expiresAt and the JWT exp, and is counted from receipt", () => {
    const { token: held } = anchorToken(token, { expiresIn: 5000, expiresAt: now + 99_000 }, ctx());
    expect(held.expiresAt).toBe(now + 5000);
    expect(held.lifetimeMs).toBe(5000);
    expect(held.receivedAt).toBe(now);
  });

  it("expiresAt wins over the JWT exp", () => {
    const { token: held } = anchorToken(token, { expiresAt: now + 99_000 }, ctx());
    expect(held.expiresAt).toBe(now + 99_000);
  });

  it("the JWT exp is used when the provider gave neither", () => {
    const { token: held } = anchorToken(token, {}, ctx());
    expect(held.expiresAt).toBe(jwtExpSec * 1000);
    expect(held.lifetimeMs).toBe(3600_000);
  });

  it("an opaque token without expiresAt/expiresIn has no expiry and no lifetime", () => {
    const { token: held, badExp } = anchorToken("opaque-access-token-0123456789", {}, ctx());
    expect(held).toEqual({
      value: "opaque-access-token-0123456789",
      expiresAt: null,
      lifetimeMs: null,
      receivedAt: now,
    });
    expect(badExp).toBe(false);
  });

  it("an opaque token with expiresAt takes its remaining life as its lifetime", () => {
    const { token: held } = anchorToken("opaque-access-token-0123456789", { expiresAt: now + 30_000 }, ctx());
    expect(held.expiresAt).toBe(now + 30_000);
    expect(held.lifetimeMs).toBe(30_000);
  });

  it('a JWT with exp: "soon" is anchored as opaque and reports badExp', () => {
    const { token: held, badExp } = anchorToken(fakeJwt({ iat: 1, exp: "soon" }), {}, ctx());
    expect(held.expiresAt).toBeNull();
    expect(held.lifetimeMs).toBeNull();
    expect(badExp).toBe(true);
  });
});

describe("clock skew of ±10 minutes", () => {
  const LIFETIME_MS = 10 * MINUTE;

  for (const [label, offset] of [
    ["10 minutes ahead", 10 * MINUTE],
    ["10 minutes behind", -10 * MINUTE],
    ["correct", 0],
  ] as const) {
    it(`a fresh token received when the local clock is ${label} expires 600 s after receipt, on the local clock`, () => {
      const localNow = SERVER_NOW + offset;
      const value = jwtAt(SERVER_NOW, LIFETIME_MS / 1000);
      const { token } = anchorToken(value, {}, { now: localNow, skew: new SkewEstimator(), fresh: true });
      expect(token.receivedAt).toBe(localNow);
      // iat has whole-second resolution, so the estimate allows a whole second: early by up to 2 s, never late
      // (the real expiry here is 123 ms past localNow + LIFETIME_MS: the token was issued 123 ms into its iat second).
      expect(token.expiresAt).not.toBeNull();
      expect(localNow + LIFETIME_MS - (token.expiresAt ?? 0)).toBeLessThanOrEqual(2 * IAT_RESOLUTION_MS);
      expect(token.expiresAt).toBeLessThanOrEqual(localNow + LIFETIME_MS);
      expect(token.lifetimeMs).toBe(LIFETIME_MS);
    });

    it(`the refresh instant with the local clock ${label} lands 60–90 s before the local expiry`, () => {
      const localNow = SERVER_NOW + offset;
      const value = jwtAt(SERVER_NOW, LIFETIME_MS / 1000);
      const { token } = anchorToken(value, {}, { now: localNow, skew: new SkewEstimator(), fresh: true });
      const at = (random: number) =>
        refreshInstantInWindow({
          expiresAt: token.expiresAt ?? Number.NaN,
          lifetimeMs: token.lifetimeMs ?? Number.NaN,
          random,
        });
      // 90 % and 65 % of the life after receipt on this device, whatever its clock says about the issuer's (early
      // by up to the second iat cannot show).
      expect(localNow + 9 * MINUTE - at(0)).toBeGreaterThanOrEqual(0);
      expect(localNow + 9 * MINUTE - at(0)).toBeLessThanOrEqual(2 * IAT_RESOLUTION_MS);
      expect(localNow + 6.5 * MINUTE - at(0.999_999)).toBeGreaterThanOrEqual(0);
      expect(localNow + 6.5 * MINUTE - at(0.999_999)).toBeLessThanOrEqual(2 * IAT_RESOLUTION_MS);
    });
  }

  it("with the clock 10 minutes ahead, the expiry is the real one less iat's second (skew is measured, erring early)", () => {
    const localNow = SERVER_NOW + 10 * MINUTE;
    const { token } = anchorToken(
      jwtAt(SERVER_NOW, 600),
      {},
      { now: localNow, skew: new SkewEstimator(), fresh: true },
    );
    expect(token.expiresAt).toBe(localNow + LIFETIME_MS - IAT_RESOLUTION_MS);
  });

  it("a stored (not fresh) token cannot prove the clock ahead: alone it leaves the estimate at 0", () => {
    const skew = new SkewEstimator();
    anchorToken(jwtAt(SERVER_NOW, 600), {}, { now: SERVER_NOW + 10 * MINUTE, skew, fresh: false });
    expect(skew.skewMs).toBe(0);
  });

  it("a provider expiresAt (issuer clock) is moved onto the local clock by the measured skew", () => {
    const skew = new SkewEstimator();
    const localNow = SERVER_NOW - 10 * MINUTE;
    anchorToken(jwtAt(SERVER_NOW, 600), {}, { now: localNow, skew, fresh: true });
    const { token } = anchorToken(
      "opaque-access-token-0123456789",
      { expiresAt: SERVER_NOW + 5 * MINUTE },
      { now: localNow, skew, fresh: true },
    );
    expect(Math.abs((token.expiresAt ?? 0) - (localNow + 5 * MINUTE))).toBeLessThan(1000);
  });

  it("a cached token (iat 5 minutes old) after a fresh one does not push the expiry late", () => {
    for (const offset of [10 * MINUTE, -10 * MINUTE, 0]) {
      const skew = new SkewEstimator();
      const localNow = SERVER_NOW + offset;
      anchorToken(jwtAt(SERVER_NOW, 600), {}, { now: localNow, skew, fresh: true });
      // A minute later the provider hands back a token it cached: issued 5 minutes ago, 5 minutes left.
      const later = localNow + MINUTE;
      const cachedIssuedAt = SERVER_NOW + MINUTE - 5 * MINUTE;
      const { token } = anchorToken(jwtAt(cachedIssuedAt, 600), {}, { now: later, skew, fresh: true });
      const realLocalExpiry = later + 5 * MINUTE;
      expect(token.expiresAt, `offset ${offset}`).not.toBeNull();
      expect(token.expiresAt ?? 0, `offset ${offset}`).toBeLessThanOrEqual(realLocalExpiry + 1000);
      expect(token.expiresAt ?? 0, `offset ${offset}`).toBeGreaterThan(realLocalExpiry - 2000);
    }
  });
});

describe("SkewEstimator", () => {
  it("is 0 before any observation", () => {
    expect(new SkewEstimator().skewMs).toBe(0);
  });

  it("reads a clock ahead by less than the deadband as correct, and skew at its edge as measured", () => {
    const inside = new SkewEstimator();
    inside.add(SKEW_DEADBAND_MS - 1 + IAT_RESOLUTION_MS);
    expect(inside.skewMs).toBe(0);
    const edge = new SkewEstimator();
    edge.add(SKEW_DEADBAND_MS + IAT_RESOLUTION_MS);
    expect(edge.skewMs).toBe(SKEW_DEADBAND_MS);
  });

  it("has no deadband on the behind side: a clock 1 ms behind is used as measured (less iat's second)", () => {
    const behind = new SkewEstimator();
    behind.add(-1);
    expect(behind.skewMs).toBe(-1 - IAT_RESOLUTION_MS);
  });

  it("moves a fresh sample below the real skew by iat's second plus the round trip", () => {
    const skew = new SkewEstimator();
    skew.add(10 * MINUTE, undefined, 250);
    expect(skew.skewMs).toBe(10 * MINUTE - IAT_RESOLUTION_MS - 250);
  });

  it("uses a bound (a token of unknown age) as it is, and caps the estimate at 0 without a fresh sample", () => {
    const behind = new SkewEstimator();
    behind.add(-10 * MINUTE, undefined, null);
    expect(behind.skewMs).toBe(-10 * MINUTE);
    const ahead = new SkewEstimator();
    ahead.add(10 * MINUTE, undefined, null);
    expect(ahead.skewMs).toBe(0);
  });

  it("takes the minimum of its window (a cached token's larger gap does not count)", () => {
    const skew = new SkewEstimator();
    skew.add(10 * MINUTE);
    skew.add(15 * MINUTE);
    skew.add(12 * MINUTE);
    expect(skew.skewMs).toBe(10 * MINUTE - IAT_RESOLUTION_MS);
  });

  it("takes the minimum for a clock that is behind, too", () => {
    const skew = new SkewEstimator();
    skew.add(-10 * MINUTE);
    skew.add(-5 * MINUTE);
    expect(skew.skewMs).toBe(-10 * MINUTE - IAT_RESOLUTION_MS);
  });

  it("heals at once when a clock that was ahead is corrected (the new, smaller gap is the minimum)", () => {
    const skew = new SkewEstimator();
    skew.add(10 * MINUTE);
    skew.add(0);
    expect(skew.skewMs).toBe(-IAT_RESOLUTION_MS);
  });

  it("heals once the window (8 samples) has passed when a clock that was behind is corrected (no monotonic marker)", () => {
    const skew = new SkewEstimator();
    skew.add(-10 * MINUTE);
    for (let i = 0; i < 7; i++) skew.add(300);
    // Until then the old sample holds the estimate early (the safe side): two cached tokens look the same.
    expect(skew.skewMs).toBe(-10 * MINUTE - IAT_RESOLUTION_MS);
    skew.add(300);
    expect(skew.skewMs).toBe(300 - IAT_RESOLUTION_MS);
  });

  it("keeps only the last `size` samples", () => {
    const skew = new SkewEstimator(1);
    skew.add(-10 * MINUTE);
    skew.add(5 * MINUTE);
    expect(skew.skewMs).toBe(5 * MINUTE - IAT_RESOLUTION_MS);
  });
});
