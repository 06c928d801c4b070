import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Clock, Timers } from "../../src/clock.js";
import { anchorToken, IAT_RESOLUTION_MS, SKEW_DEADBAND_MS, SkewEstimator } from "../../src/expiry.js";
import { normalizeOptions, type RefreshContext } from "../../src/options.js";
import { createTokenKeeper } from "../../src/token.js";
import { jwtAt } from "../helpers/support.js";

const MINUTE = 60_000;
/** The issuer's "now" with a sub-second part, as a real one has. */
const ISSUER_NOW = 1_700_000_000_000 + 737;

describe("skew estimate errs early, never late", () => {
  it("a clock 1.5 s behind is learnt (no deadband on the side that makes the client late)", () => {
    const skew = new SkewEstimator();
    skew.add(-1500);
    expect(skew.skewMs).toBeLessThanOrEqual(-1500);
  });

  it("a fresh token's expiry on the local clock is never after its real local expiry, whatever iat's lost fraction and the transit", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -10 * MINUTE, max: 10 * MINUTE }),
        fc.integer({ min: 0, max: 999 }),
        fc.integer({ min: 0, max: 800 }),
        fc.integer({ min: 1, max: 3600 }),
        (skewMs, fraction, transitMs, lifetimeSec) => {
          const issuedAt = ISSUER_NOW - 737 + fraction;
          const localNow = issuedAt + transitMs + skewMs;
          const value = jwtAt(issuedAt, lifetimeSec);
          const { token } = anchorToken(
            value,
            {},
            { now: localNow, skew: new SkewEstimator(), fresh: true, roundTripMs: transitMs },
          );
          const realLocalExpiry = Math.floor(issuedAt / 1000) * 1000 + lifetimeSec * 1000 + skewMs;
          // A token under 2 s cannot afford iat's whole lost second (it would be expired on arrival): its slack is
          // half its lifetime, so it may be judged late by the rest of that second. From 2 s on: never late.
          const shortTokenAllowance = Math.max(0, IAT_RESOLUTION_MS - (lifetimeSec * 1000) / 2);
          expect(token.expiresAt ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(
            realLocalExpiry + shortTokenAllowance,
          );
          // Early by at most iat's resolution, the round trip and the deadband on the "ahead" side.
          expect(token.expiresAt ?? 0).toBeGreaterThanOrEqual(
            realLocalExpiry - IAT_RESOLUTION_MS - transitMs - SKEW_DEADBAND_MS,
          );
        },
      ),
    );
  });

  it("a stored token issued 'in the future' proves the clock behind: its expiry moves earlier by at least that much", () => {
    const skew = new SkewEstimator();
    const localNow = ISSUER_NOW - 10 * MINUTE;
    // Stored a second ago on the issuer's clock, 10-minute life.
    const iatMs = Math.floor((ISSUER_NOW - 1000) / 1000) * 1000;
    const { token } = anchorToken(jwtAt(ISSUER_NOW - 1000, 600), {}, { now: localNow, skew, fresh: false });
    const proven = iatMs - localNow;
    expect(proven).toBeGreaterThan(9 * MINUTE);
    expect(token.expiresAt ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(iatMs + 600_000 - proven);
    expect(skew.skewMs).toBeLessThanOrEqual(-proven);
  });

  it("a stored old token alone never moves the expiry later (it bounds the skew from above only)", () => {
    const skew = new SkewEstimator();
    // Issued 5 minutes ago, correct clock: its gap is age, not skew.
    anchorToken(jwtAt(ISSUER_NOW - 5 * MINUTE, 600), {}, { now: ISSUER_NOW, skew, fresh: false });
    expect(skew.skewMs).toBeLessThanOrEqual(0);
  });
});

const fakeClock: Clock = { now: () => Date.now() };
const fakeTimers: Timers = {
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

describe("the keeper with the device clock ±10 minutes off and 3-s tokens", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(ISSUER_NOW);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  for (const offset of [10 * MINUTE, -10 * MINUTE]) {
    it(`never judges an expired token usable (clock ${offset > 0 ? "ahead" : "behind"}), stored or fresh`, async () => {
      vi.setSystemTime(ISSUER_NOW + offset);
      /** The issuer's clock: the device's minus the offset. */
      const issuerNow = () => Date.now() - offset;
      // The stored token was issued 400 ms ago; a refresh answers after 120 ms of transit.
      const stored = jwtAt(issuerNow() - 400, 3);
      const keeper = createTokenKeeper(
        normalizeOptions({
          clock: fakeClock,
          timers: fakeTimers,
          logger: null,
          getToken: () => stored,
          refresh: async (_context: RefreshContext) => {
            await new Promise((resolve) => setTimeout(resolve, 60));
            const token = jwtAt(issuerNow(), 3);
            await new Promise((resolve) => setTimeout(resolve, 60));
            return token;
          },
        }),
        { attempt() {}, failed() {}, refreshed() {}, warn() {} },
        () => 0.5,
      );
      const first = keeper.load();
      await vi.advanceTimersByTimeAsync(0);
      expect(await first).not.toBeNull();
      let checks = 0;
      for (let step = 0; step < 300; step++) {
        const held = keeper.current;
        if (held && keeper.status(held) !== "expired") {
          const exp = (
            JSON.parse(Buffer.from(held.value.split(".")[1] ?? "", "base64url").toString()) as {
              exp: number;
            }
          ).exp;
          expect(issuerNow(), `step ${step}`).toBeLessThan(exp * 1000);
          checks++;
        }
        if (held && keeper.status(held) !== "ok") void keeper.refresh("expiring").catch(() => undefined);
        await vi.advanceTimersByTimeAsync(50);
      }
      expect(checks).toBeGreaterThan(200);
    });
  }
});
