/**
 * Time for the server companion, behind an interface so tests can count or fake timers, plus a timer that survives
 * delays longer than `setTimeout` can hold.
 */
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

/** The timer primitive client and server share (src/timer.ts): fires at a wall-clock instant, re-checked per step. */
export { type CancelTimer, timerAt } from "../timer.js";
