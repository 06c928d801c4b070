/**
 * Small helpers shared by the unit tests: unsigned JWT-shaped tokens (the client only decodes, never verifies),
 * deferred promises, and settling a promise early so a rejection is never reported as unhandled while fake time runs.
 */

export { fakeJwt, jwtAt } from "./fake-jwt.js";

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/**
 * Attaches handlers at once and resolves with the outcome. `settled()` tells whether it has settled yet, so a test
 * can assert "still pending" without racing.
 */
export function track<T>(promise: Promise<T>): { outcome: Promise<Outcome<T>>; settled(): boolean } {
  let done = false;
  const outcome = promise.then(
    (value): Outcome<T> => {
      done = true;
      return { ok: true, value };
    },
    (error: unknown): Outcome<T> => {
      done = true;
      return { ok: false, error };
    },
  );
  return { outcome, settled: () => done };
}

/** Resolves with the rejection reason of `promise`; fails the test if it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  const result = await track(promise).outcome;
  if (result.ok) throw new Error("expected the promise to reject, but it resolved");
  return result.error;
}

/** Deep string form of anything a logger received, including Error messages, names and causes. */
export function deepText(value: unknown, seen = new Set<unknown>()): string {
  if (typeof value === "string") return value;
  if (value === null || (typeof value !== "object" && typeof value !== "function")) return String(value);
  if (seen.has(value)) return "";
  seen.add(value);
  const parts: string[] = [];
  if (value instanceof Error) parts.push(value.name, value.message, String(value.stack ?? ""));
  for (const key of Reflect.ownKeys(value)) {
    const inner = (value as Record<PropertyKey, unknown>)[key];
    parts.push(String(key), deepText(inner, seen));
  }
  if (value instanceof Error && value.cause !== undefined) parts.push(deepText(value.cause, seen));
  return parts.join(" ");
}
