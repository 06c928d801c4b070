/**
 * Model test: random interleavings of timers, server refusals, auth_error, transport drops, refresh outcomes
 * (success, failure, hang, session over), logout and close, run on fake time against a fake socket that behaves
 * like socket.io-client where the client depends on it. After every run the invariants must hold:
 * - at most one refresh is in flight (started, not settled, not aborted) at any moment;
 * - no handshake ever carries a token that has expired;
 * - nothing happens after logout() (no refresh call, no handshake, no event but `state`) until connect(), and
 *   nothing at all after close().
 */
import fc from "fast-check";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { createAuthedSocket, type RefreshContext, type SocketIoOptions } from "../../src/index.js";

type Handler = (...args: unknown[]) => void;

class FakeEmitter {
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
  fire(event: string, ...args: unknown[]): void {
    for (const handler of [...(this.handlers.get(event) ?? [])]) handler(...args);
  }
  listenerTotal(): number {
    let n = 0;
    for (const set of this.handlers.values()) n += set.size;
    return n;
  }
}

function fakeJwt(iatSec: number, expSec: number): string {
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${enc({ alg: "HS256", typ: "JWT" })}.${enc({ sub: "u", iat: iatSec, exp: expSec, n: Math.random() })}.sig`;
}

function expOf(token: string): number {
  const payload = token.split(".")[1] ?? "";
  return (JSON.parse(Buffer.from(payload, "base64url").toString()) as { exp: number }).exp;
}

interface World {
  violations: string[];
  /** Coverage of the run, so the test fails if the scenarios stop exercising the client at all. */
  stats: { handshakes: number; accepted: number; refreshes: number; inBandRotations: number };
  rejectNext: boolean;
  inBand: boolean;
  /** When set, the open session is over: nothing may happen (logout) or nothing at all (close). */
  quiet: "logout" | "close" | null;
}

/** The parts of a socket.io-client Socket the client uses, with a scripted server behind it. */
class FakeSocket extends FakeEmitter {
  auth: unknown = {};
  connected = false;
  active = false;
  sendBuffer: unknown[] = [];
  acks: Record<string, unknown> = {};
  /** Changes whenever the simulated engine closes: a handshake callback of an older engine is stale. */
  private engine = 0;
  private opening = false;
  readonly io = Object.assign(new FakeEmitter(), { opts: {} as Record<string, unknown> });

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

type Outcome = { kind: "ok"; ttlSec: number } | { kind: "fail" } | { kind: "hang" } | { kind: "null" };

type Action =
  | { type: "advance"; ms: number }
  | { type: "reject-next" }
  | { type: "auth-error" }
  | { type: "drop" }
  | { type: "outcome"; outcome: Outcome }
  | { type: "logout" }
  | { type: "connect" }
  | { type: "manual-refresh" }
  | { type: "close" };

const outcome: fc.Arbitrary<Outcome> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.integer({ min: 1, max: 20 }).map((ttlSec) => ({ kind: "ok" as const, ttlSec })),
  },
  { weight: 2, arbitrary: fc.constant({ kind: "fail" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "hang" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "null" as const }) },
);

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 8000 }).map((ms) => ({ type: "advance" as const, ms })) },
  { weight: 2, arbitrary: fc.constant({ type: "reject-next" as const }) },
  { weight: 2, arbitrary: fc.constant({ type: "auth-error" as const }) },
  { weight: 2, arbitrary: fc.constant({ type: "drop" as const }) },
  { weight: 3, arbitrary: outcome.map((o) => ({ type: "outcome" as const, outcome: o })) },
  { weight: 1, arbitrary: fc.constant({ type: "logout" as const }) },
  { weight: 1, arbitrary: fc.constant({ type: "connect" as const }) },
  { weight: 1, arbitrary: fc.constant({ type: "manual-refresh" as const }) },
  { weight: 1, arbitrary: fc.constant({ type: "close" as const }) },
);

beforeEach(() => {
  vi.useFakeTimers({ now: 1_700_000_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

const totals = { handshakes: 0, accepted: 0, refreshes: 0, inBandRotations: 0 };

async function runScenario(actions: Action[], inBand: boolean): Promise<string[]> {
  const stats = { handshakes: 0, accepted: 0, refreshes: 0, inBandRotations: 0 };
  const world: World = { violations: [], stats, rejectNext: false, inBand, quiet: null };
  let socket: FakeSocket | undefined;
  let next: Outcome = { kind: "ok", ttlSec: 10 };
  let inFlight = 0;

  const refresh = ({ signal }: RefreshContext) => {
    if (world.quiet) world.violations.push(`refresh called after ${world.quiet}`);
    stats.refreshes++;
    const o = next;
    if (o.kind === "null") next = { kind: "ok", ttlSec: 10 }; // one session end per "null", then back to normal
    if (inFlight > 0) world.violations.push(`a second refresh started while ${inFlight} was in flight`);
    inFlight++;
    let settled = false;
    const settle = () => {
      if (!settled) inFlight--;
      settled = true;
    };
    signal.addEventListener("abort", settle);
    return new Promise<string | null>((resolve, reject) => {
      if (o.kind === "hang") return;
      setTimeout(() => {
        settle();
        const now = Date.now();
        if (o.kind === "ok") resolve(fakeJwt(Math.floor(now / 1000), Math.floor(now / 1000) + o.ttlSec));
        else if (o.kind === "null") resolve(null);
        else reject(new Error("503"));
      }, 20);
    });
  };

  const client = createAuthedSocket("http://model.test", {
    refresh,
    refreshTimeoutMs: 1000,
    retry: { baseDelayMs: 100, maxDelayMs: 2000 },
    logger: null,
    environment: "none",
    io: (_url: string, _options: SocketIoOptions) => {
      socket = new FakeSocket(world);
      return socket as never;
    },
  });
  const events = (name: string) => () => {
    if (world.quiet === "close") world.violations.push(`"${name}" emitted after close`);
    if (world.quiet === "logout" && name !== "state") world.violations.push(`"${name}" emitted after logout`);
  };
  for (const name of [
    "state",
    "authenticated",
    "refreshing",
    "refreshed",
    "refresh_failed",
    "logged_out",
  ] as const)
    client.on(name, events(name));
  client.on("logged_out", () => {
    // A session that ends by itself (refresh returned null, auth_rejected, …) is as quiet as a logout.
    world.quiet ??= "logout";
  });

  for (const a of actions) {
    switch (a.type) {
      case "advance":
        await vi.advanceTimersByTimeAsync(a.ms);
        break;
      case "reject-next":
        world.rejectNext = true;
        break;
      case "auth-error":
        socket?.complain();
        break;
      case "drop":
        socket?.dropTransport();
        break;
      case "outcome":
        next = a.outcome;
        break;
      case "logout":
        client.logout();
        world.quiet ??= "logout";
        break;
      case "connect":
        if (world.quiet === "close") break;
        world.quiet = null;
        client.connect();
        break;
      case "manual-refresh":
        if (world.quiet === "close") break;
        client.refresh().catch(() => undefined);
        break;
      case "close":
        client.close();
        world.quiet = "close";
        break;
    }
    await vi.advanceTimersByTimeAsync(0);
  }
  // Let everything pending play out; after a close nothing may remain scheduled by the client.
  await vi.advanceTimersByTimeAsync(120_000);
  client.close();
  world.quiet = "close";
  await vi.advanceTimersByTimeAsync(120_000);
  if (socket && socket.listenerTotal() !== 0)
    world.violations.push(`${socket.listenerTotal()} socket listeners left`);
  for (const key of Object.keys(totals) as (keyof typeof totals)[]) totals[key] += stats[key];
  return world.violations;
}

it("keeps its invariants over 500 random interleavings", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(action, { minLength: 1, maxLength: 30 }),
      fc.boolean(),
      async (actions, inBand) => {
        const violations = await runScenario(actions, inBand);
        expect(violations).toEqual([]);
      },
    ),
    { numRuns: 500 },
  );
  // The property is only meaningful if the runs exercised the client: handshakes, refreshes, in-band rotations.
  expect(totals.accepted).toBeGreaterThan(300);
  expect(totals.refreshes).toBeGreaterThan(1000);
  expect(totals.inBandRotations).toBeGreaterThan(100);
  expect(totals.handshakes).toBeGreaterThan(totals.accepted);
}, 120_000);
