/**
 * Sessions restored by connectionStateRecovery arrive with what they missed: socket.io rejoins their rooms and writes
 * the missed packets in the Socket constructor — before any middleware or `connection` listener can look at them.
 * Until the companion has re-checked the session, it must receive nothing: a revoked or expired session would
 * otherwise be handed the very data it may no longer see. So the adapter's `restoreSession` is wrapped to withhold
 * rooms and missed packets, and they are released only when the session is accepted.
 */
import type { HookSocket } from "./options.js";

interface Withheld {
  rooms: unknown[];
  missedPackets: unknown[];
}

interface SessionLike {
  data?: unknown;
  rooms?: unknown[];
  missedPackets?: unknown[];
}

interface RestoringAdapter {
  restoreSession?: (pid: string, offset: string) => Promise<SessionLike | null | undefined>;
}

/** Keyed by the session's `data` object, which socket.io hands to the restored socket as `socket.data` as is. */
const withheld = new WeakMap<object, Withheld>();
const wrapped = new WeakSet<object>();
/** socket.io-parser's EVENT packet type. */
const EVENT = 2;

/** Wraps the namespace adapter's `restoreSession` (once) so restored sessions start with no rooms and no packets. */
export function withholdRestoredSessions(namespace: unknown): void {
  const adapter = (namespace as { adapter?: RestoringAdapter } | null)?.adapter;
  if (!adapter || typeof adapter.restoreSession !== "function" || wrapped.has(adapter)) return;
  wrapped.add(adapter);
  const restore = adapter.restoreSession.bind(adapter);
  adapter.restoreSession = async (pid, offset) => {
    const session = await restore(pid, offset);
    if (!session) return session;
    const data = session.data;
    // A session without a data object carries no authentication: it will be cut, and gets nothing meanwhile.
    if (data !== null && typeof data === "object")
      withheld.set(data, { rooms: session.rooms ?? [], missedPackets: session.missedPackets ?? [] });
    return { ...session, rooms: [], missedPackets: [] };
  };
}

/** The session was accepted: rejoin its rooms and deliver what it missed, in order. */
export function releaseWithheld(socket: HookSocket): void {
  const data = socket.data as unknown;
  if (data === null || typeof data !== "object") return;
  const held = withheld.get(data);
  if (!held) return;
  withheld.delete(data);
  for (const room of held.rooms) if (typeof room === "string") void socket.join(room);
  const write = (socket as unknown as { packet(packet: { type: number; data: unknown }): void }).packet.bind(
    socket,
  );
  for (const packet of held.missedPackets) write({ type: EVENT, data: packet });
}

/** The session was refused: what it missed is dropped. */
/** The rooms and missed packets withheld from a restored session until its re-check decides, if any. */
export function withheldOf(socket: HookSocket): Readonly<Withheld> | undefined {
  const data = socket.data as unknown;
  return data !== null && typeof data === "object" ? withheld.get(data) : undefined;
}

export function dropWithheld(socket: HookSocket): void {
  const data = socket.data as unknown;
  if (data !== null && typeof data === "object") withheld.delete(data);
}

/**
 * Holds what the application emits to `socket` (its own `connection` handler runs while the re-check is pending)
 * until `release(true)` sends it, in order, or `release(false)` drops it. Room broadcasts cannot reach the socket
 * meanwhile: its rooms are withheld too. (With connectionStateRecovery socket.io routes `socket.emit` through the
 * adapter, so the hold sits on `emit` itself.)
 */
export function holdOutgoing(
  socket: HookSocket,
  limit: number,
): { release(send: boolean): void; overflow(): boolean } {
  const target = socket as unknown as { emit: (...args: unknown[]) => boolean };
  const queue: unknown[][] = [];
  let overflowed = false;
  target.emit = (...args: unknown[]) => {
    if (queue.length < limit) queue.push(args);
    else overflowed = true;
    return true;
  };
  return {
    release(send) {
      // Back to the prototype's method: the instance property only shadowed it.
      delete (target as { emit?: unknown }).emit;
      if (send) for (const args of queue.splice(0)) target.emit(...args);
      queue.length = 0;
    },
    overflow: () => overflowed,
  };
}

/** Stored sessions that `disconnectUser()` ended while their device was briefly offline, with the reason. */
const revokedWhileAway = new WeakMap<object, string>();

/**
 * Marks the sessions socket.io keeps for recovery (in-memory adapter) that belong to `room`: when their device comes
 * back, it gets `auth:revoked` instead of its old session. Adapters that keep sessions elsewhere (a cluster store)
 * cannot be reached from here; `isRevoked` covers those.
 */
export function revokeStoredSessions(target: unknown, room: string, reason: string): void {
  // A Namespace has its adapter as a property; a Server has an `adapter()` method and its main namespace's adapter.
  const t = target as { adapter?: unknown; sockets?: { adapter?: unknown } } | null;
  const own = typeof t?.adapter === "object" ? t.adapter : undefined;
  const adapter = (own ?? t?.sockets?.adapter) as { sessions?: unknown } | undefined;
  const sessions = adapter?.sessions;
  if (!(sessions instanceof Map)) return;
  for (const session of sessions.values() as Iterable<SessionLike>) {
    const data = session?.data;
    if (
      Array.isArray(session?.rooms) &&
      session.rooms.includes(room) &&
      data !== null &&
      typeof data === "object"
    )
      revokedWhileAway.set(data, reason);
  }
}

/** The reason a restored session was revoked while its device was away, if it was. */
export function revokedReason(socket: HookSocket): string | undefined {
  const data = socket.data as unknown;
  return data !== null && typeof data === "object" ? revokedWhileAway.get(data) : undefined;
}
