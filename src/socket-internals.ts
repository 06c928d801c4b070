/**
 * Every touch of socket.io-client's private fields lives here, so a rename in socket.io-client breaks one module and
 * the unit test that pins these names (test/unit/socket-internals.test.ts), not the client silently.
 */
import { noop } from "./util.js";

interface Internals {
  /** The recovery session id (connectionStateRecovery); sent back in the next CONNECT packet. */
  _pid?: string | undefined;
  /** The offset of the last packet received in that session. */
  _lastOffset?: string | undefined;
  sendBuffer: { id?: number }[];
  /** Events received before the CONNECT answer; socket.io-client hands them to listeners at the next `connect`. */
  receiveBuffer: unknown[];
  acks: Record<string, ((...args: unknown[]) => void) & { withError?: boolean }>;
  _queue?: { tryCount: number; args: unknown[] }[];
}

const ended = () => new Error("authed-socket: the session ended before this emit was sent");

/**
 * Forgets socket.io's recovery session, so the next handshake starts a new session: a session restored across a
 * logout or a change of user would hand the previous user's rooms and missed packets to the next one.
 */
export function forgetRecoverySession(socket: object): void {
  const s = socket as Internals;
  s._pid = undefined;
  s._lastOffset = undefined;
}

/**
 * Drops events the server sent on an earlier connection attempt that it never accepted. socket.io-client keeps what
 * arrives before the CONNECT answer and delivers it at the next `connect`, even one of a later attempt: an
 * `auth_error` a python-socketio connect handler sent with its refusal would be read as refusing the next token.
 * Called as a new handshake starts, so what arrives for this attempt is kept.
 */
export function dropEventsOfEarlierAttempts(socket: object): void {
  (socket as Internals).receiveBuffer = [];
}

/** Drops emits buffered while disconnected; their acks fail instead of waiting forever. */
export function discardBuffered(socket: object): void {
  const s = socket as Internals;
  const dropped = s.sendBuffer;
  s.sendBuffer = [];
  for (const packet of dropped) {
    const ack = packet.id === undefined ? undefined : s.acks?.[packet.id];
    if (!ack) continue;
    delete s.acks[packet.id as number];
    if (ack.withError) ack(ended());
  }
}

/**
 * With socket.io's `retries` option, emits wait in a queue of their own that survives a disconnect and would be
 * sent on the next connection — possibly another user's. Their acks fail instead.
 */
export function discardQueued(socket: object): void {
  const queue = (socket as Internals)._queue;
  while (queue?.length) {
    const head = queue[0] as { tryCount: number; args: unknown[] };
    const settle = head.args[head.args.length - 1];
    if (typeof settle !== "function") {
      queue.shift();
      continue;
    }
    head.tryCount = Number.POSITIVE_INFINITY; // makes socket.io drop it and hand the error to the app's ack
    settle(ended());
    if (queue[0] === head) queue.shift();
  }
}

/**
 * How many emits sent on the live connection still wait for their ack. Acks of emits still in `sendBuffer` (not yet
 * on the wire) do not count: they survive a reconnect, while socket.io fails the others when the connection ends.
 */
export function awaitingAcks(socket: object): number {
  const s = socket as Internals;
  if (!s.acks) return 0;
  let count = 0;
  for (const id of Object.keys(s.acks))
    if (!s.sendBuffer?.some((packet) => String(packet.id) === id)) count++;
  return count;
}

interface SendInternals {
  packet?: (packet: { type: number }) => void;
  notifyOutgoingListeners?: (packet: { type: number }) => void;
  sendBuffer?: { type: number }[];
}

/** socket.io-parser's EVENT and BINARY_EVENT packet types: the app's emits. */
const isEmit = (packet: { type: number }) => packet.type === 2 || packet.type === 5;

/**
 * Keeps the app's new emits off the wire until the returned function is called: they wait in the socket's send
 * buffer, where socket.io keeps emits made while disconnected and sends them at the next connect (their acks
 * survive a disconnect; only acks of emits on the wire fail). A drain before a re-handshake then ends within one
 * ack round trip, even for an app that emits faster than its acks return. onAnyOutgoing listeners hear a held emit
 * once, when it is sent. Other packets (acks the client sends back) pass.
 */
export function holdEmits(socket: object): () => void {
  const s = socket as SendInternals;
  const { packet: send, notifyOutgoingListeners: notify } = s;
  if (typeof send !== "function" || typeof notify !== "function") return noop;
  s.packet = function (this: SendInternals, packet) {
    if (isEmit(packet)) this.sendBuffer?.push(packet);
    else send.call(this, packet);
  };
  s.notifyOutgoingListeners = function (this: SendInternals, packet) {
    if (!isEmit(packet)) notify.call(this, packet);
  };
  // socket.io's methods live on its prototype: deleting the overrides restores them (twice is harmless).
  return () => {
    delete s.packet;
    delete s.notifyOutgoingListeners;
  };
}

interface TransportInternals {
  engine?: { transport?: { name?: unknown } | null } | null;
  opts?: { rememberUpgrade?: boolean };
}

/** Whether the socket's live connection runs on the websocket transport (upgraded, or opened on it). */
export function onWebsocket(socket: object): boolean {
  const manager = (socket as { io?: TransportInternals }).io;
  return manager?.engine?.transport?.name === "websocket";
}

/**
 * `socket.connect()`, with the new transport opened on websocket at once: engine.io's `rememberUpgrade`, set for
 * this one connection (the engine copies the Manager's options when it is made, inside `connect`). engine.io uses
 * it only while its last websocket succeeded, and after a websocket failure the Manager's next attempt starts with
 * the app's transports as usual. An app that set `rememberUpgrade` itself keeps its choice.
 */
export function connectOverWebsocket(socket: { connect(): unknown }): void {
  const opts = (socket as { io?: TransportInternals }).io?.opts;
  if (!opts || opts.rememberUpgrade !== undefined) {
    socket.connect();
    return;
  }
  opts.rememberUpgrade = true;
  socket.connect();
  delete opts.rememberUpgrade;
}

interface ManagerInternals {
  engine?: {
    opts?: { extraHeaders?: Record<string, string>; query?: Record<string, string> };
    transport?: {
      opts?: { extraHeaders?: Record<string, string>; query?: Record<string, string> };
      query?: Record<string, string>;
    };
  };
}

/**
 * Removes the token from the copies engine.io keeps of the Manager's options (the engine's and its transport's
 * `extraHeaders` / `query`): clearing the Manager's own options leaves them reachable after logout.
 */
export function forgetTransportToken(manager: object, where: "header" | "query"): void {
  const engine = (manager as ManagerInternals).engine;
  const transport = engine?.transport;
  if (where === "query" && transport?.query) {
    const { token: _gone, ...rest } = transport.query;
    transport.query = rest;
  }
  for (const opts of [engine?.opts, transport?.opts]) {
    if (!opts) continue;
    if (where === "header" && opts.extraHeaders) {
      const { Authorization: _gone, ...rest } = opts.extraHeaders;
      opts.extraHeaders = rest;
    }
    if (where === "query" && opts.query) {
      const { token: _gone, ...rest } = opts.query;
      opts.query = rest;
    }
  }
}

/**
 * The CONNECT packet's `auth` value. socket.io-parser puts it on the wire with `JSON.stringify(data)` (toJSON is
 * called with the key ""), while socket.io-client's `debug` output prints the whole packet with `%j` (toJSON called
 * with the key "data"): the wire carries the token, the debug line `[redacted]`. An own enumerable toJSON, so it
 * survives the `Object.assign({ pid, offset }, data)` socket.io-client does for recovery.
 */
export function connectAuth(base: object | undefined, token: string): object {
  return Object.defineProperty({ ...base, token }, "toJSON", {
    enumerable: true,
    value(this: Record<string, unknown>, key: string) {
      const { toJSON: _self, ...plain } = this;
      return key === "" ? plain : { ...plain, token: "[redacted]" };
    },
  });
}

/**
 * socket.io's emitter (`_callbacks["$" + event]`) starts an event's listener list as `[]` and pushes onto it, which
 * V8 sizes for 17 entries (152 B): for the dozen events the client listens to, ~1.4 KB per client for one listener
 * each. A list holding only the listener just added is replaced by an exact copy; a later `on` grows it as before
 * (the emitter looks the list up on every call and copies it before emitting). Lists shared with another listener,
 * and emitters that are not socket.io's, are left alone.
 */
export function compactListenerList(target: object, event: string): void {
  const lists = (target as { _callbacks?: Record<string, unknown> })._callbacks;
  const list = lists?.[`$${event}`];
  if (lists && Array.isArray(list) && list.length === 1) lists[`$${event}`] = [list[0]];
}
