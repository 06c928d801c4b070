import type { AuthedSocketState } from "./events.js";

/**
 * Every transition the client may make, by state. docs/lifecycle.md's diagram is tested against this table
 * (test/unit/lifecycle.test.ts), and test/unit/model.test.ts checks every transition its runs observe.
 */
export const TRANSITIONS = {
  idle: ["connecting", "logged_out", "closed"],
  connecting: ["authenticated", "reconnecting", "idle", "logged_out", "closed"],
  authenticated: ["refreshing", "reconnecting", "connecting", "idle", "logged_out", "closed"],
  refreshing: ["authenticated", "reconnecting", "connecting", "idle", "logged_out", "closed"],
  reconnecting: ["connecting", "authenticated", "idle", "logged_out", "closed"],
  logged_out: ["connecting", "closed"],
  closed: [],
} as const satisfies Record<AuthedSocketState, readonly AuthedSocketState[]>;

export function isAllowed(from: AuthedSocketState, to: AuthedSocketState): boolean {
  return (TRANSITIONS[from] as readonly AuthedSocketState[]).includes(to);
}

const underTest = () =>
  typeof process !== "undefined" && typeof process.env === "object" && process.env.VITEST !== undefined;

/**
 * Checks a transition against the table before the client makes it: a transition outside the table is a bug, thrown
 * under test (VITEST set) and reported otherwise (the client still moves, so production keeps working).
 */
export function checkTransition(
  from: AuthedSocketState,
  to: AuthedSocketState,
  cause: string,
  report: (message: string) => void,
): void {
  if (isAllowed(from, to)) return;
  const message = `lifecycle: ${from} → ${to} (${cause}) is not in the transition table`;
  if (underTest()) throw new Error(`authed-socket: ${message}`);
  report(message);
}
