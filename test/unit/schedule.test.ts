import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { backoffDelay, clampDelay, MAX_TIMER_DELAY_MS, refreshInstant } from "../../src/schedule.js";

describe("clampDelay", () => {
  it("turns a negative delay into 0", () => {
    expect(clampDelay(-1)).toBe(0);
    expect(clampDelay(-Number.MAX_VALUE)).toBe(0);
    expect(clampDelay(Number.NEGATIVE_INFINITY)).toBe(0);
  });

  it("turns NaN into 0", () => {
    expect(clampDelay(Number.NaN)).toBe(0);
  });

  it("keeps 0 as 0", () => {
    expect(clampDelay(0)).toBe(0);
  });

  it("keeps an ordinary delay as it is", () => {
    expect(clampDelay(1)).toBe(1);
    expect(clampDelay(1500.5)).toBe(1500.5);
    expect(clampDelay(MAX_TIMER_DELAY_MS)).toBe(MAX_TIMER_DELAY_MS);
  });

  it("caps a delay above 2^31−1 at 2^31−1, where setTimeout would otherwise fire at once", () => {
    expect(MAX_TIMER_DELAY_MS).toBe(2 ** 31 - 1);
    expect(clampDelay(2 ** 31)).toBe(2 ** 31 - 1);
    expect(clampDelay(365 * 24 * 3600 * 1000)).toBe(2 ** 31 - 1);
    expect(clampDelay(Number.POSITIVE_INFINITY)).toBe(2 ** 31 - 1);
  });

  it("always returns a delay setTimeout honours, for any number", () => {
    fc.assert(
      fc.property(fc.double(), (delay) => {
        const clamped = clampDelay(delay);
        expect(clamped).toBeGreaterThanOrEqual(0);
        expect(clamped).toBeLessThanOrEqual(MAX_TIMER_DELAY_MS);
      }),
    );
  });
});

describe("refreshInstant", () => {
  const expiresAt = 1_000_000_000;
  const hour = 3_600_000;

  it("applies the margin: with no jitter the instant is expiry − margin", () => {
    expect(refreshInstant({ expiresAt, lifetimeMs: hour, marginMs: 60_000, jitter: 0, random: 0.7 })).toBe(
      expiresAt - 60_000,
    );
  });

  it("with random 0 lands at expiry − margin, the latest end of the jitter range", () => {
    expect(refreshInstant({ expiresAt, lifetimeMs: hour, marginMs: 60_000, jitter: 0.5, random: 0 })).toBe(
      expiresAt - 60_000,
    );
  });

  it("with random → 1 approaches expiry − margin·(1 + jitter), the earliest end", () => {
    const almostOne = 1 - Number.EPSILON;
    const instant = refreshInstant({
      expiresAt,
      lifetimeMs: hour,
      marginMs: 60_000,
      jitter: 0.5,
      random: almostOne,
    });
    expect(instant).toBeCloseTo(expiresAt - 90_000, 3);
    expect(instant).toBeGreaterThanOrEqual(expiresAt - 90_000);
  });

  it("spreads linearly between the two ends", () => {
    expect(refreshInstant({ expiresAt, lifetimeMs: hour, marginMs: 60_000, jitter: 0.5, random: 0.5 })).toBe(
      expiresAt - 75_000,
    );
  });

  it("caps the margin at half the lifetime: a 2-second token with a 60 s margin refreshes at ≥ 1 s of life", () => {
    const issuedAt = expiresAt - 2000;
    for (const random of [0, 0.5, 0.999]) {
      const instant = refreshInstant({ expiresAt, lifetimeMs: 2000, marginMs: 60_000, jitter: 0.5, random });
      expect(instant - issuedAt).toBeGreaterThanOrEqual(1000);
      expect(instant).toBeLessThanOrEqual(expiresAt);
    }
  });

  it("caps only the jitter spread when the margin alone fits in half the lifetime", () => {
    // margin 40 s fits in 50 s (half of 100 s); margin·1.5 = 60 s does not, so the spread stops at 50 s.
    const lifetimeMs = 100_000;
    expect(refreshInstant({ expiresAt, lifetimeMs, marginMs: 40_000, jitter: 0.5, random: 0 })).toBe(
      expiresAt - 40_000,
    );
    expect(
      refreshInstant({ expiresAt, lifetimeMs, marginMs: 40_000, jitter: 0.5, random: 0.999_999 }),
    ).toBeCloseTo(expiresAt - 50_000, -1);
  });

  it("treats a negative margin as none: the instant is the expiry", () => {
    expect(refreshInstant({ expiresAt, lifetimeMs: hour, marginMs: -5000, jitter: 0.5, random: 0.5 })).toBe(
      expiresAt,
    );
  });

  it("treats a zero or negative lifetime as no room at all: the instant is the expiry", () => {
    expect(refreshInstant({ expiresAt, lifetimeMs: 0, marginMs: 60_000, jitter: 0.5, random: 0.5 })).toBe(
      expiresAt,
    );
    expect(refreshInstant({ expiresAt, lifetimeMs: -1000, marginMs: 60_000, jitter: 0.5, random: 0.5 })).toBe(
      expiresAt,
    );
  });

  it("for any valid inputs lands in [expiresAt − lifetime/2, expiresAt], never after expiry", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 42 }),
        fc.integer({ min: 0, max: 2 ** 34 }),
        fc.integer({ min: 0, max: 2 ** 34 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (at, lifetimeMs, marginMs, jitter, random) => {
          const instant = refreshInstant({ expiresAt: at, lifetimeMs, marginMs, jitter, random });
          expect(Number.isFinite(instant)).toBe(true);
          expect(instant).toBeLessThanOrEqual(at);
          expect(instant).toBeGreaterThanOrEqual(at - lifetimeMs / 2 - 1e-6 * Math.max(1, lifetimeMs));
        },
      ),
    );
  });

  it("for any valid inputs stays within the jitter range below the (capped) margin", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 34 }),
        fc.integer({ min: 0, max: 2 ** 34 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (lifetimeMs, marginMs, jitter, random) => {
          const instant = refreshInstant({ expiresAt, lifetimeMs, marginMs, jitter, random });
          const before = expiresAt - instant;
          const cap = lifetimeMs / 2;
          const tolerance = 1e-6 * Math.max(1, marginMs, lifetimeMs);
          expect(before).toBeGreaterThanOrEqual(Math.min(marginMs, cap) - tolerance);
          expect(before).toBeLessThanOrEqual(Math.min(marginMs * (1 + jitter), cap) + tolerance);
        },
      ),
    );
  });

  it("moves earlier (never later) as random grows", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 34 }),
        fc.integer({ min: 0, max: 2 ** 34 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (lifetimeMs, marginMs, jitter, r1, r2) => {
          const [low, high] = r1 <= r2 ? [r1, r2] : [r2, r1];
          const at = (random: number) => refreshInstant({ expiresAt, lifetimeMs, marginMs, jitter, random });
          expect(at(high)).toBeLessThanOrEqual(at(low));
        },
      ),
    );
  });
});

describe("backoffDelay", () => {
  it("picks 0 when random is 0 (full jitter starts at zero)", () => {
    expect(backoffDelay({ attempt: 3, baseDelayMs: 1000, maxDelayMs: 30_000, random: 0 })).toBe(0);
  });

  it("stays below base·2^(attempt−1) for small attempts", () => {
    const almostOne = 1 - Number.EPSILON;
    expect(backoffDelay({ attempt: 1, baseDelayMs: 1000, maxDelayMs: 30_000, random: almostOne })).toBe(999);
    expect(backoffDelay({ attempt: 2, baseDelayMs: 1000, maxDelayMs: 30_000, random: almostOne })).toBe(1999);
    expect(backoffDelay({ attempt: 3, baseDelayMs: 1000, maxDelayMs: 30_000, random: almostOne })).toBe(3999);
    expect(backoffDelay({ attempt: 2, baseDelayMs: 1000, maxDelayMs: 30_000, random: 0.5 })).toBe(1000);
  });

  it("never exceeds maxDelayMs, however many attempts", () => {
    const almostOne = 1 - Number.EPSILON;
    expect(backoffDelay({ attempt: 10, baseDelayMs: 1000, maxDelayMs: 30_000, random: almostOne })).toBe(
      29_999,
    );
  });

  it("treats attempt 0 or below as the first attempt", () => {
    expect(backoffDelay({ attempt: 0, baseDelayMs: 1000, maxDelayMs: 30_000, random: 0.5 })).toBe(500);
    expect(backoffDelay({ attempt: -7, baseDelayMs: 1000, maxDelayMs: 30_000, random: 0.5 })).toBe(500);
  });

  it("does not overflow at attempt 1000: a finite delay within the ceiling", () => {
    const delay = backoffDelay({ attempt: 1000, baseDelayMs: 1000, maxDelayMs: 30_000, random: 0.5 });
    expect(delay).toBe(15_000);
    const unbounded = backoffDelay({
      attempt: 1000,
      baseDelayMs: 1000,
      maxDelayMs: Number.POSITIVE_INFINITY,
      random: 0.5,
    });
    expect(Number.isFinite(unbounded)).toBe(true);
    expect(unbounded).toBeGreaterThan(0);
  });

  it("for any inputs lands in [0, min(max, base·2^(attempt−1))]", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, baseDelayMs, maxDelayMs, random) => {
          const delay = backoffDelay({ attempt, baseDelayMs, maxDelayMs, random });
          // 0·2^large is NaN in JS; a zero base means a zero ceiling.
          const ceiling = baseDelayMs === 0 ? 0 : Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(ceiling);
        },
      ),
    );
  });

  it("has a monotone ceiling: for the same random, a later attempt never waits less", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, baseDelayMs, maxDelayMs, random) => {
          const now = backoffDelay({ attempt, baseDelayMs, maxDelayMs, random });
          const next = backoffDelay({ attempt: attempt + 1, baseDelayMs, maxDelayMs, random });
          expect(next).toBeGreaterThanOrEqual(now);
        },
      ),
    );
  });
});
