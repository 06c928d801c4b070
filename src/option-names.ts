/**
 * The names of the client's options, and what helps a person who mistyped one: the closest valid name, or a pointer to
 * `socket` for socket.io-client's own options.
 */
import { describeValue } from "./log.js";

/** Every key of the client's options; options.ts fails to compile when one is missing or one is not an option. */
export const OPTION_NAMES = [
  "getToken",
  "refresh",
  "socket",
  "refreshMarginMs",
  "jitter",
  "refreshTimeoutMs",
  "retry",
  "maxAuthRejections",
  "tokenIn",
  "isAuthError",
  "authErrorEvent",
  "rotation",
  "crossTab",
  "environment",
  "logger",
  "debug",
  "on",
  "clock",
  "timers",
  "io",
] as const;

export const RETRY_NAMES = ["baseDelayMs", "maxDelayMs", "attempts"] as const;

/** socket.io-client options people put at the top level by habit: they belong under `socket`. */
const SOCKET_IO_NAMES = new Set([
  "auth",
  "autoConnect",
  "transports",
  "reconnection",
  "reconnectionAttempts",
  "reconnectionDelay",
  "reconnectionDelayMax",
  "randomizationFactor",
  "timeout",
  "query",
  "extraHeaders",
  "path",
  "forceNew",
  "multiplex",
  "withCredentials",
  "ackTimeout",
  "retries",
  "upgrade",
  "rememberUpgrade",
]);

/** Keys longer than this get no suggestion: the edit distance is quadratic in the key's length. */
const MAX_SUGGESTED_KEY = 64;

/** Levenshtein distance (insertions, deletions, substitutions), two rows. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * The valid name closest to `key` (case-insensitive edit distance), or undefined when none is close: within a third
 * of the longer name's length (at least 1), so `refreshMargin` finds `refreshMarginMs` and `x` finds nothing.
 */
export function closestName(key: string, names: readonly string[]): string | undefined {
  if (key.length > MAX_SUGGESTED_KEY) return undefined;
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const name of names) {
    const distance = editDistance(key.toLowerCase(), name.toLowerCase());
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  const limit = Math.max(1, Math.floor(Math.max(key.length, best?.length ?? 0) / 3));
  return bestDistance <= limit ? best : undefined;
}

/**
 * Warns about every key of `given` that is not an option: a typo such as `refreshMargin` would otherwise be ignored
 * in silence, and the default it leaves in place found only in production.
 */
export function warnUnknownKeys(
  warn: (message: string) => void,
  given: object,
  names: readonly string[],
  prefix = "",
): void {
  for (const key of Object.keys(given)) {
    if (names.includes(key)) continue;
    const shown = describeValue(`${prefix}${key}`);
    const closest = closestName(key, names);
    if (prefix === "" && SOCKET_IO_NAMES.has(key))
      warn(`option ${shown} is a socket.io-client option and is ignored here: pass it inside "socket"`);
    else if (closest) warn(`unknown option ${shown} is ignored (did you mean "${prefix}${closest}"?)`);
    else warn(`unknown option ${shown} is ignored`);
  }
}
