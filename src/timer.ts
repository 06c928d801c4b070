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
 * so a caller can tell a device that slept from a timer that fired on time. An object with one bound step, and the
 * callback may be a {@link TimerTarget} (the client keeps its refresh timer armed for as long as it lives).
 */
export class TimerAt {
  private handle: unknown = undefined;
  private over = false;
  private readonly fire: () => void;

  constructor(
    private readonly clock: TimerClock,
    private readonly instant: number,
    private readonly callback: ((lateMs: number) => void) | TimerTarget,
    private readonly maxStepMs = MAX_TIMER_DELAY_MS,
  ) {
    this.fire = this.step.bind(this);
    // Even an instant already past goes through one timer turn, so the caller finishes its own work first.
    this.wait(instant - clock.now());
  }

  /** Idempotent. */
  cancel(): void {
    this.over = true;
    if (this.handle !== undefined) this.clock.clearTimeout(this.handle);
    this.handle = undefined;
  }

  private wait(leftMs: number): void {
    this.handle = this.clock.setTimeout(this.fire, Math.min(clampDelay(leftMs), this.maxStepMs));
  }

  private step(): void {
    this.handle = undefined;
    if (this.over) return;
    const left = this.instant - this.clock.now();
    if (left > 0) return this.wait(left);
    this.over = true;
    const { callback } = this;
    if (typeof callback === "function") callback(-left);
    else callback.onTimer(-left);
  }
}

/** An object a {@link TimerAt} calls instead of a callback (no closure for a timer the object re-arms for life). */
export interface TimerTarget {
  onTimer(lateMs: number): void;
}

/** A {@link TimerAt} as a cancel function. */
export function timerAt(
  clock: TimerClock,
  instant: number,
  callback: (lateMs: number) => void,
  maxStepMs = MAX_TIMER_DELAY_MS,
): CancelTimer {
  const timer = new TimerAt(clock, instant, callback, maxStepMs);
  return () => timer.cancel();
}
