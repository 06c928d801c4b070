/**
 * Waits for a condition or an event with a deadline, so no test ever sleeps for a fixed time hoping something
 * happened. On timeout the error names what was awaited.
 */
export async function waitUntil(
  predicate: () => boolean,
  {
    timeoutMs = 5000,
    what = "condition",
    intervalMs = 5,
  }: { timeoutMs?: number; what?: string; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

interface Emitterish {
  once(event: string, listener: (...args: never[]) => void): unknown;
}

/** Resolves with the first payload of `event`, or rejects after `timeoutMs`. */
export function nextEvent<T = unknown>(emitter: Emitterish, event: string, timeoutMs = 5000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`timed out after ${timeoutMs} ms waiting for "${event}"`)),
      timeoutMs,
    );
    emitter.once(event, ((payload: T) => {
      clearTimeout(timer);
      resolve(payload);
    }) as (...args: never[]) => void);
  });
}
