import type { Timers } from "./clock.js";
import { AuthedSocketError } from "./errors.js";
import type { AuthedSocketEventName, AuthedSocketEvents, createEmitter } from "./events.js";

/** How long `waitFor` waits by default. */
export const WAIT_FOR_DEFAULT_MS = 30_000;

/**
 * Resolves with the next `event`; rejects with ERR_WAIT_TIMEOUT after `timeoutMs`, ERR_LOGGED_OUT if the session
 * ends first, ERR_CLOSED if the client closes. Every listener and the timer go away when it settles.
 */
export function waitForEvent<K extends AuthedSocketEventName>(
  events: ReturnType<typeof createEmitter>,
  timers: Timers,
  event: K,
  timeoutMs: number,
  /** What went wrong meanwhile, appended to the timeout's message ("" when nothing did). */
  explain: () => string = () => "",
): Promise<AuthedSocketEvents[K]> {
  return new Promise((resolve, reject) => {
    const stops: (() => void)[] = [];
    const settle = (outcome: () => void) => {
      for (const stop of stops) stop();
      timers.clearTimeout(timer);
      outcome();
    };
    const timer = timers.setTimeout(
      () =>
        settle(() =>
          reject(
            new AuthedSocketError("ERR_WAIT_TIMEOUT", `no "${event}" within ${timeoutMs} ms${explain()}`),
          ),
        ),
      timeoutMs,
    );
    stops.push(events.on(event, (payload) => settle(() => resolve(payload))));
    if (event !== "logged_out")
      stops.push(
        events.on("logged_out", ({ reason, error }) =>
          settle(() =>
            reject(
              new AuthedSocketError(
                "ERR_LOGGED_OUT",
                `logged out (${reason}) while waiting for "${event}"`,
                error ? { cause: error } : undefined,
              ),
            ),
          ),
        ),
      );
    stops.push(
      events.on("state", ({ to }) => {
        if (to === "closed")
          settle(() => reject(new AuthedSocketError("ERR_CLOSED", `closed while waiting for "${event}"`)));
      }),
    );
  });
}
