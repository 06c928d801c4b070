import type { AuthedSocket } from "../../src/index.js";

/**
 * Sends `timeout(timeoutMs).emitWithAck("echo", n)` every `everyMs` until stopped; `stop()` waits for every emit to
 * settle and says what came back: each lost one with when it was sent and why.
 */
export function ackLoop(client: AuthedSocket, { everyMs = 50, timeoutMs = 2000 } = {}) {
  let sent = 0;
  let acked = 0;
  const lost: { n: number; sentAt: number; why: string }[] = [];
  const pending = new Set<Promise<void>>();
  const timer = setInterval(() => {
    const n = ++sent;
    const sentAt = Date.now();
    const p = client.socket
      .timeout(timeoutMs)
      .emitWithAck("echo", n)
      .then(
        (value) => {
          if (value === n) acked++;
          else lost.push({ n, sentAt, why: `wrong value ${String(value)}` });
        },
        (error: Error) => void lost.push({ n, sentAt, why: error.message }),
      )
      .finally(() => pending.delete(p));
    pending.add(p);
  }, everyMs);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all([...pending]);
      return { sent, acked, lost };
    },
  };
}
