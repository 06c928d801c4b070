import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  backoffDelay,
  clampDelay,
  MAX_TIMER_DELAY_MS,
  MIN_REFRESH_FLOOR_MS,
  REFRESH_FLOOR_MS,
  REFRESH_WINDOW,
  refreshFloor,
  refreshInstant,
  refreshInstantInWindow,
  refreshWindow,
} from "../../src/schedule.js";

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

describe("refreshWindow", () => {
  const EXP = 1_700_000_000_000;
  const HOUR = 3_600_000;

  it("is 65–90 % of the lifetime by default (client-go's 70–90 %, widened so a finite fleet still spans ≥ 20 %)", () => {
    const window = refreshWindow({ expiresAt: EXP, lifetimeMs: HOUR });
    expect(window.latest).toBe(EXP - 0.1 * HOUR);
    expect(window.earliest).toBe(EXP - 0.35 * HOUR);
  });

  it("moves earlier rather than narrowing for a 10-s token: it ends at the floor, still 25 % wide", () => {
    const window = refreshWindow({ expiresAt: EXP, lifetimeMs: 10_000 });
    expect(window.latest).toBe(EXP - REFRESH_FLOOR_MS);
    expect(window.latest - window.earliest).toBe(2500);
  });

  it("caps the floor at half the lifetime for a 3-s token: refresh in 25–50 % of its life", () => {
    const window = refreshWindow({ expiresAt: EXP, lifetimeMs: 3000 });
    expect(window.latest).toBe(EXP - 1500);
    expect(window.earliest).toBe(EXP - 2250);
  });

  it("with a measured floor of 250 ms, a 3-s token refreshes in 65–90 % of its life instead of 25–50 %", () => {
    const window = refreshWindow({ expiresAt: EXP, lifetimeMs: 3000, floorMs: 250 });
    expect(window.latest).toBe(EXP - 300);
    expect(window.earliest).toBe(EXP - 1050);
  });

  it("caps a measured floor at half the lifetime too", () => {
    expect(refreshWindow({ expiresAt: EXP, lifetimeMs: 400, floorMs: 2000 }).latest).toBe(EXP - 200);
  });

  it("honours an app's margin as the window's end, raised to the floor", () => {
    expect(refreshWindow({ expiresAt: EXP, lifetimeMs: HOUR, marginMs: 60_000 }).latest).toBe(EXP - 60_000);
    expect(refreshWindow({ expiresAt: EXP, lifetimeMs: HOUR, marginMs: 0 }).latest).toBe(
      EXP - REFRESH_FLOOR_MS,
    );
  });

  it("caps a margin larger than the lifetime so the window still fits inside it (ends at 35 %)", () => {
    const window = refreshWindow({ expiresAt: EXP, lifetimeMs: 10_000, marginMs: HOUR });
    expect(window.latest).toBe(EXP - 6500);
    expect(window.earliest).toBe(EXP - 9000);
  });

  it("treats a zero or negative lifetime as no room: both ends at the expiry", () => {
    for (const lifetimeMs of [0, -5, Number.NaN])
      expect(refreshWindow({ expiresAt: EXP, lifetimeMs })).toEqual({ earliest: EXP, latest: EXP });
  });

  it("for any lifetime and margin is 25 % of the lifetime wide, inside [issue + 10 %, expiry − floor]", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 400 * 24 * HOUR }),
        fc.option(fc.integer({ min: 0, max: 400 * 24 * HOUR }), { nil: undefined }),
        (lifetimeMs, marginMs) => {
          const { earliest, latest } = refreshWindow({
            expiresAt: EXP,
            lifetimeMs,
            ...(marginMs === undefined ? {} : { marginMs }),
          });
          expect(latest - earliest).toBeCloseTo(lifetimeMs * REFRESH_WINDOW, 3);
          expect(earliest).toBeGreaterThanOrEqual(EXP - lifetimeMs * 0.9 - 1e-3);
          expect(latest).toBeLessThanOrEqual(EXP - Math.min(REFRESH_FLOOR_MS, lifetimeMs / 2) + 1e-3);
        },
      ),
    );
  });
});

describe("refreshFloor", () => {
  it("is the full floor until a refresh was timed", () => {
    expect(refreshFloor(null)).toBe(REFRESH_FLOOR_MS);
  });

  it("is four times the slowest recent refresh", () => {
    expect(refreshFloor(100)).toBe(400);
  });

  it("never goes below MIN_REFRESH_FLOOR_MS, for a refresh on the same machine", () => {
    expect(refreshFloor(3)).toBe(MIN_REFRESH_FLOOR_MS);
  });

  it("never goes above REFRESH_FLOOR_MS, for a slow mobile link", () => {
    expect(refreshFloor(5000)).toBe(REFRESH_FLOOR_MS);
  });

  it("treats a negative or NaN duration as untimed", () => {
    expect(refreshFloor(-1)).toBe(REFRESH_FLOOR_MS);
    expect(refreshFloor(Number.NaN)).toBe(REFRESH_FLOOR_MS);
  });
});

describe("refreshInstantInWindow", () => {
  const EXP = 1_700_000_000_000;
  const HOUR = 3_600_000;

  it("maps random 0 to the latest end and random → 1 to the earliest, linearly", () => {
    const at = (random: number) => refreshInstantInWindow({ expiresAt: EXP, lifetimeMs: HOUR, random });
    expect(at(0)).toBe(EXP - 0.1 * HOUR);
    expect(at(0.5)).toBe(EXP - 0.225 * HOUR);
    expect(at(0.999_999)).toBeCloseTo(EXP - 0.35 * HOUR, -1);
  });

  it("reads a random source outside [0, 1) (NaN, 1, −1) as 0: never outside the window", () => {
    for (const random of [Number.NaN, 1, -1, 7])
      expect(refreshInstantInWindow({ expiresAt: EXP, lifetimeMs: HOUR, random })).toBe(EXP - 0.1 * HOUR);
  });

  it("for any lifetime and random stays inside the window and before the expiry", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 400 * 24 * HOUR }),
        fc.double({ min: 0, max: 1, maxExcluded: true }),
        (lifetimeMs, random) => {
          const window = refreshWindow({ expiresAt: EXP, lifetimeMs });
          const at = refreshInstantInWindow({ expiresAt: EXP, lifetimeMs, random });
          expect(at).toBeGreaterThanOrEqual(window.earliest);
          expect(at).toBeLessThanOrEqual(window.latest);
          expect(at).toBeLessThan(EXP);
        },
      ),
    );
  });

  it("spreads 500 clients sharing one exp over at least 20 % of the lifetime (the window is 25 %), evenly (each fifth holds 60–140)", () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (const lifetimeMs of [3000, 10_000, HOUR]) {
      const instants = Array.from({ length: 500 }, () =>
        refreshInstantInWindow({ expiresAt: EXP, lifetimeMs, random: random() }),
      );
      const spread = Math.max(...instants) - Math.min(...instants);
      expect(spread / lifetimeMs).toBeGreaterThan(0.19);
      const { earliest } = refreshWindow({ expiresAt: EXP, lifetimeMs });
      const fifths = [0, 0, 0, 0, 0];
      for (const at of instants) {
        const index = Math.min(4, Math.floor(((at - earliest) / (lifetimeMs * REFRESH_WINDOW)) * 5));
        fifths[index] = (fifths[index] ?? 0) + 1;
      }
      for (const count of fifths) expect(count).toBeGreaterThanOrEqual(60);
      for (const count of fifths) expect(count).toBeLessThanOrEqual(140);
    }
  });
});
