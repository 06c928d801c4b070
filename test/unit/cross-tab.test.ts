import { afterEach, describe, expect, it } from "vitest";
import { type CrossTab, type CrossTabEnvironment, createCrossTab } from "../../src/cross-tab.js";
import type { RefreshContext } from "../../src/index.js";
import { fakeLocks } from "../helpers/fake-locks.js";
import { waitUntil } from "../helpers/wait.js";

/** A Web Locks stand-in: exclusive, FIFO, honours the abort signal while waiting. */

const channels: { close(): void }[] = [];
const tabs: CrossTab[] = [];
afterEach(() => {
  for (const t of tabs.splice(0)) t.close();
  for (const c of channels.splice(0)) c.close();
});

function env(locks: ReturnType<typeof fakeLocks>): CrossTabEnvironment {
  return {
    locks,
    openChannel: (name) => {
      const channel = new BroadcastChannel(name) as unknown as ReturnType<CrossTabEnvironment["openChannel"]>;
      channels.push(channel);
      return channel;
    },
    now: () => Date.now(),
    setTimeout: (cb, ms) => setTimeout(cb, ms),
    clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  };
}

const ctx = (): RefreshContext => ({ reason: "expiring", signal: new AbortController().signal, attempt: 1 });
let seq = 0;
const name = () => `test-${Date.now()}-${++seq}`;

describe("cross-tab refresh", () => {
  it("three tabs refreshing at once call refresh once; the others take its token", async () => {
    const locks = fakeLocks();
    const channel = name();
    let calls = 0;
    const refresh = async () => {
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return { token: `token-${calls}`, expiresIn: 60_000 };
    };
    const adopted: string[] = [];
    const wrapped = [0, 1, 2].map(() => {
      const tab = createCrossTab(env(locks), { name: channel, lockTimeoutMs: 2000, handoffMs: 30 }, (r) =>
        adopted.push(r.token),
      );
      tabs.push(tab);
      return tab.wrap(refresh);
    });
    const results = await Promise.all(wrapped.map((w) => w(ctx())));
    expect(calls).toBe(1);
    expect(results.map((r) => (typeof r === "object" && r ? r.token : r))).toEqual([
      "token-1",
      "token-1",
      "token-1",
    ]);
    // The two waiting tabs also heard the broadcast.
    await waitUntil(() => adopted.length === 2, { what: "both other tabs to adopt" });
  });

  it("a tab that waited too long for the lock refreshes on its own instead of hanging", async () => {
    const locks = fakeLocks();
    const channel = name();
    let releaseStuck: () => void = () => {};
    // A stuck holder: takes the lock and never lets go (until the test ends).
    void locks.request(channel, {}, () => new Promise<void>((resolve) => (releaseStuck = resolve)));
    const tab = createCrossTab(env(locks), { name: channel, lockTimeoutMs: 50, handoffMs: 0 }, () => {});
    tabs.push(tab);
    let calls = 0;
    const result = await tab.wrap(async () => {
      calls++;
      return "fresh";
    })(ctx());
    expect(result).toBe("fresh");
    expect(calls).toBe(1);
    releaseStuck();
  });

  it("adopts only newer versions and ignores hostile messages", async () => {
    const locks = fakeLocks();
    const channel = name();
    const adopted: { token: string; expiresIn?: number }[] = [];
    const tab = createCrossTab(env(locks), { name: channel, lockTimeoutMs: 500, handoffMs: 0 }, (r) =>
      adopted.push(r),
    );
    tabs.push(tab);
    const sender = new BroadcastChannel(channel);
    channels.push(sender);
    for (const hostile of [
      null,
      "x",
      42,
      { type: "token" },
      { type: "token", version: 5, token: 7 },
      { type: "token", version: 5, token: "t", expiresIn: "soon" },
      { type: "token", version: "9", token: "t" },
    ])
      sender.postMessage(hostile);
    sender.postMessage({ type: "token", version: 10, token: "v10", expiresIn: 1000 });
    sender.postMessage({ type: "token", version: 9, token: "v9", expiresIn: 1000 });
    sender.postMessage({ type: "token", version: 11, token: "v11" });
    await waitUntil(() => adopted.length >= 2, { what: "two adoptions" });
    // A barrier: one more message proves everything before it was processed.
    sender.postMessage({ type: "token", version: 12, token: "v12" });
    await waitUntil(() => adopted.length >= 3, { what: "the barrier" });
    expect(adopted.map((a) => a.token)).toEqual(["v10", "v11", "v12"]);
    expect(adopted[0]?.expiresIn).toBeGreaterThan(900);
    expect(adopted[1]).toEqual({ token: "v11" });
  });

  it("sync() lets a tab that missed a broadcast catch up", async () => {
    const locks = fakeLocks();
    const channel = name();
    const a = createCrossTab(env(locks), { name: channel, lockTimeoutMs: 500, handoffMs: 0 }, () => {});
    tabs.push(a);
    await a.wrap(async () => ({ token: "from-a", expiresIn: 60_000 }))(ctx());
    // Tab b opens after the broadcast (as a frozen tab would have missed it).
    const adopted: string[] = [];
    const b = createCrossTab(env(locks), { name: channel, lockTimeoutMs: 500, handoffMs: 0 }, (r) =>
      adopted.push(r.token),
    );
    tabs.push(b);
    b.sync();
    await waitUntil(() => adopted.length === 1, { what: "b to adopt a's token" });
    expect(adopted).toEqual(["from-a"]);
  });
});
