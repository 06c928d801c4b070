import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { RefreshError } from "../../src/errors.js";
import { normalizeOptions } from "../../src/options.js";
import { createTokenKeeper } from "../../src/token.js";

beforeEach(() => {
  vi.useFakeTimers({ now: 1_700_000_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

function keeperThatFailsOnce(retryAfterMs: number | undefined, maxDelayMs = 30_000) {
  const delays: (number | null)[] = [];
  let calls = 0;
  const options = normalizeOptions({
    refresh: () => {
      calls++;
      if (calls === 1)
        throw new RefreshError(
          "ERR_REFRESH_FAILED",
          "503",
          retryAfterMs === undefined ? {} : { retryAfterMs },
        );
      return "opaque-token";
    },
    retry: { baseDelayMs: 1000, maxDelayMs },
  });
  const keeper = createTokenKeeper(
    options,
    {
      attempt: () => {},
      failed: (_e, _a, retryInMs) => delays.push(retryInMs),
      refreshed: () => {},
      warn: () => {},
    },
    () => 0, // backoff picks 0: any wait comes from Retry-After alone
  );
  return { keeper, delays, calls: () => calls };
}

it("waits at least the Retry-After the token service asked for before the next attempt", async () => {
  const { keeper, delays, calls } = keeperThatFailsOnce(7000);
  const done = keeper.refresh("manual");
  await vi.advanceTimersByTimeAsync(6999);
  expect(delays).toEqual([7000]);
  expect(calls()).toBe(1);
  await vi.advanceTimersByTimeAsync(1);
  await expect(done).resolves.toMatchObject({ value: "opaque-token" });
  expect(calls()).toBe(2);
});

it("caps a huge Retry-After at retry.maxDelayMs", async () => {
  const { keeper, delays } = keeperThatFailsOnce(3_600_000, 5000);
  const done = keeper.refresh("manual");
  await vi.advanceTimersByTimeAsync(5000);
  await expect(done).resolves.toMatchObject({ value: "opaque-token" });
  expect(delays).toEqual([5000]);
});

it("without Retry-After the plain backoff applies", async () => {
  const { keeper, delays } = keeperThatFailsOnce(undefined);
  const done = keeper.refresh("manual");
  await vi.advanceTimersByTimeAsync(0);
  await expect(done).resolves.toMatchObject({ value: "opaque-token" });
  expect(delays).toEqual([0]);
});
