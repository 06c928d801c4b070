/**
 * Room guards: the `rooms` option of `authenticate()` decides, from the current claims, which rooms a socket may be
 * in. A join it does not allow is dropped; after each new token (in-band refresh, restored session) the rooms the
 * socket is in are checked again, and those no longer allowed are left and named to the client
 * (`auth:rooms_revoked { rooms }`).
 */
import { MAX_REVOKED_ROOMS, ProtocolEvent, type RoomsRevokedPayload } from "../protocol.js";
import type { AuthContext, HookSocket } from "./options.js";
import { dropWithheld, releaseWithheld, withheldOf } from "./recovery.js";
import { userRoom } from "./users.js";

/** Sockets whose `join` is already filtered (a restored session starts once, but be safe against a second call). */
const guarded = new WeakSet<HookSocket>();

type Join = HookSocket["join"];

/** Claims of the socket's current token, as `authenticate()` put them on `socket.data.auth`. */
function claimsOf(socket: HookSocket): object | undefined {
  const claims = (socket.data as { auth?: { claims?: unknown } } | null | undefined)?.auth?.claims;
  return typeof claims === "object" && claims !== null ? claims : undefined;
}

/** Rooms the companion itself puts the socket in, which no guard decides: its own id room and its user room. */
function isOwnRoom(socket: HookSocket, room: string, subject: string): boolean {
  return room === socket.id || room === userRoom(subject);
}

/**
 * Whether the guard lets the socket's current claims be in `room`. Only a literal `true` allows: a throw, a
 * promise (the guard must answer at once, as `socket.join` does) or anything else refuses — fail closed.
 */
function allows(context: AuthContext, socket: HookSocket, room: string): boolean {
  const guard = context.rooms;
  if (!guard) return true;
  const claims = claimsOf(socket);
  if (!claims) return false;
  try {
    return guard(claims, room, socket) === true;
  } catch {
    return false;
  }
}

/**
 * Filters the socket's `join` through the guard (refused rooms are not joined; the call returns as usual), then
 * checks the rooms it is already in — a session restored by connectionStateRecovery comes back with its old rooms.
 * Does nothing without a `rooms` option.
 */
export function guardRooms(socket: HookSocket, context: AuthContext, subject: string): void {
  if (!context.rooms || guarded.has(socket)) return;
  guarded.add(socket);
  const join: Join = socket.join.bind(socket);
  const filtered: Join = (rooms) => {
    // As socket.io does: anything but an array is one room (a number from a client must not throw here).
    const asked: unknown[] = Array.isArray(rooms) ? [...rooms] : [rooms];
    const allowed = asked.filter(
      (room): room is string =>
        typeof room === "string" && (isOwnRoom(socket, room, subject) || allows(context, socket, room)),
    );
    if (allowed.length === 0) return undefined;
    return join(allowed);
  };
  socket.join = filtered;
  recheckRooms(socket, context, subject);
}

/**
 * Leaves every room the socket's current claims no longer allow and tells the client which
 * (`auth:rooms_revoked`, in batches of at most {@link MAX_REVOKED_ROOMS}). Call it right after the new claims are on
 * `socket.data.auth`, before acknowledging them, so the client learns of the token and of the rooms together.
 * Rooms newly allowed are not joined: joining stays the application's decision.
 */
export function recheckRooms(socket: HookSocket, context: AuthContext, subject: string): void {
  if (!context.rooms || !socket.connected) return;
  const revoked = [...socket.rooms].filter(
    (room) => !isOwnRoom(socket, room, subject) && !allows(context, socket, room),
  );
  for (const room of revoked) {
    // A cluster adapter may leave asynchronously; a failure must not crash the server (the guard still filters).
    Promise.resolve(socket.leave(room)).catch(() => undefined);
  }
  for (let start = 0; start < revoked.length; start += MAX_REVOKED_ROOMS) {
    const payload: RoomsRevokedPayload = { rooms: revoked.slice(start, start + MAX_REVOKED_ROOMS) };
    socket.emit(ProtocolEvent.RoomsRevoked, payload);
  }
}

/**
 * Whether replaying what a restored session missed could hand it messages of a room its current token no longer
 * allows. socket.io gives the missed packets without their rooms, so they cannot be sorted: such a session is not
 * restored (it is cut and comes back through a fresh handshake). Without missed packets the rooms are simply
 * re-checked when the session starts.
 */
export function replayWouldLeak(socket: HookSocket, context: AuthContext): boolean {
  const held = withheldOf(socket);
  const subject = (socket.data as { auth?: { subject?: unknown } } | undefined)?.auth?.subject;
  if (!context.rooms || !held || held.missedPackets.length === 0 || typeof subject !== "string") return false;
  return held.rooms.some(
    (room) => typeof room === "string" && !isOwnRoom(socket, room, subject) && !allows(context, socket, room),
  );
}

/**
 * For a restored session that went through the middleware again (`skipMiddlewares: false`): hands it what was
 * withheld and returns true, or — when {@link replayWouldLeak} — drops it, cuts the session with `auth:expired`
 * (the client comes back through a fresh handshake) and returns false.
 */
export function releaseRestored(socket: HookSocket, context: AuthContext): boolean {
  if (!replayWouldLeak(socket, context)) {
    releaseWithheld(socket);
    return true;
  }
  dropWithheld(socket);
  context.onReject({ phase: "recovery", code: "UNAVAILABLE", socketId: socket.id });
  socket.emit(ProtocolEvent.Expired, {});
  socket.disconnect(true);
  return false;
}
