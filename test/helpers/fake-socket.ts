import { afterEach, beforeEach, vi } from "vitest";

/**
 * A stand-in for socket.io-client's Socket, with a scripted server behind it, for client tests on fake time. It
 * behaves like the real one where the client depends on it: `auth` is called when the transport opens, a refusal
 * makes `active` false, a transport drop keeps it true and reconnects, `auth:ready` follows an accepted handshake
 * when the world says the server speaks the in-band protocol.
 */
type Handler = (...args: unknown[]) => void;

export class FakeEmitter {
  private readonly handlers = new Map<string, Set<Handler>>();
  on(event: string, handler: Handler): this {
    const set = this.handlers.get(event) ?? new Set<Handler>();
    this.handlers.set(event, set);
    set.add(handler);
    return this;
  }
  off(event: string, handler: Handler): this {
    this.handlers.get(event)?.delete(handler);
    return this;
  }
  /** Calls each listener with the emitter as `this`, as socket.io's emitter does (the client relies on it). */
  fire(event: string, ...args: unknown[]): void {
    for (const handler of [...(this.handlers.get(event) ?? [])]) handler.apply(this, args);
  }
  listenerTotal(): number {
    let n = 0;
    for (const set of this.handlers.values()) n += set.size;
    return n;
  }
}

import { expOf } from "./fake-jwt.js";

export { expOf, fakeJwt } from "./fake-jwt.js";

/** A fresh world: nothing happened yet; `inBand` says whether the fake server speaks the in-band protocol. */
export function newWorld(inBand = true): World {
  return {
    violations: [],
    stats: { handshakes: 0, accepted: 0, refreshes: 0, inBandRotations: 0 },
    rejectNext: false,
    inBand,
    quiet: null,
  };
}

/** Fake time for a test file, starting at a fixed instant. */
export function withFakeTime(): void {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });
}

export interface World {
  violations: string[];
  /** Coverage of the run, so the test fails if the scenarios stop exercising the client at all. */
  stats: { handshakes: number; accepted: number; refreshes: number; inBandRotations: number };
  rejectNext: boolean;
  inBand: boolean;
  /** When set, the open session is over: nothing may happen (logout) or nothing at all (close). */
  quiet: "logout" | "close" | null;
}

/** The parts of a socket.io-client Socket the client uses, with a scripted server behind it. */
export class FakeSocket extends FakeEmitter {
  auth: unknown = {};
  connected = false;
  active = false;
  sendBuffer: unknown[] = [];
  acks: Record<string, unknown> = {};
  /** Changes whenever the simulated engine closes: a handshake callback of an older engine is stale. */
  private engine = 0;
  private opening = false;
  readonly io = Object.assign(new FakeEmitter(), {
    opts: {} as Record<string, unknown>,
    reconnection: () => true,
    /** socket.io's default connection timeout, which also bounds the client's wait for a CONNECT's answer. */
    timeout: () => 20_000,
  });

  constructor(private readonly world: World) {
    super();
  }

  connect(): this {
    if (this.connected) return this;
    this.active = true;
    this.open(5);
    return this;
  }

  disconnect(): this {
    this.active = false;
    this.engine++;
    this.opening = false;
    if (this.connected) {
      this.connected = false;
      this.fire("disconnect", "io client disconnect");
    }
    return this;
  }

  /** The server-side transport drop: socket.io-client keeps `active` and its Manager reconnects. */
  dropTransport(): void {
    if (!this.connected) return;
    this.connected = false;
    this.engine++;
    this.fire("disconnect", "transport close");
    this.open(50);
  }

  /** An accept-then-complain server: `auth_error`, then a server-side disconnect. */
  complain(): void {
    if (!this.connected) return;
    this.fire("auth_error", { message: "Invalid token" });
    if (!this.connected) return;
    this.connected = false;
    this.active = false;
    this.engine++;
    this.fire("disconnect", "io server disconnect");
  }

  timeout(_ms: number) {
    return {
      emit: (
        event: string,
        payload: { token: string },
        ack: (err: Error | null, value?: unknown) => void,
      ) => {
        if (event !== "auth:refresh" || !this.connected) return;
        const engine = this.engine;
        setTimeout(() => {
          if (engine !== this.engine) return ack(new Error("socket has been disconnected"));
          const valid = expOf(payload.token) * 1000 > Date.now();
          this.world.stats.inBandRotations++;
          ack(
            null,
            valid
              ? { ok: true, expiresAt: expOf(payload.token) * 1000 }
              : { ok: false, code: "TOKEN_EXPIRED" },
          );
        }, 3);
      },
    };
  }

  private open(delayMs: number): void {
    if (this.opening) return;
    this.opening = true;
    const engine = ++this.engine;
    setTimeout(() => {
      this.opening = false;
      if (engine !== this.engine || !this.active || this.connected) return;
      if (this.world.quiet) this.world.violations.push(`a transport opened after ${this.world.quiet}`);
      if (typeof this.auth !== "function") return this.handshake(engine, this.auth);
      (this.auth as (cb: (data: unknown) => void) => void)((data) => this.handshake(engine, data));
    }, delayMs);
  }

  private handshake(engine: number, data: unknown): void {
    if (engine !== this.engine) {
      this.world.violations.push("a handshake callback ran for a closed transport");
      return;
    }
    const token = (data as { token?: unknown } | undefined)?.token;
    this.world.stats.handshakes++;
    if (this.world.quiet) this.world.violations.push(`a handshake after ${this.world.quiet}`);
    if (typeof token === "string" && expOf(token) * 1000 <= Date.now())
      this.world.violations.push(`an expired token was handed to a handshake at ${Date.now()}`);
    const refuse = (code: string) => {
      this.active = false;
      this.engine++;
      const err = Object.assign(new Error("refused"), { data: { code } });
      this.fire("connect_error", err);
    };
    setTimeout(() => {
      if (engine !== this.engine) return;
      if (typeof token !== "string") return refuse("TOKEN_MISSING");
      if (this.world.rejectNext) {
        this.world.rejectNext = false;
        return refuse("TOKEN_INVALID");
      }
      if (expOf(token) * 1000 <= Date.now()) return refuse("TOKEN_EXPIRED");
      this.connected = true;
      this.world.stats.accepted++;
      this.fire("connect");
      if (this.world.inBand) this.fire("auth:ready", { expiresAt: expOf(token) * 1000, inBand: true });
    }, 2);
  }
}
