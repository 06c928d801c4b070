/**
 * Time for the server companion, behind an interface so tests can count or fake timers, plus a timer that survives
 * delays longer than `setTimeout` can hold.
 */
import { clampDelay } from "../schedule.js";

/**
 * The clock and timers the server companion uses. Inject one in tests to count pending timers or to run on fake
 * time; the default is the system clock.
 */
export interface ServerClock {
  /** Epoch milliseconds. */
  now(): number;
  /** Schedules `callback` after `delayMs`; returns a handle for `clearTimeout`. */
  setTimeout(callback: () => void, delayMs: number): unknown;
  /** Cancels a handle returned by `setTimeout`. */
  clearTimeout(handle: unknown): void;
}

/** The system clock: `Date.now()` and the global timers. */
export const systemClock: ServerClock = {
  now: () => Date.now(),
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Cancels a timer made by `timerAt`. */
export type CancelTimer = () => void;

/**
 * Runs `callback` once the clock reaches `instant` (epoch ms). Long waits are chained in steps of at most
 * 2^31−1 ms, and every step re-reads the clock, so a timer that fires late (a suspended machine) or a clock that jumped
 * still fires at the right wall-clock moment rather than at the scheduled offset.
 */
export function timerAt(clock: ServerClock, instant: number, callback: () => void): CancelTimer {
  let handle: unknown;
  let cancelled = false;
  const delayUntilInstant = (): number => clampDelay(instant - clock.now());
  const step = (): void => {
    handle = undefined;
    if (cancelled) return;
    if (instant - clock.now() > 0) {
      handle = clock.setTimeout(step, delayUntilInstant());
      return;
    }
    callback();
  };
  // Even an instant already past goes through one timer turn, so the caller finishes its own work first.
  handle = clock.setTimeout(step, delayUntilInstant());
  return () => {
    cancelled = true;
    if (handle !== undefined) clock.clearTimeout(handle);
    handle = undefined;
  };
}
