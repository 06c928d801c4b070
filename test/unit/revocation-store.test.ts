import { describe, expect, it } from "vitest";
import type { ServerClock } from "../../src/server/index.js";
import { memoryRevocationStore } from "../../src/server/index.js";

/** A clock that only moves when told: the store's expiry runs on it, no timer is involved. */
function fixedClock(start: number): ServerClock & { set(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    setTimeout: () => {
      throw new Error("the store must not arm timers");
    },
    clearTimeout: () => undefined,
    set: (ms) => {
      now = ms;
    },
  };
}

describe("memoryRevocationStore", () => {
  const T0 = 1_700_000_000_000;

  it("covers tokens issued before the instant (iat whole seconds, same second covered), no iat, and one jti", async () => {
    const store = memoryRevocationStore({ clock: fixedClock(T0) });
    await store.add({ subject: "a", issuedBefore: T0 + 500, reason: "all", expiresAt: T0 + 60_000 });
    expect(await store.find("a", { iat: T0 / 1000 - 1 })).toBe("all");
    expect(await store.find("a", { iat: T0 / 1000 })).toBe("all");
    expect(await store.find("a", { iat: T0 / 1000 + 1 })).toBeUndefined();
    expect(await store.find("a", {})).toBe("all");
    expect(await store.find("b", { iat: 0 })).toBeUndefined();
    await store.add({ subject: "b", jti: "j", reason: "one", expiresAt: T0 + 60_000 });
    expect(await store.find("b", { jti: "j", iat: T0 / 1000 + 5 })).toBe("one");
    expect(await store.find("b", { jti: "k", iat: 0 })).toBeUndefined();
  });

  it("a later instant supersedes an earlier one, never the reverse", async () => {
    const store = memoryRevocationStore({ clock: fixedClock(T0) });
    await store.add({ subject: "a", issuedBefore: T0, reason: "later", expiresAt: T0 + 60_000 });
    await store.add({ subject: "a", issuedBefore: T0 - 10_000, reason: "earlier", expiresAt: T0 + 1000 });
    expect(await store.find("a", { iat: T0 / 1000 - 5 })).toBe("later");
  });

  it("forgets entries once the tokens they cover have expired: memory stays bounded", async () => {
    const clock = fixedClock(T0);
    const store = memoryRevocationStore({ clock });
    for (let i = 0; i < 1000; i += 1)
      await store.add({ subject: `u${i}`, issuedBefore: T0, reason: "r", expiresAt: T0 + 1000 + i });
    await store.add({ subject: "j", jti: "x", reason: "r", expiresAt: T0 + 5000 });
    expect(store.size).toBe(1001);
    clock.set(T0 + 1500);
    expect(store.size).toBe(500); // u0…u500 are due (expiry ≤ now); u501…u999 and j remain
    expect(await store.find("u100", { iat: 0 })).toBeUndefined();
    expect(await store.find("u999", { iat: 0 })).toBe("r");
    clock.set(T0 + 5000);
    expect(store.size).toBe(0);
    expect(await store.find("j", { jti: "x" })).toBeUndefined();
  });

  it("an entry re-added with a longer life is kept until the longer one", async () => {
    const clock = fixedClock(T0);
    const store = memoryRevocationStore({ clock });
    await store.add({ subject: "a", jti: "x", reason: "r", expiresAt: T0 + 1000 });
    await store.add({ subject: "a", jti: "x", reason: "r", expiresAt: T0 + 9000 });
    clock.set(T0 + 2000);
    expect(await store.find("a", { jti: "x" })).toBe("r");
  });

  it("refuses a malformed revocation, naming the field", async () => {
    const store = memoryRevocationStore();
    const base = { subject: "a", reason: "r", expiresAt: Date.now() + 1000 };
    await expect(store.add({ ...base, subject: "" })).rejects.toThrow(/`subject`/);
    await expect(store.add(base)).rejects.toThrow(/`issuedBefore` or `jti`/);
    await expect(store.add({ ...base, jti: "x", expiresAt: Number.NaN })).rejects.toThrow(/`expiresAt`/);
    await expect(store.add({ ...base, jti: "x", reason: "x".repeat(201) })).rejects.toThrow(/`reason`/);
  });
});
