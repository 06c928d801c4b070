import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Clock, Timers } from "../../src/clock.js";
import { type AuthedSocketError, RefreshError, UnauthorizedError } from "../../src/errors.js";
import { IAT_RESOLUTION_MS } from "../../src/expiry.js";
import { type AuthedSocketOptions, normalizeOptions, type RefreshContext } from "../../src/options.js";
import { createTokenKeeper, type KeeperHooks } from "../../src/token.js";
import { deferred, fakeJwt, jwtAt, rejectionOf, track } from "../helpers/support.js";

const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
const MINUTE = 60_000;

/** Time from vi's fake timers, injected explicitly rather than through the globals the defaults read. */
const fakeClock: Clock = { now: () => Date.now() };
const fakeTimers: Timers = {
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

type Refresh = AuthedSocketOptions["refresh"];

function setup(
  refresh: Refresh,
  options: Omit<Partial<AuthedSocketOptions>, "refresh"> = {},
  random: () => number = () => 0,
) {
  const hooks = {
    attempt: vi.fn<KeeperHooks["attempt"]>(),
    failed: vi.fn<KeeperHooks["failed"]>(),
    refreshed: vi.fn<KeeperHooks["refreshed"]>(),
    warn: vi.fn<KeeperHooks["warn"]>(),
  };
  const normalized = normalizeOptions({
    clock: fakeClock,
    timers: fakeTimers,
    logger: null,
    ...options,
    refresh,
  });
  return { keeper: createTokenKeeper(normalized, hooks, random), hooks };
}

/** Lets provider calls and promise chains run without moving fake time. */
const flush = () => vi.advanceTimersByTimeAsync(0);

/** A fresh 10-minute JWT issued now on the fake clock. */
const freshJwt = (lifetimeSec = 600, extra: Record<string, unknown> = {}) =>
  jwtAt(Date.now(), lifetimeSec, extra);

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

describe("single flight", () => {
  it("five concurrent refresh() calls call the provider once and all get the same token", async () => {
    const answer = deferred<string>();
    const refresh = vi.fn<Refresh>(() => answer.promise);
    const { keeper } = setup(refresh);
    const calls = Array.from({ length: 5 }, () => keeper.refresh("manual"));
    await flush();
    expect(refresh).toHaveBeenCalledTimes(1);
    const token = freshJwt();
    answer.resolve(token);
    const results = await Promise.all(calls);
    expect(refresh).toHaveBeenCalledTimes(1);
    for (const result of results) {
      expect(result).toBe(results[0]);
      expect(result.value).toBe(token);
    }
    expect(keeper.current).toBe(results[0]);
  });

  it("a refresh after one has landed calls the provider again", async () => {
    const refresh = vi.fn<Refresh>(() => freshJwt());
    const { keeper } = setup(refresh);
    await keeper.refresh("manual");
    await keeper.refresh("manual");
    expect(refresh).toHaveBeenCalledTimes(2);
  });

  it("passes reason, attempt and an unaborted signal to the provider", async () => {
    const refresh = vi.fn<Refresh>(() => freshJwt());
    const { keeper, hooks } = setup(refresh);
    await keeper.refresh("expiring");
    const ctx = refresh.mock.calls[0]?.[0];
    expect(ctx?.reason).toBe("expiring");
    expect(ctx?.attempt).toBe(1);
    expect(ctx?.signal).toBeInstanceOf(AbortSignal);
    expect(ctx?.signal.aborted).toBe(false);
    expect(hooks.attempt).toHaveBeenCalledExactlyOnceWith("expiring", 1);
    expect(hooks.refreshed).toHaveBeenCalledExactlyOnceWith(keeper.current);
  });
});

describe("forced refresh", () => {
  it("never joins a flight that began earlier: it queues exactly one new refresh after it", async () => {
    const answers = [deferred<string>(), deferred<string>()];
    let calls = 0;
    const refresh = vi.fn<Refresh>(() => answers[calls++]?.promise ?? "unexpected");
    const { keeper } = setup(refresh);
    const earlier = keeper.refresh("expiring");
    await flush();
    const forced = keeper.refresh("rejected", true);
    await flush();
    expect(refresh).toHaveBeenCalledTimes(1);

    const old = freshJwt(600, { n: "old" });
    answers[0]?.resolve(old);
    expect((await earlier).value).toBe(old);
    await flush();
    expect(refresh).toHaveBeenCalledTimes(2);
    expect(refresh.mock.calls[1]?.[0].reason).toBe("rejected");

    const replacement = freshJwt(600, { n: "new" });
    answers[1]?.resolve(replacement);
    expect((await forced).value).toBe(replacement);
    expect(refresh).toHaveBeenCalledTimes(2);
  });

  it("several forced callers share the one queued refresh, and so do plain callers that come after them", async () => {
    const answers = [deferred<string>(), deferred<string>()];
    let calls = 0;
    const refresh = vi.fn<Refresh>(() => answers[calls++]?.promise ?? "unexpected");
    const { keeper } = setup(refresh);
    void keeper.refresh("expiring");
    await flush();
    const first = keeper.refresh("rejected", true);
    const second = keeper.refresh("rejected", true);
    const plain = keeper.refresh("manual");
    expect(second).toBe(first);
    expect(plain).toBe(first);
    answers[0]?.resolve(freshJwt());
    await flush();
    const replacement = freshJwt(600, { n: "new" });
    answers[1]?.resolve(replacement);
    const results = await Promise.all([first, second, plain]);
    expect(results.map((t) => t.value)).toEqual([replacement, replacement, replacement]);
    expect(refresh).toHaveBeenCalledTimes(2);
  });

  it("runs after the earlier flight even when that flight failed", async () => {
    const refresh = vi
      .fn<Refresh>()
      .mockRejectedValueOnce(new UnauthorizedError("old refresh token"))
      .mockImplementationOnce(() => freshJwt());
    const { keeper } = setup(refresh);
    const earlier = track(keeper.refresh("expiring"));
    const forced = keeper.refresh("rejected", true);
    expect((await forced).value).toMatch(/^eyJ/);
    expect((await earlier.outcome).ok).toBe(false);
    expect(refresh).toHaveBeenCalledTimes(2);
  });

  it("starts at once when no flight is running", async () => {
    const refresh = vi.fn<Refresh>(() => freshJwt());
    const { keeper } = setup(refresh);
    await keeper.refresh("rejected", true);
    expect(refresh).toHaveBeenCalledExactlyOnceWith(expect.objectContaining({ reason: "rejected" }));
  });
});

describe("timeout", () => {
  it("aborts the attempt's signal with ERR_REFRESH_TIMEOUT, counts as a failed attempt, then retries", async () => {
    const signals: AbortSignal[] = [];
    const refresh = vi.fn<Refresh>(({ signal, attempt }: RefreshContext) => {
      signals.push(signal);
      return attempt === 1 ? new Promise<string>(() => {}) : freshJwt();
    });
    const { keeper, hooks } = setup(refresh, { refreshTimeoutMs: 5000 });
    const pending = track(keeper.refresh("manual"));

    await vi.advanceTimersByTimeAsync(4999);
    expect(signals[0]?.aborted).toBe(false);
    expect(hooks.failed).not.toHaveBeenCalled();

    await vi.advanceTimersByTimeAsync(1);
    expect(signals[0]?.aborted).toBe(true);
    const reason = signals[0]?.reason as unknown;
    expect(reason).toBeInstanceOf(RefreshError);
    expect((reason as RefreshError).code).toBe("ERR_REFRESH_TIMEOUT");
    expect(hooks.failed).toHaveBeenCalledExactlyOnceWith(reason, 1, 0);

    // random 0: a backoff of 0 ms, which a timer runs one tick later.
    await vi.advanceTimersByTimeAsync(1);
    expect(refresh).toHaveBeenCalledTimes(2);
    expect(signals[1]?.aborted).toBe(false);
    const outcome = await pending.outcome;
    expect(outcome.ok).toBe(true);
  });

  it("bounds getToken by the same timeout", async () => {
    const { keeper } = setup(() => freshJwt(), {
      getToken: () => new Promise(() => {}),
      refreshTimeoutMs: 3000,
    });
    const loading = track(keeper.load());
    await vi.advanceTimersByTimeAsync(3000);
    const outcome = await loading.outcome;
    expect(outcome.ok).toBe(false);
    expect((outcome as { error: AuthedSocketError }).error.code).toBe("ERR_REFRESH_TIMEOUT");
  });
});

describe("retry with backoff", () => {
  it("throws twice then succeeds: 3 calls, failed hook with attempts 1 and 2 and waits within the backoff bounds", async () => {
    const refresh = vi
      .fn<Refresh>()
      .mockRejectedValueOnce(new Error("502 bad gateway"))
      .mockRejectedValueOnce(new Error("connection reset"))
      .mockImplementationOnce(() => freshJwt());
    // random 0.5: the waits are half of each ceiling (1000 and 2000 ms).
    const { keeper, hooks } = setup(refresh, { retry: { baseDelayMs: 1000, maxDelayMs: 30_000 } }, () => 0.5);
    const pending = track(keeper.refresh("manual"));

    await flush();
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(hooks.failed).toHaveBeenCalledTimes(1);
    const [error1, attempt1, wait1] = hooks.failed.mock.calls[0] ?? [];
    expect(error1).toBeInstanceOf(RefreshError);
    expect(error1?.code).toBe("ERR_REFRESH_FAILED");
    expect(error1?.cause).toEqual(new Error("502 bad gateway"));
    expect(attempt1).toBe(1);
    expect(wait1).toBeGreaterThanOrEqual(0);
    expect(wait1).toBeLessThanOrEqual(1000);
    expect(wait1).toBe(500);

    await vi.advanceTimersByTimeAsync(499);
    expect(refresh).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(refresh).toHaveBeenCalledTimes(2);

    const [, attempt2, wait2] = hooks.failed.mock.calls[1] ?? [];
    expect(attempt2).toBe(2);
    expect(wait2).toBeGreaterThanOrEqual(0);
    expect(wait2).toBeLessThanOrEqual(2000);

    await vi.advanceTimersByTimeAsync(wait2 ?? 0);
    expect(refresh).toHaveBeenCalledTimes(3);
    expect((await pending.outcome).ok).toBe(true);
    expect(hooks.failed).toHaveBeenCalledTimes(2);
    expect(refresh.mock.calls.map(([ctx]) => ctx.attempt)).toEqual([1, 2, 3]);
    expect(hooks.attempt.mock.calls).toEqual([
      ["manual", 1],
      ["manual", 2],
      ["manual", 3],
    ]);
  });

  it("rejects with a RefreshError once retry.attempts are exhausted, reporting no further wait", async () => {
    const refresh = vi.fn<Refresh>(() => Promise.reject(new Error("503")));
    const { keeper, hooks } = setup(refresh, { retry: { attempts: 3, baseDelayMs: 100 } });
    const pending = track(keeper.refresh("manual"));
    await vi.advanceTimersByTimeAsync(10_000);
    const outcome = await pending.outcome;
    expect(outcome.ok).toBe(false);
    const error = (outcome as { error: unknown }).error;
    expect(error).toBeInstanceOf(RefreshError);
    expect((error as RefreshError).code).toBe("ERR_REFRESH_FAILED");
    expect(refresh).toHaveBeenCalledTimes(3);
    expect(hooks.failed.mock.calls.map(([, attempt, wait]) => [attempt, wait === null])).toEqual([
      [1, false],
      [2, false],
      [3, true],
    ]);
  });

  it("wraps a non-Error throw into a RefreshError that keeps it as the cause", async () => {
    const { keeper } = setup(() => Promise.reject("plain string"), { retry: { attempts: 1 } });
    const error = await rejectionOf(keeper.refresh("manual"));
    expect(error).toBeInstanceOf(RefreshError);
    expect((error as RefreshError).cause).toBe("plain string");
  });
});

describe("session over", () => {
  it("a refresh returning null rejects with UnauthorizedError, without retry", async () => {
    const refresh = vi.fn<Refresh>(() => null);
    const { keeper, hooks } = setup(refresh);
    const error = await rejectionOf(keeper.refresh("manual"));
    expect(error).toBeInstanceOf(UnauthorizedError);
    expect((error as UnauthorizedError).code).toBe("ERR_UNAUTHORIZED");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(hooks.failed).not.toHaveBeenCalled();
  });

  it("a refresh returning undefined is the same as null", async () => {
    const { keeper } = setup(() => undefined);
    expect(await rejectionOf(keeper.refresh("manual"))).toBeInstanceOf(UnauthorizedError);
  });

  it("a thrown UnauthorizedError propagates as it is, without retry", async () => {
    const thrown = new UnauthorizedError("refresh token revoked");
    const refresh = vi.fn<Refresh>(() => Promise.reject(thrown));
    const { keeper, hooks } = setup(refresh);
    expect(await rejectionOf(keeper.refresh("manual"))).toBe(thrown);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(hooks.failed).not.toHaveBeenCalled();
  });

  it("getToken throwing UnauthorizedError propagates from load()", async () => {
    const thrown = new UnauthorizedError();
    const { keeper } = setup(() => freshJwt(), {
      getToken: () => {
        throw thrown;
      },
    });
    expect(await rejectionOf(keeper.load())).toBe(thrown);
  });
});

describe("reset()", () => {
  it("during a flight drops the late result and rejects every awaiting caller with ERR_ABORTED", async () => {
    const answer = deferred<string>();
    let signal: AbortSignal | undefined;
    const { keeper, hooks } = setup((ctx) => {
      signal = ctx.signal;
      return answer.promise;
    });
    const first = track(keeper.refresh("manual"));
    const second = track(keeper.refresh("expiring"));
    await flush();
    keeper.reset();
    answer.resolve(freshJwt());
    await flush();

    expect(keeper.current).toBeNull();
    expect(hooks.refreshed).not.toHaveBeenCalled();
    for (const pending of [first, second]) {
      const outcome = await pending.outcome;
      expect(outcome.ok).toBe(false);
      expect((outcome as { error: AuthedSocketError }).error.code).toBe("ERR_ABORTED");
    }
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toMatchObject({ code: "ERR_ABORTED" });
  });

  it("during the backoff wait stops the refresh: the provider is never called again", async () => {
    const refresh = vi.fn<Refresh>(() => Promise.reject(new Error("network down")));
    const { keeper, hooks } = setup(refresh, { retry: { baseDelayMs: 1000 } }, () => 0.9);
    const pending = track(keeper.refresh("manual"));
    await flush();
    expect(hooks.failed).toHaveBeenCalledTimes(1);
    keeper.reset();
    await vi.advanceTimersByTimeAsync(24 * 60 * MINUTE);
    expect(refresh).toHaveBeenCalledTimes(1);
    const outcome = await pending.outcome;
    expect((outcome as { error: AuthedSocketError }).error.code).toBe("ERR_ABORTED");
    expect(vi.getTimerCount()).toBe(0);
  });

  it("abandons a queued forced refresh: it rejects with ERR_ABORTED and never calls the provider", async () => {
    const answer = deferred<string>();
    const refresh = vi.fn<Refresh>(() => answer.promise);
    const { keeper } = setup(refresh);
    const earlier = track(keeper.refresh("expiring"));
    const forced = track(keeper.refresh("rejected", true));
    await flush();
    keeper.reset();
    answer.resolve(freshJwt());
    await vi.advanceTimersByTimeAsync(60_000);
    expect(refresh).toHaveBeenCalledTimes(1);
    for (const pending of [earlier, forced]) {
      const outcome = await pending.outcome;
      expect((outcome as { error: AuthedSocketError }).error.code).toBe("ERR_ABORTED");
    }
  });

  it("in any microtask after the provider answers, before the keeper has taken the token, drops the result", async () => {
    // logout() racing a refresh that is landing: try every point between the answer and the keeper resuming.
    for (let depth = 0; depth <= 6; depth++) {
      const answer = deferred<string>();
      const { keeper, hooks } = setup(() => answer.promise);
      const pending = track(keeper.refresh("manual"));
      await flush();
      let later: Promise<unknown> = answer.promise;
      for (let i = 0; i < depth; i++) later = later.then(() => undefined);
      let resetBeforeTaken = false;
      void later.then(() => {
        resetBeforeTaken = keeper.current === null && hooks.refreshed.mock.calls.length === 0;
        keeper.reset();
      });
      answer.resolve(freshJwt());
      const outcome = await pending.outcome;
      expect(keeper.current, `depth ${depth}`).toBeNull();
      if (!resetBeforeTaken) continue; // the keeper had already taken the token: reset() forgot it, checked above
      expect(outcome.ok, `depth ${depth}`).toBe(false);
      expect((outcome as { error: AuthedSocketError }).error.code, `depth ${depth}`).toBe("ERR_ABORTED");
      expect(hooks.refreshed, `depth ${depth}`).not.toHaveBeenCalled();
    }
  });

  it("forgets the held token", async () => {
    const { keeper } = setup(() => freshJwt());
    await keeper.refresh("manual");
    keeper.reset();
    expect(keeper.current).toBeNull();
    expect(keeper.status()).toBe("none");
  });

  it("a refresh started after reset() runs normally", async () => {
    const answer = deferred<string>();
    const refresh = vi
      .fn<Refresh>()
      .mockImplementationOnce(() => answer.promise)
      .mockImplementationOnce(() => freshJwt(600, { n: "after" }));
    const { keeper } = setup(refresh);
    const abandoned = track(keeper.refresh("manual"));
    await flush();
    keeper.reset();
    const next = await keeper.refresh("manual");
    answer.resolve(freshJwt(600, { n: "late" }));
    await flush();
    expect((await abandoned.outcome).ok).toBe(false);
    expect(keeper.current).toBe(next);
  });
});

describe("invalid provider results", () => {
  const SECRET = "s3cr3t-value-that-must-not-leak";
  const cases: [string, unknown][] = [
    ["a number", 987_654_321],
    ["an empty string", ""],
    ["an array", [SECRET]],
    ["an object without token", { access_token: SECRET }],
    ["{ token: 5 }", { token: 987_654_321 }],
    ["{ token: '' }", { token: "", expiresAt: 1 }],
    ['{ token, expiresAt: "soon" }', { token: SECRET, expiresAt: `soon-${SECRET}` }],
    ["{ token, expiresIn: NaN }", { token: SECRET, expiresIn: Number.NaN }],
    ["{ token, expiresIn: Infinity }", { token: SECRET, expiresIn: Number.POSITIVE_INFINITY }],
  ];

  for (const [label, result] of cases) {
    it(`${label} → RefreshError ERR_INVALID_TOKEN whose message does not contain the value`, async () => {
      const { keeper } = setup(() => result as string, { retry: { attempts: 1 } });
      const error = await rejectionOf(keeper.refresh("manual"));
      expect(error).toBeInstanceOf(RefreshError);
      expect((error as RefreshError).code).toBe("ERR_INVALID_TOKEN");
      const message = (error as Error).message;
      expect(message).not.toContain(SECRET);
      expect(message).not.toContain("987654321");
      expect(keeper.current).toBeNull();
    });
  }

  it("a malformed result counts as a failed attempt and is retried", async () => {
    const refresh = vi
      .fn<Refresh>()
      .mockImplementationOnce(() => ({ token: 5 }) as unknown as string)
      .mockImplementationOnce(() => freshJwt());
    const { keeper, hooks } = setup(refresh);
    const pending = track(keeper.refresh("manual"));
    await vi.advanceTimersByTimeAsync(1000);
    expect((await pending.outcome).ok).toBe(true);
    expect(hooks.failed.mock.calls[0]?.[0].code).toBe("ERR_INVALID_TOKEN");
    expect(refresh).toHaveBeenCalledTimes(2);
  });

  it("an already expired fresh token (expiresIn 0) → ERR_INVALID_TOKEN", async () => {
    const { keeper } = setup(() => ({ token: "opaque-access-token-0123", expiresIn: 0 }), {
      retry: { attempts: 1 },
    });
    const error = await rejectionOf(keeper.refresh("manual"));
    expect((error as RefreshError).code).toBe("ERR_INVALID_TOKEN");
    expect(keeper.current).toBeNull();
  });

  it("an already expired fresh token (expiresAt in the past) → ERR_INVALID_TOKEN", async () => {
    const { keeper } = setup(() => ({ token: "opaque-access-token-0123", expiresAt: Date.now() - 1 }), {
      retry: { attempts: 1 },
    });
    expect(((await rejectionOf(keeper.refresh("manual"))) as RefreshError).code).toBe("ERR_INVALID_TOKEN");
  });

  it("an already expired fresh JWT (exp in the past, no iat) → ERR_INVALID_TOKEN", async () => {
    const exp = Math.floor(Date.now() / 1000) - 60;
    const { keeper } = setup(() => fakeJwt({ sub: "u", exp }), { retry: { attempts: 1 } });
    expect(((await rejectionOf(keeper.refresh("manual"))) as RefreshError).code).toBe("ERR_INVALID_TOKEN");
  });
});

describe("opaque and malformed tokens", () => {
  it("an opaque token has no expiry and no refresh instant, and stays ok however long it is held", async () => {
    const { keeper } = setup(() => "opaque-access-token-0123456789");
    const token = await keeper.refresh("manual");
    expect(token.expiresAt).toBeNull();
    expect(token.refreshAt).toBeNull();
    expect(token.fresh).toBe(true);
    vi.setSystemTime(T0 + 365 * 24 * 60 * MINUTE);
    expect(keeper.status()).toBe("ok");
  });

  it("an opaque token with expiresIn gets an expiry and a refresh instant inside its life", async () => {
    const { keeper } = setup(() => ({ token: "opaque-access-token-0123456789", expiresIn: 60_000 }));
    const token = await keeper.refresh("manual");
    expect(token.expiresAt).toBe(T0 + 60_000);
    // default window: 65–90 % of the lifetime; random 0 → its latest end, 90 %
    expect(token.refreshAt).toBe(T0 + 54_000);
  });

  it("a JWT whose exp is not a number calls the warn hook and is treated as opaque", async () => {
    const value = fakeJwt({ sub: "u", iat: Math.floor(T0 / 1000), exp: "soon" });
    const { keeper, hooks } = setup(() => value);
    const token = await keeper.refresh("manual");
    expect(hooks.warn).toHaveBeenCalledTimes(1);
    expect(hooks.warn.mock.calls[0]?.[0]).toMatch(/exp/);
    expect(hooks.warn.mock.calls[0]?.[0]).not.toContain(value);
    expect(token.expiresAt).toBeNull();
    expect(token.refreshAt).toBeNull();
  });

  it("a token without a problem does not call the warn hook", async () => {
    const { keeper, hooks } = setup(() => freshJwt());
    await keeper.refresh("manual");
    expect(hooks.warn).not.toHaveBeenCalled();
  });
});

describe("status()", () => {
  it("is none while no token is held", () => {
    const { keeper } = setup(() => freshJwt());
    expect(keeper.status()).toBe("none");
  });

  it("moves ok → stale at the refresh instant → expired at the expiry as fake time advances", async () => {
    const { keeper } = setup(() => freshJwt(600));
    const token = await keeper.refresh("manual");
    // Early by iat's whole second (the skew estimate errs early); random 0 → 90 % of the life left on arrival.
    const life = 10 * MINUTE - IAT_RESOLUTION_MS;
    expect(token.expiresAt).toBe(T0 + life);
    expect(token.refreshAt).toBe(T0 + 0.9 * life);
    expect(keeper.status()).toBe("ok");
    await vi.advanceTimersByTimeAsync(0.9 * life - 1);
    expect(keeper.status()).toBe("ok");
    await vi.advanceTimersByTimeAsync(1);
    expect(keeper.status()).toBe("stale");
    await vi.advanceTimersByTimeAsync(0.1 * life - 1);
    expect(keeper.status()).toBe("stale");
    await vi.advanceTimersByTimeAsync(1);
    expect(keeper.status()).toBe("expired");
  });

  it("after a simulated 10-minute sleep (clock jumps, no timer runs) reads expired", async () => {
    const { keeper } = setup(() => freshJwt(600));
    await keeper.refresh("manual");
    vi.setSystemTime(T0 + 10 * MINUTE);
    expect(keeper.status()).toBe("expired");
  });

  it("after a sleep that ends inside the margin reads stale", async () => {
    const { keeper } = setup(() => freshJwt(3600));
    await keeper.refresh("manual");
    vi.setSystemTime(T0 + 59.5 * MINUTE);
    expect(keeper.status()).toBe("stale");
  });

  it("judges a token passed in rather than the held one", async () => {
    const { keeper } = setup(() => freshJwt(600));
    const token = await keeper.refresh("manual");
    keeper.reset();
    expect(keeper.status()).toBe("none");
    expect(keeper.status(token)).toBe("ok");
  });
});

describe("clock skew", () => {
  for (const [label, offset] of [
    ["ahead", 10 * MINUTE],
    ["behind", -10 * MINUTE],
  ] as const) {
    it(`with the local clock 10 minutes ${label}, refreshes at 90 % of the 10 local minutes (less iat's second) it has left`, async () => {
      const serverNow = T0;
      vi.setSystemTime(serverNow + offset);
      const receivedAt = Date.now();
      const { keeper } = setup(() => jwtAt(serverNow, 600));
      const token = await keeper.refresh("manual");
      const life = 10 * MINUTE - IAT_RESOLUTION_MS;
      expect(token.expiresAt).toBe(receivedAt + life);
      expect(token.refreshAt).toBe(receivedAt + 0.9 * life);
      await vi.advanceTimersByTimeAsync(0.9 * life - 1);
      expect(keeper.status()).toBe("ok");
      await vi.advanceTimersByTimeAsync(1);
      expect(keeper.status()).toBe("stale");
      await vi.advanceTimersByTimeAsync(MINUTE);
      expect(keeper.status()).toBe("expired");
    });
  }
});

describe("refresh instant", () => {
  it("puts a fresh 3-s token's window on the life it has on arrival, ending at the measured floor", async () => {
    // Issued 0.9 s into its second and timed at 20 ms: the token has about 2.1 s to live when it arrives.
    vi.setSystemTime(T0 + 900);
    const { keeper } = setup(async () => {
      const token = jwtAt(Date.now(), 3);
      await new Promise((resolve) => setTimeout(resolve, 20));
      return token;
    });
    const pending = keeper.refresh("manual");
    await vi.advanceTimersByTimeAsync(20);
    const token = await pending;
    const expiresAt = token.expiresAt ?? Number.NaN;
    const life = expiresAt - token.receivedAt;
    // The estimate errs early by iat's second and the round trip, never late.
    expect(expiresAt).toBeLessThanOrEqual(T0 + 3000);
    // Random 0 → the window's latest end: the 250-ms floor (4 × 20 ms is less), not 2 s, which is most of its life.
    expect(token.refreshAt).toBe(expiresAt - Math.max(250, life * 0.1));
  });

  it("spreads a fresh token's window over 25 % of the life it has on arrival", async () => {
    vi.setSystemTime(T0 + 900);
    const { keeper } = setup(
      () => jwtAt(Date.now(), 60),
      {},
      () => 0.999_999,
    );
    const token = await keeper.refresh("manual");
    const expiresAt = token.expiresAt ?? Number.NaN;
    const life = expiresAt - token.receivedAt;
    expect(life).toBeLessThan(60_000);
    expect(token.refreshAt).toBeCloseTo(token.receivedAt + 0.65 * life, 0);
  });

  it("leaves the full 2-s floor before expiry after a slow refresh (600 ms)", async () => {
    const { keeper } = setup(async () => {
      const token = jwtAt(Date.now(), 10);
      await new Promise((resolve) => setTimeout(resolve, 600));
      return token;
    });
    const pending = keeper.refresh("manual");
    await vi.advanceTimersByTimeAsync(600);
    const token = await pending;
    expect(token.refreshAt).toBe((token.expiresAt ?? Number.NaN) - 2000);
  });

  it("leaves the full 2-s floor for a stored token, before any refresh was timed", async () => {
    const stored = jwtAt(Date.now(), 10);
    const { keeper } = setup(() => freshJwt(), { getToken: () => stored });
    const token = await keeper.load();
    expect(token?.refreshAt).toBe((token?.expiresAt ?? Number.NaN) - 2000);
  });
});

describe("load()", () => {
  it("holds the stored token from getToken, marked not fresh", async () => {
    const stored = freshJwt(600);
    const { keeper } = setup(() => freshJwt(), { getToken: () => stored });
    const token = await keeper.load();
    expect(token?.value).toBe(stored);
    expect(token?.fresh).toBe(false);
    expect(keeper.current).toBe(token);
  });

  it("resolves null when getToken has none", async () => {
    const { keeper } = setup(() => freshJwt(), { getToken: () => null });
    expect(await keeper.load()).toBeNull();
    expect(keeper.current).toBeNull();
  });

  it("does not call getToken while a token is held", async () => {
    const getToken = vi.fn(() => "stored-opaque-token-0123");
    const { keeper } = setup(() => freshJwt(), { getToken });
    const held = await keeper.refresh("manual");
    expect(await keeper.load()).toBe(held);
    expect(getToken).not.toHaveBeenCalled();
  });

  it("holds an expired stored token but reports it expired, so it is refreshed before use", async () => {
    const stored = jwtAt(T0 - 20 * MINUTE, 600);
    const { keeper } = setup(() => freshJwt(), { getToken: () => stored });
    const token = await keeper.load();
    expect(token?.value).toBe(stored);
    expect(keeper.status()).toBe("expired");
  });
});
