/**
 * Helpers for the `authed-socket/server` tests: plain socket.io-client sockets tracked for clean-up, promises for
 * "connected" / "refused", an event recorder, and clocks that count or drive the watchdog's timers.
 */
import {
  type Socket as ClientSocket,
  io as connectClient,
  type ManagerOptions,
  type SocketOptions,
} from "socket.io-client";
import type { ServerClock } from "../../src/server/index.js";
import { nextEvent } from "./wait.js";

export type { ClientSocket };

const open = new Set<ClientSocket>();

export interface ClientOptions {
  /** Sent as `auth.token`; omit for no token. */
  token?: unknown;
  /** The whole `auth` object, when a test needs something other than `{ token }`. */
  auth?: Record<string, unknown>;
  /** Extra HTTP headers (Node clients can send `Authorization`). */
  headers?: Record<string, string>;
  /** Namespace path, "/" by default. */
  namespace?: string;
  /** Let the Manager reconnect; off by default so a refused or cut socket stays down. */
  reconnection?: boolean;
  /** Transports to use; websocket only by default. */
  transports?: Array<"websocket" | "polling">;
}

/** A socket.io-client socket on the websocket transport, closed by `closeClients()`. */
export function client(url: string, options: ClientOptions = {}): ClientSocket {
  const { token, auth, headers, namespace = "/", reconnection = false, transports = ["websocket"] } = options;
  const settings: Partial<ManagerOptions & SocketOptions> = {
    transports,
    forceNew: true,
    reconnection,
    reconnectionDelay: 20,
    reconnectionDelayMax: 50,
    randomizationFactor: 0,
    auth: auth ?? (token === undefined ? {} : { token }),
    ...(headers ? { extraHeaders: headers } : {}),
  };
  const socket = connectClient(`${url}${namespace === "/" ? "" : namespace}`, settings);
  open.add(socket);
  return socket;
}

/** Closes every client the test opened. */
export function closeClients(): void {
  for (const socket of open) socket.disconnect();
  open.clear();
}

/** Resolves on `connect`; rejects with the `connect_error` if the handshake is refused. */
export function connected(socket: ClientSocket, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timed out waiting for connect")), timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once("connect_error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

export interface Refusal {
  message: string;
  data: unknown;
}

/** Resolves with the `connect_error` of a refused handshake; rejects if the socket connects instead. */
export function refused(socket: ClientSocket, timeoutMs = 5000): Promise<Refusal> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timed out waiting for connect_error")), timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      reject(new Error("the handshake was accepted"));
    });
    socket.once("connect_error", (error: Error & { data?: unknown }) => {
      clearTimeout(timer);
      resolve({ message: error.message, data: error.data });
    });
  });
}

/** Records the names (and payloads) of every event a client socket receives, in order, including `disconnect`. */
export function record(socket: ClientSocket): Array<{ event: string; payload: unknown }> {
  const events: Array<{ event: string; payload: unknown }> = [];
  socket.onAny((event: string, payload: unknown) => events.push({ event, payload }));
  socket.on("disconnect", (reason) => events.push({ event: "disconnect", payload: reason }));
  return events;
}

/** Emits `auth:refresh` and resolves with the ack, with a deadline. */
export function refresh(socket: ClientSocket, payload: unknown, timeoutMs = 5000): Promise<unknown> {
  return socket.timeout(timeoutMs).emitWithAck("auth:refresh", payload);
}

/** Resolves with the next `disconnect` reason. */
export function disconnected(socket: ClientSocket, timeoutMs = 5000): Promise<string> {
  return nextEvent<string>(socket, "disconnect", timeoutMs);
}

/** A clock on real time that counts pending timers and records every requested delay. */
export interface CountingClock extends ServerClock {
  pending(): number;
  readonly delays: number[];
}

export function countingClock(): CountingClock {
  const live = new Set<ReturnType<typeof setTimeout>>();
  const delays: number[] = [];
  return {
    delays,
    pending: () => live.size,
    now: () => Date.now(),
    setTimeout(callback, delayMs) {
      delays.push(delayMs);
      const handle = setTimeout(() => {
        live.delete(handle);
        callback();
      }, delayMs);
      live.add(handle);
      return handle;
    },
    clearTimeout(handle) {
      live.delete(handle as ReturnType<typeof setTimeout>);
      clearTimeout(handle as ReturnType<typeof setTimeout>);
    },
  };
}

/**
 * A clock the test moves by hand: `advance(ms)` fires every timer that falls due, in order. It starts at the real
 * time so that real tokens' `exp` claims line up with it.
 */
export interface ManualClock extends ServerClock {
  advance(ms: number): void;
  pending(): number;
  readonly delays: number[];
}

export function manualClock(start = Date.now()): ManualClock {
  let now = start;
  let nextId = 1;
  const timers = new Map<number, { at: number; callback: () => void }>();
  const delays: number[] = [];
  return {
    delays,
    now: () => now,
    pending: () => timers.size,
    setTimeout(callback, delayMs) {
      delays.push(delayMs);
      const id = nextId++;
      timers.set(id, { at: now + delayMs, callback });
      return id;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    advance(ms) {
      const target = now + ms;
      for (;;) {
        let due: [number, { at: number; callback: () => void }] | undefined;
        for (const entry of timers) {
          if (entry[1].at <= target && (!due || entry[1].at < due[1].at)) due = entry;
        }
        if (!due) break;
        timers.delete(due[0]);
        now = Math.max(now, due[1].at);
        due[1].callback();
      }
      now = target;
    },
  };
}
