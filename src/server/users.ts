/**
 * Per-user operations. Everything goes through the Socket.IO adapter (`target.in(room)`), so with a cluster adapter
 * such as `@socket.io/redis-adapter` they reach the user's sockets on every node.
 */
import { ProtocolEvent, type RevokedPayload } from "../protocol.js";
import { revokeStoredSessions } from "./recovery.js";

/** What `in(room)` returns on a server or namespace; only the calls used here. */
export interface RoomOperator {
  disconnectSockets(close?: boolean): void;
  fetchSockets(): Promise<readonly unknown[]>;
}

/** A socket.io `Server` (its main namespace) or a `Namespace`, whatever its event maps. */
export interface RoomsTarget {
  in(room: string): RoomOperator;
}

/**
 * Room names start with this prefix. Socket ids never contain `:`, and the prefix keeps clear of the application's
 * own room names.
 */
const USER_ROOM_PREFIX = "authed-socket:user:";

/**
 * The room every socket of `subject` joins (unless `joinUserRoom: false`). Emit to it to reach all of a user's
 * devices.
 *
 * @example
 * ```ts
 * io.to(userRoom("user-42")).emit("notification", { text: "Payment received" });
 * ```
 */
export function userRoom(subject: string): string {
  if (typeof subject !== "string" || subject.length === 0) {
    throw new TypeError("userRoom: `subject` must be a non-empty string");
  }
  return `${USER_ROOM_PREFIX}${subject}`;
}

/**
 * Ends every session of a user on this server or namespace, across the cluster: sends `auth:revoked { reason }`,
 * then disconnects the sockets (closing their connections). The adapter delivers the two in order, and each socket
 * flushes the event before it closes, so clients see why they were cut. Clients of `authed-socket` stop
 * reconnecting; call it on each namespace the user may be connected to.
 *
 * @param target The server (main namespace) or a namespace.
 * @param subject The user, as `authenticate()`'s `subject` returned it.
 * @param reason A short reason the client receives, e.g. `"logout"`, `"password_changed"`. Defaults to `"revoked"`.
 * @example
 * ```ts
 * app.post("/logout-everywhere", async (req, res) => {
 *   await sessions.revokeAll(req.user.id);
 *   disconnectUser(io, req.user.id, "logout");
 *   res.sendStatus(204);
 * });
 * ```
 */
export function disconnectUser(target: RoomsTarget, subject: string, reason = "revoked"): void {
  const room = userRoom(subject);
  const payload: RevokedPayload = { reason };
  // The application's event map does not list protocol events, so this emit is untyped on purpose.
  const operator = target.in(room) as RoomOperator & { emit(event: string, ...args: unknown[]): boolean };
  operator.emit(ProtocolEvent.Revoked, payload);
  target.in(room).disconnectSockets(true);
  // A device that is offline right now would come back through connectionStateRecovery: it is told on return.
  revokeStoredSessions(target, room, reason);
}

/**
 * How many sockets `subject` has on this server or namespace, across the cluster (through the adapter's
 * `fetchSockets()`, which asks every node).
 *
 * @example
 * ```ts
 * if ((await countConnections(io, userId)) >= 5) throw new Error("too many devices");
 * ```
 */
export async function countConnections(target: RoomsTarget, subject: string): Promise<number> {
  const sockets = await target.in(userRoom(subject)).fetchSockets();
  return sockets.length;
}
