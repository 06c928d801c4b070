import type { Socket } from "socket.io-client";
import { retryAfterOf } from "./classify.js";
import type { ConnectionScope } from "./connection.js";
import { ProtocolEvent, type RefreshAck } from "./protocol.js";
import { awaitingAcks } from "./socket-internals.js";
import { type TimerClock, timerAt } from "./timer.js";

/** How an in-band rotation (`auth:refresh`) ended, as a value. */
export type InBandOutcome =
  | { kind: "accepted" }
  | { kind: "refused"; code: string; retryAfterMs?: number }
  /** No ack in time, or an ack that is not a RefreshAck: the connection is kept as it is. */
  | { kind: "unanswered" };

/** Sends the token on the live connection and resolves with the server's answer. Never rejects. */
export function requestInBand(socket: Socket, token: string, timeoutMs: number): Promise<InBandOutcome> {
  return new Promise((resolve) => {
    (socket as unknown as { timeout(ms: number): Socket })
      .timeout(timeoutMs)
      .emit(ProtocolEvent.Refresh, { token }, (error: Error | null, ack?: RefreshAck) => {
        if (error || !ack || typeof ack !== "object") return resolve({ kind: "unanswered" });
        if (ack.ok === true) return resolve({ kind: "accepted" });
        const { code } = ack as { code?: unknown };
        // The same reading (and 10-minute cap) as a handshake's RATE_LIMITED refusal.
        const retryAfterMs = retryAfterOf(ack);
        const wait = retryAfterMs === undefined ? {} : { retryAfterMs };
        resolve({ kind: "refused", code: typeof code === "string" ? code : "UNKNOWN", ...wait });
      });
  });
}

/**
 * Resolves once no emit on the wire awaits its ack (socket.io fails those when the connection ends; emits made
 * while disconnected wait in its buffer and survive), or at `until`, or when the scope ends. Checked after every
 * packet the Manager decodes, so it costs nothing while the connection is quiet.
 */
export function drained(
  socket: Socket,
  scope: ConnectionScope,
  clock: TimerClock,
  until: number,
): Promise<void> {
  return new Promise((resolve) => {
    if (awaitingAcks(socket) === 0) return resolve();
    const manager = socket.io as unknown as {
      on(event: "packet", listener: () => void): void;
      off(event: "packet", listener: () => void): void;
    };
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      manager.off("packet", onPacket);
      cancel();
      resolve();
    };
    // The socket handles the packet (and its ack) in the same turn as this listener: look once that is done.
    const onPacket = () => queueMicrotask(() => awaitingAcks(socket) === 0 && finish());
    manager.on("packet", onPacket);
    const cancel = timerAt(clock, until, finish);
    scope.own(finish);
  });
}
