/**
 * Edge cases of the small modules (classification, logging, timer limits, skew after a clock correction, margin
 * functions, once/off, option validation), grouped by module; each was found in review and failed first. The comment
 * above each test names the cause as it was.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { classifyRefusal } from "../../src/classify.js";
import { createEmitter } from "../../src/events.js";
import { IAT_RESOLUTION_MS } from "../../src/expiry.js";
import { createLog } from "../../src/log.js";
import { type AuthedSocketOptions, normalizeOptions } from "../../src/options.js";
import { createTokenKeeper, type KeeperHooks } from "../../src/token.js";
import { deepText, deferred, jwtAt, track } from "../helpers/support.js";

const MINUTE = 60_000;
const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);

function keeperWith(
  options: Partial<AuthedSocketOptions> & Pick<AuthedSocketOptions, "refresh">,
  random = 0.9,
) {
  const hooks: KeeperHooks = { attempt: () => {}, failed: () => {}, refreshed: () => {}, warn: () => {} };
  return createTokenKeeper(normalizeOptions({ logger: null, ...options }), hooks, () => random);
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

describe("classify.ts", () => {
  // classifyRefusal reads `data.code`, `data.status` and `data.statusCode` unguarded, so a getter that throws
  // escapes into the client's connect_error listener. (err.data from the wire is plain JSON, so this needs a custom
  // `io` factory or transport; the isAuthError case below is the one apps will hit.)
  it("does not throw when err.data has a getter that throws; falls back to the message", () => {
    const data = {
      get code(): string {
        throw new Error("hostile getter");
      },
    };
    const error = Object.assign(new Error("jwt expired"), { data });
    expect(() => classifyRefusal(error)).not.toThrow();
  });

  // The user's isAuthError is called unguarded (`isAuthError?.(error)`), unlike lifecycle listeners, whose throws
  // are caught and reported. Checked against a real socket.io server refusing the handshake: the throw surfaces as
  // an uncaughtException (out of the transport's message handler; fatal in Node by default) and the client stays in
  // "connecting" for good: no refresh, no retry, no logged_out.
  it("does not throw when the user's isAuthError throws; the built-in rules decide", () => {
    const error = new Error("jwt expired");
    const isAuthError = () => {
      throw new Error("bug in the app's isAuthError");
    };
    expect(() => classifyRefusal(error, isAuthError)).not.toThrow();
  });
});

describe("log.ts", () => {
  // redactValue stops at depth 3 by returning the value itself (`depth > 3) return value`), so anything nested
  // deeper reaches the logger unredacted.
  it("redacts a token nested more than three levels deep", () => {
    const token = "opaque-access-token-1111111111";
    const seen: unknown[] = [];
    createLog({ warn: (...args) => seen.push(args) }, () => [token]).warn("details", {
      a: { b: { c: { d: { token } } } },
    });
    expect(deepText(seen)).not.toContain(token);
  });
});

describe("timer delays above 2^31−1 ms (setTimeout fires those after 1 ms)", () => {
  // options.ts accepts refreshTimeoutMs up to Infinity; token.ts passes it to timers.setTimeout unclamped (the
  // attempt's timeout timer in `call`), so a large limit times every refresh out at once. Same in client.ts:
  // `deadline(pending, o.refreshTimeoutMs, timers)` and `socket.timeout(o.refreshTimeoutMs)`.
  it("a refreshTimeoutMs of 2^31 is rejected at creation or honoured (a 5 s refresh succeeds)", async () => {
    const refreshTimeoutMs = 2 ** 31;
    let rejectedAtCreation = false;
    try {
      normalizeOptions({ refresh: () => null, refreshTimeoutMs });
    } catch (error) {
      rejectedAtCreation = error instanceof TypeError && error.message.includes('"refreshTimeoutMs"');
    }
    if (rejectedAtCreation) return;
    const answer = deferred<string>();
    const keeper = keeperWith({ refresh: () => answer.promise, refreshTimeoutMs, retry: { attempts: 1 } });
    const pending = track(keeper.refresh("manual"));
    await vi.advanceTimersByTimeAsync(5000);
    answer.resolve(jwtAt(Date.now(), 600));
    const outcome = await pending.outcome;
    expect(outcome.ok ? "refreshed" : (outcome.error as { code?: string }).code).toBe("refreshed");
  });

  // backoffDelay may return more than 2^31−1 when retry.maxDelayMs allows it (e.g. maxDelayMs: Infinity, the
  // natural way to say "no cap", reaches it after ~22 attempts); token.ts `wait` passes it to setTimeout unclamped,
  // so the retry runs after 1 ms: a hot retry loop against a refresh endpoint that is down.
  it("a backoff wait longer than 2^31−1 ms does not retry after 1 ms", async () => {
    const refresh = vi.fn(() => Promise.reject(new Error("503")));
    const keeper = keeperWith({ refresh, retry: { baseDelayMs: 2 ** 33, maxDelayMs: 2 ** 33 } }, 0.9);
    const pending = track(keeper.refresh("manual"));
    await vi.advanceTimersByTimeAsync(100);
    expect(refresh).toHaveBeenCalledTimes(1);
    keeper.reset();
    await pending.outcome;
  });
});

describe("expiry.ts SkewEstimator after a clock correction", () => {
  // The estimate is the minimum of the last 3 observations. When a clock that was behind is corrected forward, the
  // old negative sample stays the minimum until two more fresh tokens have been seen; meanwhile a fresh token's
  // expiry is moved early by the old skew. With a 10-minute token and a 10-minute correction, token.ts rejects the
  // fresh token as "already expired" (ERR_INVALID_TOKEN), so each refresh after an NTP sync fails until the window
  // has flushed (logged_out when retry.attempts is small). A clock that was ahead heals at once.
  it("a fresh token right after the clock was corrected forward by 10 minutes is accepted", async () => {
    const serverNow = T0;
    vi.setSystemTime(serverNow - 10 * MINUTE);
    let issued = 0;
    const keeper = keeperWith({
      refresh: () => {
        issued++;
        // The issuer's clock is right: it is serverNow at first, a minute later at the second refresh.
        return jwtAt(serverNow + (issued - 1) * MINUTE, 600);
      },
      retry: { attempts: 1 },
    });
    await keeper.refresh("manual");
    // A minute passes and NTP fixes the device clock.
    vi.setSystemTime(serverNow + MINUTE);
    const outcome = await track(keeper.refresh("manual")).outcome;
    expect(outcome.ok ? "refreshed" : (outcome.error as { code?: string }).code).toBe("refreshed");
    // Judged on the corrected clock, erring early by iat's lost fraction (whole seconds), never by the old 10 minutes.
    expect(keeper.current?.expiresAt).toBe(Date.now() + 10 * MINUTE - IAT_RESOLUTION_MS);
  });
});

describe("token.ts refresh instant from a refreshMarginMs function", () => {
  // The margin function's result is used unchecked: NaN (or undefined from a function that forgot to return)
  // makes refreshAt NaN. status() then never reports "stale" (no proactive refresh), and client.ts armTimer arms
  // `clampDelay(NaN)` = 0 ms over and over: about 1000 timers a second for the token's whole life.
  it("refreshAt is a finite instant before expiry even when the margin function returns NaN", async () => {
    const keeper = keeperWith({ refresh: () => jwtAt(Date.now(), 600), refreshMarginMs: () => Number.NaN });
    const token = await keeper.refresh("manual");
    expect(Number.isFinite(token.refreshAt)).toBe(true);
    expect(token.refreshAt ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(token.expiresAt ?? 0);
  });
});

describe("events.ts once/off", () => {
  // once() registers a wrapper, so off(event, listener) with the listener the app passed does not find it and the
  // listener still fires. socket.io-client's emitter and Node's EventEmitter both remove once-listeners this way,
  // and the AuthedSocket.off doc says "Removes a listener".
  it("off(event, listener) removes a listener added with once()", () => {
    const events = createEmitter(() => {});
    const listener = vi.fn();
    events.once("refreshed", listener);
    events.off("refreshed", listener);
    events.emit("refreshed", { expiresAt: null });
    expect(listener).not.toHaveBeenCalled();
  });
});

describe("options.ts validation gaps", () => {
  // clock, timers and logger are only checked to be objects (options.ts `obj(...)`); their members are called later
  // without a check. `clock: {}` fails deep inside the first refresh with "now is not a function"; `logger: { warn:
  // true }` makes createLog call `true.call(...)` from the keeper's failure hook, so a retryable refresh failure ends
  // the refresh with a TypeError: no retry, no logged_out.
  it('a clock without now() → TypeError naming "clock"', () => {
    expect(() => normalizeOptions({ refresh: () => null, clock: {} })).toThrow('"clock');
  });

  it('timers without setTimeout()/clearTimeout() → TypeError naming "timers"', () => {
    expect(() => normalizeOptions({ refresh: () => null, timers: {} })).toThrow('"timers');
  });

  it('a logger level that is not a function → TypeError naming "logger"', () => {
    expect(() => normalizeOptions({ refresh: () => null, logger: { warn: true } })).toThrow('"logger');
  });
});
