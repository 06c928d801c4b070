import { clampDelay, MAX_TIMER_DELAY_MS } from "./schedule.js";

/** A clock with timers: what {@link timerAt} needs. The client's clock + timers and the server's clock both fit. */
export interface TimerClock {
  now(): number;
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Cancels a timer made by {@link timerAt}. Idempotent. */
export type CancelTimer = () => void;

/**
 * The one timer primitive of client and server: runs `callback` once the clock reaches `instant` (epoch ms). The wait
 * is chained in steps of at most `maxStepMs` (and never more than setTimeout's 2^31−1 ms), and every step re-reads the
 * clock, so a timer that fires late (a suspended machine, a throttled tab) or a clock that was set fires at the right
 * wall-clock moment rather than at the scheduled offset. `callback` receives how late it runs (ms past `instant`),
 * so a caller can tell a device that slept from a timer that fired on time.
 */
export function timerAt(
  clock: TimerClock,
  instant: number,
  callback: (lateMs: number) => void,
  maxStepMs = MAX_TIMER_DELAY_MS,
): CancelTimer {
  let handle: unknown;
  let cancelled = false;
  const step = (): void => {
    handle = undefined;
    if (cancelled) return;
    const left = instant - clock.now();
    if (left > 0) {
      handle = clock.setTimeout(step, Math.min(clampDelay(left), maxStepMs));
      return;
    }
    cancelled = true;
    callback(-left);
  };
  // Even an instant already past goes through one timer turn, so the caller finishes its own work first.
  handle = clock.setTimeout(step, Math.min(clampDelay(instant - clock.now()), maxStepMs));
  return () => {
    cancelled = true;
    if (handle !== undefined) clock.clearTimeout(handle);
    handle = undefined;
  };
}
