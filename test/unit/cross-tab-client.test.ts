/**
 * Cross-tab coordination at client level (navigator.locks stubbed, Node's real BroadcastChannel, real timers, the
 * shared FakeSocket).
 */
import { afterEach, expect, it, vi } from "vitest";
import { IAT_RESOLUTION_MS } from "../../src/expiry.js";
import { type AuthedSocket, createAuthedSocket, crossTab, type RefreshContext } from "../../src/index.js";
import { fakeLocks } from "../helpers/fake-locks.js";
import { FakeSocket, fakeJwt, newWorld } from "../helpers/fake-socket.js";
import { waitUntil } from "../helpers/wait.js";

/** A Web Locks stand-in: exclusive, FIFO, honours the abort signal while waiting (same as test/unit/cross-tab). */

const world = () => newWorld(false);

const clients: AuthedSocket[] = [];
const channels: BroadcastChannel[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  for (const c of channels.splice(0)) c.close();
  vi.unstubAllGlobals();
});
let seq = 0;

it("a tab that waited for the lock while another tab refreshed keeps its margin (refreshAt < expiresAt)", async () => {
  const locks = fakeLocks();
  vi.stubGlobal("navigator", { locks });
  const name = `review-${Date.now()}-${++seq}`;
  const now = Math.floor(Date.now() / 1000);
  const t0 = fakeJwt(now, now + 30);
  const refreshCalls: string[] = [];
  /** Delays of every timer tab B arms; the refresh slot is the only one above 10 s here. */
  const bTimers: { ms: number; at: number }[] = [];
  const bRefreshed: unknown[] = [];
  const make = (
    tab: string,
    timers?: { setTimeout: typeof setTimeout; clearTimeout: typeof clearTimeout },
  ) => {
    const client = createAuthedSocket("http://review.test", {
      getToken: () => t0,
      refresh: async () => {
        refreshCalls.push(tab);
        await new Promise((r) => setTimeout(r, 30));
        const n = Math.floor(Date.now() / 1000);
        return fakeJwt(n, n + 20);
      },
      refreshMarginMs: 5000,
      jitter: 0,
      refreshTimeoutMs: 7000,
      crossTab: crossTab({ name, handoffMs: 50 }),
      environment: "none",
      logger: null,
      ...(timers ? { timers } : {}),
      io: () => new FakeSocket(world()) as never,
    });
    clients.push(client);
    return client;
  };
  const a = make("A");
  const b = make("B", {
    setTimeout: ((cb: () => void, ms: number) => {
      bTimers.push({ ms, at: Date.now() });
      return setTimeout(cb, ms);
    }) as never,
    clearTimeout: ((h: unknown) => clearTimeout(h as never)) as never,
  });
  b.on("refreshed", (e) => bRefreshed.push(e));
  await waitUntil(() => a.state === "authenticated" && b.state === "authenticated", { what: "both tabs" });

  // Both tabs decide to refresh at about the same moment: A gets the lock, B waits and must adopt A's token.
  await Promise.all([a.refresh(), b.refresh()]);
  expect(refreshCalls).toEqual(["A"]);
  // Same token; A's expiry was judged from a fresh iat (earlier by up to iat's lost second and by the refresh's round
  // trip, real time here: a few ms, more on a loaded machine), B's from an adopted one.
  expect(Math.abs((a.expiresAt as number) - (b.expiresAt as number))).toBeLessThanOrEqual(
    IAT_RESOLUTION_MS + 250,
  );

  const expiresAt = b.expiresAt as number;
  const refreshTimer = bTimers.filter((t) => t.ms > 2000).at(-1) as { ms: number; at: number };
  // With margin 5 s, B must refresh at least 5 s before expiry, like A does.
  expect({
    refreshedEventsInB: bRefreshed.length,
    // The refresh lands in the window and leaves at least the 5-s margin (judged from when the timer was armed) —
    // or, when a slow lock hand-over left less than twice that, half of what was left (the anti-storm floor).
    marginKept:
      expiresAt - (refreshTimer.at + refreshTimer.ms) >=
      Math.min(5000, (expiresAt - refreshTimer.at) / 2) - 1,
  }).toEqual({ refreshedEventsInB: 1, marginKept: true });
});

it("a refresh abandoned by logout() while waiting for another tab's lock never calls refresh", async () => {
  const locks = fakeLocks();
  vi.stubGlobal("navigator", { locks });
  const name = `review-${Date.now()}-${++seq}`;
  // Another tab holds the lock (its refresh is slow).
  let releaseOther: () => void = () => {};
  void locks.request(name, {}, () => new Promise<void>((resolve) => (releaseOther = resolve)));

  const now = Math.floor(Date.now() / 1000);
  const calls: { afterLogout: boolean; signalAborted: boolean }[] = [];
  let loggedOut = false;
  const client = createAuthedSocket("http://review.test", {
    getToken: () => fakeJwt(now, now + 600),
    refresh: (ctx: RefreshContext) => {
      calls.push({ afterLogout: loggedOut, signalAborted: ctx.signal.aborted });
      const n = Math.floor(Date.now() / 1000);
      return fakeJwt(n, n + 600);
    },
    crossTab: crossTab({ name, lockTimeoutMs: 5000, handoffMs: 0 }),
    environment: "none",
    logger: null,
    io: () => new FakeSocket(world()) as never,
  });
  clients.push(client);
  await client.waitFor("authenticated", { timeoutMs: 2000 });
  const before = locks.requested;
  const pending = client.refresh().catch(() => undefined); // waits for the other tab's lock
  await waitUntil(() => locks.requested > before, { what: "this tab's lock request" });
  client.logout();
  loggedOut = true;
  await pending;
  releaseOther(); // the other tab finishes
  // Every request, the other tab's and this tab's abandoned one, has come to an end.
  await waitUntil(() => locks.finished === locks.requested, { what: "the lock queue to drain" });
  expect(calls).toEqual([]);
});

it("adopting another tab's older token (a sync reply after a freeze) does not shift this tab's clock by its age", async () => {
  vi.stubGlobal("navigator", { locks: fakeLocks() });
  const name = `review-${Date.now()}-${++seq}`;
  const nowSec = Math.floor(Date.now() / 1000);
  // This tab loaded its token from storage (never refreshed itself): no skew observation yet; the clock is correct.
  const client = createAuthedSocket("http://review.test", {
    getToken: () => fakeJwt(nowSec - 100, nowSec + 250), // a stored 350 s token, not yet in its refresh window
    refresh: () => {
      throw new Error("not expected");
    },
    crossTab: crossTab({ name }),
    environment: "none",
    logger: null,
    io: () => new FakeSocket(world()) as never,
  });
  clients.push(client);
  await client.waitFor("authenticated", { timeoutMs: 2000 });
  // Another tab refreshed 10 minutes ago while this one was frozen; on resume it answers the sync with that token,
  // exactly as cross-tab.ts `message(latest.version, latest.token, latest.expiresAt)` does for a plain JWT.
  const other = new BroadcastChannel(name);
  channels.push(other);
  const issued = nowSec - 600;
  const token = fakeJwt(issued, issued + 900); // 15-minute token, 5 minutes left
  other.postMessage({ type: "token", version: Date.now(), token });
  await waitUntil(() => (client.expiresAt as number) >= (issued + 900) * 1000, { what: "adoption" });
  const realExpiry = (issued + 900) * 1000;
  expect({ minutesPastRealExpiry: ((client.expiresAt as number) - realExpiry) / 60_000 }).toEqual({
    minutesPastRealExpiry: 0,
  });
});

/** A JWT-shaped token for `sub` (unsigned: the client never verifies signatures). */
function jwtFor(sub: string, iatSec: number, expSec: number): string {
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${enc({ alg: "HS256", typ: "JWT" })}.${enc({ sub, iat: iatSec, exp: expSec, n: Math.random() })}.sig`;
}

/** One tab holding user "u"'s token, and a same-origin script posting on its channel. */
async function tabWithInjector() {
  vi.stubGlobal("navigator", { locks: fakeLocks() });
  const name = `inject-${Date.now()}-${++seq}`;
  const nowSec = Math.floor(Date.now() / 1000);
  const client = createAuthedSocket("http://review.test", {
    getToken: () => fakeJwt(nowSec, nowSec + 300),
    refresh: () => {
      throw new Error("not expected");
    },
    crossTab: crossTab({ name }),
    environment: "none",
    logger: null,
    io: () => new FakeSocket(world()) as never,
  });
  clients.push(client);
  await client.waitFor("authenticated", { timeoutMs: 2000 });
  const script = new BroadcastChannel(name);
  channels.push(script);
  const refreshed: unknown[] = [];
  client.on("refreshed", (e) => refreshed.push(e));
  return { client, script, nowSec, refreshed, before: client.expiresAt };
}

/** Posts a harmless sync round-trip and waits for it, so earlier messages on the channel have been handled. */
async function settled(script: BroadcastChannel): Promise<void> {
  const probe = new BroadcastChannel((script as unknown as { name: string }).name);
  channels.push(probe);
  await new Promise<void>((resolve) => {
    probe.onmessage = () => resolve();
    script.postMessage({ type: "sync" });
  });
}

it("cross-tab: a token for another subject posted on the channel is not adopted", async () => {
  const { client, script, nowSec, refreshed, before } = await tabWithInjector();
  script.postMessage({ type: "token", version: Date.now(), token: jwtFor("mallory", nowSec, nowSec + 900) });
  await settled(script);
  expect({ refreshed: refreshed.length, expiresAt: client.expiresAt }).toEqual({
    refreshed: 0,
    expiresAt: before,
  });
});

it("cross-tab: an expired or malformed token posted on the channel is not adopted", async () => {
  const { client, script, nowSec, refreshed, before } = await tabWithInjector();
  script.postMessage({ type: "token", version: Date.now(), token: fakeJwt(nowSec - 900, nowSec - 10) });
  script.postMessage({ type: "token", version: Date.now() + 1, token: "not a token\nat all" });
  script.postMessage({ type: "token", version: Date.now() + 2, token: "x".repeat(100_000) });
  script.postMessage({
    type: "token",
    version: Date.now() + 3,
    token: fakeJwt(nowSec, nowSec + 900),
    expiresIn: -5,
  });
  await settled(script);
  expect({ refreshed: refreshed.length, expiresAt: client.expiresAt }).toEqual({
    refreshed: 0,
    expiresAt: before,
  });
});

it("cross-tab: a huge or Infinity version is refused before it changes any state; sharing works after it", async () => {
  const { client, script, nowSec, refreshed } = await tabWithInjector();
  script.postMessage({
    type: "token",
    version: Number.POSITIVE_INFINITY,
    token: fakeJwt(nowSec, nowSec + 600),
  });
  script.postMessage({
    type: "token",
    version: Number.MAX_SAFE_INTEGER,
    token: fakeJwt(nowSec, nowSec + 700),
  });
  script.postMessage({
    type: "token",
    version: Date.now() + 86_400_000,
    token: fakeJwt(nowSec, nowSec + 800),
  });
  await settled(script);
  expect(refreshed).toHaveLength(0);
  // A real refresh in another tab (version: the shared clock now) is still adopted.
  const real = fakeJwt(nowSec, nowSec + 900);
  script.postMessage({ type: "token", version: Date.now(), token: real });
  await waitUntil(() => refreshed.length === 1, { what: "the real token's adoption" });
  // The skew estimate may move it by up to a second (iat is whole seconds), never by the 600 s between the tokens.
  expect(Math.abs((client.expiresAt as number) - (nowSec + 900) * 1000)).toBeLessThan(2000);
});

it("a client created with autoConnect: false opens no channel and adds no window listener until connect()", () => {
  vi.stubGlobal("navigator", { locks: fakeLocks() });
  const opened: string[] = [];
  const RealChannel = BroadcastChannel;
  vi.stubGlobal(
    "BroadcastChannel",
    class extends RealChannel {
      constructor(name: string) {
        super(name);
        opened.push(name);
        channels.push(this);
      }
    },
  );
  const added: string[] = [];
  const target = { addEventListener: (type: string) => added.push(type), removeEventListener: () => {} };
  vi.stubGlobal("addEventListener", target.addEventListener);
  vi.stubGlobal("removeEventListener", target.removeEventListener);
  vi.stubGlobal("document", { ...target, visibilityState: "visible" });
  const now = Math.floor(Date.now() / 1000);
  const client = createAuthedSocket("http://unused.test", {
    getToken: () => fakeJwt(now, now + 60),
    refresh: () => fakeJwt(now, now + 60),
    crossTab: crossTab({ name: `unused-${++seq}` }),
    logger: null,
    socket: { autoConnect: false },
    io: () => new FakeSocket(world()) as never,
  });
  clients.push(client);
  // A render React discards may create a client and drop it: nothing outside it may hold on to it.
  expect(opened).toEqual([]);
  expect(added).toEqual([]);
  client.connect();
  expect(opened).toHaveLength(1);
  expect(added.sort()).toEqual(["online", "visibilitychange"]);
});
