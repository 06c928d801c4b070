import { clampDelay } from "./schedule.js";
/**
 * Time is injected so every timing path can run on fake time in tests. The defaults look the globals up at call
 * time (not at import time), so `vi.useFakeTimers()` installed after import still takes effect.
 */

/** Where "now" comes from: epoch milliseconds on this device's wall clock. */
export interface Clock {
  now(): number;
  /**
   * A monotonic reading in ms (`performance.now()`), used to notice that the wall clock was set (NTP, the user)
   * rather than that time passed. Optional: without it such jumps are learnt more slowly.
   */
  monotonic?(): number;
}

/** An opaque timer handle, whatever the platform returns. */
export type TimerHandle = unknown;

/** The two timer functions the client uses. */
export interface Timers {
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => (typeof performance === "undefined" ? Number.NaN : performance.now()),
};

export const systemTimers: Timers = {
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** The system timers with delays clamped, one object for every client that did not pass `timers`. */
let clampedSystemTimers: Timers | null = null;

/** `timers` with every delay clamped to what setTimeout can take (schedule.ts). */
export function clampedTimers(timers: Timers): Timers {
  if (timers === systemTimers) {
    clampedSystemTimers ??= clampTimers(timers);
    return clampedSystemTimers;
  }
  return clampTimers(timers);
}

function clampTimers(timers: Timers): Timers {
  return {
    setTimeout: (callback, delayMs) => timers.setTimeout(callback, clampDelay(delayMs)),
    clearTimeout: (h) => timers.clearTimeout(h),
  };
}
