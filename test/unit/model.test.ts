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
import { isAllowed } from "../../src/lifecycle.js";
import { FakeSocket, fakeJwt, type World } from "../helpers/fake-socket.js";

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
  // Every observed transition must be in the lifecycle table (the client also throws under test before making one).
  client.on("state", ({ from, to }) => {
    if (!isAllowed(from, to)) world.violations.push(`transition ${from} → ${to} is not in the table`);
  });
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
