/**
 * Pins the socket.io-client internals src/socket-internals.ts relies on: if socket.io-client renames them, these
 * fail instead of the client silently keeping a recovery session or a buffered emit.
 */
import { io } from "socket.io-client";
import { describe, expect, it } from "vitest";
import {
  awaitingAcks,
  compactListenerList,
  connectAuth,
  discardBuffered,
  discardQueued,
  dropEventsOfEarlierAttempts,
  forgetRecoverySession,
  holdEmits,
} from "../../src/socket-internals.js";

type Internal = {
  onconnect(id: string, pid?: string): void;
  emitEvent(args: unknown[]): void;
  _sendConnectPacket(data: object): void;
  packet(packet: { type: number; data?: unknown }): void;
  onpacket(packet: { type: number; nsp: string; id?: number; data?: unknown }): void;
  connected: boolean;
  nsp: string;
  _pid?: string;
  _lastOffset?: string;
  sendBuffer: unknown[];
  _queue: unknown[];
};

type Emitting = Internal & {
  onAny(listener: (...args: unknown[]) => void): void;
  timeout(ms: number): { emit(...args: unknown[]): void };
  emit(...args: unknown[]): void;
  close(): void;
};

function socket(options: { retries?: number } = {}): Emitting {
  return io("http://127.0.0.1:1", { autoConnect: false, forceNew: true, ...options }) as unknown as Emitting;
}

describe("socket.io-client internals", () => {
  it("the recovery session lives in _pid/_lastOffset and forgetRecoverySession drops it from the CONNECT packet", () => {
    const s = socket();
    s.onconnect("id-1", "pid-1");
    s.emitEvent(["tick", "offset-1"]);
    expect(s._pid).toBe("pid-1");
    expect(s._lastOffset).toBe("offset-1");
    const sent: unknown[] = [];
    s.packet = (p) => void sent.push(p.data);
    s._sendConnectPacket({ token: "t" });
    expect(sent[0]).toEqual({ pid: "pid-1", offset: "offset-1", token: "t" });
    forgetRecoverySession(s);
    s._sendConnectPacket({ token: "t" });
    expect(sent[1]).toEqual({ token: "t" });
    s.close();
  });

  it("emits wait in sendBuffer (and _queue with retries); the discard helpers fail their acks", () => {
    const s = socket();
    const errors: unknown[] = [];
    s.timeout(10_000).emit("a", (e: unknown) => errors.push(e));
    expect(s.sendBuffer).toHaveLength(1);
    discardBuffered(s);
    expect(s.sendBuffer).toHaveLength(0);
    expect(errors).toHaveLength(1);
    const r = socket({ retries: 2 });
    r.emit("b", () => undefined);
    expect(r._queue).toHaveLength(1);
    discardQueued(r);
    expect(r._queue).toHaveLength(0);
    s.close();
    r.close();
  });
});

describe("events received before the CONNECT answer", () => {
  it("socket.io-client delivers them at the next connect, even of a later attempt; dropEventsOfEarlierAttempts forgets them", () => {
    const heard: unknown[] = [];
    const s = socket();
    s.onAny((...args: unknown[]) => heard.push(args));
    s.onpacket({ type: 2, nsp: s.nsp, data: ["auth_error", { message: "Invalid token" }] }); // EVENT, not connected
    s.onpacket({ type: 1, nsp: s.nsp }); // DISCONNECT before any CONNECT answer: the attempt was refused
    expect(heard).toEqual([]);
    s.packet = () => undefined;
    s.onconnect("id-1");
    expect(heard).toEqual([["auth_error", { message: "Invalid token" }]]); // what the client must prevent

    const t = socket();
    t.onAny((...args: unknown[]) => heard.push(args));
    t.onpacket({ type: 2, nsp: t.nsp, data: ["auth_error", { message: "Invalid token" }] });
    t.onpacket({ type: 1, nsp: t.nsp });
    dropEventsOfEarlierAttempts(t); // a new handshake starts
    t.onpacket({ type: 2, nsp: t.nsp, data: ["welcome"] }); // sent on this attempt, before its CONNECT answer
    t.packet = () => undefined;
    t.onconnect("id-2");
    expect(heard.slice(1)).toEqual([["welcome"]]);
    s.close();
    t.close();
  });
});

describe("acks awaited on the wire", () => {
  it("an emit sent on the connection counts until its ack arrives; one still in sendBuffer does not", () => {
    const s = socket();
    s.timeout(10_000).emit("buffered", () => undefined);
    expect(awaitingAcks(s)).toBe(0); // not connected: it waits in sendBuffer and survives a reconnect
    s.packet = () => undefined; // no transport: packets go nowhere
    s.onconnect("id-1");
    expect(s.sendBuffer).toHaveLength(0);
    expect(awaitingAcks(s)).toBe(1); // flushed on connect: now on the wire
    s.timeout(10_000).emit("sent", () => undefined);
    expect(awaitingAcks(s)).toBe(2);
    s.onpacket({ type: 3, nsp: s.nsp, id: 0, data: [] }); // ACK of the first
    expect(awaitingAcks(s)).toBe(1);
    s.close();
  });
});

describe("the CONNECT packet's auth value", () => {
  it("socket.io-parser encodes the real token; a whole-packet %j (socket.io-client's debug line) shows it redacted", async () => {
    const { Encoder, PacketType } = await import("socket.io-parser");
    const auth = connectAuth({ app: 1 }, "secret-token-value");
    const withRecovery = Object.assign({ pid: "p", offset: "o" }, auth); // what socket.io-client sends on recovery
    for (const data of [auth, withRecovery]) {
      const [wire] = new Encoder().encode({ type: PacketType.CONNECT, nsp: "/", data });
      expect(JSON.parse(String(wire).slice(1))).toMatchObject({ app: 1, token: "secret-token-value" });
      expect(JSON.stringify({ type: 0, data, nsp: "/" })).not.toContain("secret-token-value");
    }
  });
});

describe("compactListenerList", () => {
  it("finds socket.io's list of a lone listener and keeps on, emit and off working with the copy", () => {
    const socket = io("http://127.0.0.1:9", { autoConnect: false, forceNew: true });
    const seen: unknown[] = [];
    const mine = (value: unknown) => seen.push(["mine", value]);
    socket.on("hello" as never, mine as never);
    const lists = (socket as unknown as { _callbacks: Record<string, unknown[]> })._callbacks;
    const before = lists.$hello;
    compactListenerList(socket, "hello");
    expect(lists.$hello).not.toBe(before);
    expect(lists.$hello).toEqual([mine]);
    const other = (value: unknown) => seen.push(["other", value]);
    socket.on("hello" as never, other as never);
    (socket as unknown as { emitReserved(event: string, value: unknown): void }).emitReserved("hello", 1);
    socket.off("hello" as never, mine as never);
    (socket as unknown as { emitReserved(event: string, value: unknown): void }).emitReserved("hello", 2);
    expect(seen).toEqual([
      ["mine", 1],
      ["other", 1],
      ["other", 2],
    ]);
    socket.close();
  });

  it("leaves a list another listener shares alone", () => {
    const socket = io("http://127.0.0.1:9", { autoConnect: false, forceNew: true });
    socket.on("hello" as never, (() => {}) as never);
    socket.on("hello" as never, (() => {}) as never);
    const lists = (socket as unknown as { _callbacks: Record<string, unknown[]> })._callbacks;
    const shared = lists.$hello;
    compactListenerList(socket, "hello");
    expect(lists.$hello).toBe(shared);
    socket.close();
  });
});

describe("holdEmits", () => {
  it("keeps emits of a connected socket in sendBuffer, unheard by onAnyOutgoing, until released; then restores socket.io's methods", () => {
    const s = socket();
    const sent: unknown[] = [];
    const heard: unknown[] = [];
    s.onconnect("id");
    const proto = Object.getPrototypeOf(s) as Internal;
    const manager = (s as unknown as { io: { engine: unknown } }).io;
    manager.engine = { transport: { writable: true }, _hasPingExpired: () => false };
    // What reaches the wire: socket.io's packet() hands it to the Manager.
    (s as unknown as { io: { _packet(p: unknown): void } }).io._packet = (p) => sent.push(p);
    (s as unknown as { onAnyOutgoing(l: (...a: unknown[]) => void): void }).onAnyOutgoing((e) =>
      heard.push(e),
    );
    const release = holdEmits(s);
    s.emit("held", 1, () => undefined);
    expect({ buffered: s.sendBuffer.length, sent: sent.length, heard }).toEqual({
      buffered: 1,
      sent: 0,
      heard: [],
    });
    // An ack the client sends back is not an emit: it passes.
    s.packet({ type: 3, data: [] });
    expect(sent).toHaveLength(1);
    release();
    expect(s.packet).toBe(proto.packet);
    s.emit("after");
    expect({ sent: sent.length, heard }).toEqual({ sent: 2, heard: ["after"] });
    manager.engine = undefined;
    s.close();
  });
});
