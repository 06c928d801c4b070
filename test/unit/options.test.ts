import { afterEach, describe, expect, it } from "vitest";
import { systemClock, systemTimers } from "../../src/clock.js";
import { type AuthedSocket, createAuthedSocket } from "../../src/index.js";
import { normalizeOptions } from "../../src/options.js";

const refresh = () => null;

/** Calls normalizeOptions with a valid base plus `patch`, returning the TypeError it throws (or failing). */
function rejection(patch: Record<string, unknown>): TypeError {
  try {
    normalizeOptions({ refresh, ...patch });
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    return error as TypeError;
  }
  throw new Error(`expected normalizeOptions to reject ${JSON.stringify(patch)}`);
}

describe("normalizeOptions: each invalid option throws a TypeError naming it", () => {
  const table: [string, Record<string, unknown>, string][] = [
    ["refresh missing", { refresh: undefined }, "refresh"],
    ["refresh not a function", { refresh: "https://example.com/refresh" }, "refresh"],
    ["refresh null", { refresh: null }, "refresh"],
    ["getToken a string", { getToken: "token" }, "getToken"],
    ["getToken null", { getToken: null }, "getToken"],
    ["jitter 2", { jitter: 2 }, "jitter"],
    ["jitter −0.1", { jitter: -0.1 }, "jitter"],
    ["jitter NaN", { jitter: Number.NaN }, "jitter"],
    ["jitter a string", { jitter: "0.5" }, "jitter"],
    ["refreshTimeoutMs negative", { refreshTimeoutMs: -1 }, "refreshTimeoutMs"],
    ["refreshTimeoutMs 0", { refreshTimeoutMs: 0 }, "refreshTimeoutMs"],
    ["refreshTimeoutMs NaN", { refreshTimeoutMs: Number.NaN }, "refreshTimeoutMs"],
    ["refreshMarginMs negative", { refreshMarginMs: -1 }, "refreshMarginMs"],
    ["refreshMarginMs NaN", { refreshMarginMs: Number.NaN }, "refreshMarginMs"],
    ["refreshMarginMs a string", { refreshMarginMs: "60s" }, "refreshMarginMs"],
    ["tokenIn cookie", { tokenIn: "cookie" }, "tokenIn"],
    ["rotation x", { rotation: "x" }, "rotation"],
    ["retry not an object", { retry: 3 }, "retry"],
    ["retry an array", { retry: [] }, "retry"],
    ["retry null", { retry: null }, "retry"],
    ["retry.attempts 0", { retry: { attempts: 0 } }, "retry.attempts"],
    ["retry.attempts NaN", { retry: { attempts: Number.NaN } }, "retry.attempts"],
    ["retry.baseDelayMs negative", { retry: { baseDelayMs: -1 } }, "retry.baseDelayMs"],
    ["retry.maxDelayMs a string", { retry: { maxDelayMs: "30s" } }, "retry.maxDelayMs"],
    ["maxAuthRejections 0", { maxAuthRejections: 0 }, "maxAuthRejections"],
    ["maxAuthRejections NaN", { maxAuthRejections: Number.NaN }, "maxAuthRejections"],
    ["environment bogus", { environment: "bogus" }, "environment"],
    ["environment without onResume", { environment: {} }, "environment"],
    ["environment null", { environment: null }, "environment"],
    ["logger a string", { logger: "console" }, "logger"],
    ["authErrorEvent empty", { authErrorEvent: "" }, "authErrorEvent"],
    ["authErrorEvent a number", { authErrorEvent: 1 }, "authErrorEvent"],
    ["isAuthError not a function", { isAuthError: true }, "isAuthError"],
    ["socket not an object", { socket: "ws://x" }, "socket"],
    ["on not an object", { on: () => {} }, "on"],
    ["clock not an object", { clock: Date.now }, "clock"],
    ["timers not an object", { timers: "fake" }, "timers"],
    ["io not a function", { io: {} }, "io"],
  ];

  for (const [label, patch, name] of table) {
    it(`${label} → TypeError naming "${name}"`, () => {
      expect(rejection(patch).message).toContain(`"${name}"`);
    });
  }

  it("options that are not an object → TypeError naming options", () => {
    for (const input of [null, "refresh", 42, [() => null]]) {
      expect(() => normalizeOptions(input)).toThrow(TypeError);
      expect(() => normalizeOptions(input)).toThrow('"options"');
    }
  });

  it("says what it got, so the mistake is visible", () => {
    expect(rejection({ jitter: 2 }).message).toMatch(/got number/);
    expect(rejection({ logger: "console" }).message).toMatch(/got string/);
    expect(rejection({ retry: [] }).message).toMatch(/got an array/);
    expect(rejection({ refresh: null }).message).toMatch(/got null/);
  });

  it("accepts the boundary values", () => {
    expect(() =>
      normalizeOptions({
        refresh,
        jitter: 0,
        refreshTimeoutMs: 1,
        refreshMarginMs: 0,
        maxAuthRejections: 1,
        retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 },
        authErrorEvent: null,
        logger: null,
        environment: "none",
      }),
    ).not.toThrow();
    expect(() => normalizeOptions({ refresh, jitter: 1 })).not.toThrow();
  });
});

describe("normalizeOptions: defaults", () => {
  const o = normalizeOptions({ refresh });

  it("refreshTimeoutMs 10000", () => expect(o.refreshTimeoutMs).toBe(10_000));
  it("jitter 0.5", () => expect(o.jitter).toBe(0.5));
  it("maxAuthRejections 3", () => expect(o.maxAuthRejections).toBe(3));
  it('tokenIn "auth"', () => expect(o.tokenIn).toBe("auth"));
  it('rotation "auto"', () => expect(o.rotation).toBe("auto"));
  it('environment "auto"', () => expect(o.environment).toBe("auto"));
  it('authErrorEvent "auth_error"', () => expect(o.authErrorEvent).toBe("auth_error"));
  it("retry: base 1000, max 30000, attempts Infinity", () =>
    expect(o.retry).toEqual({ baseDelayMs: 1000, maxDelayMs: 30_000, attempts: Number.POSITIVE_INFINITY }));
  it("getToken returns null", () => expect(o.getToken()).toBeNull());
  it("socket {}, on {}, no isAuthError, no io", () => {
    expect(o.socket).toEqual({});
    expect(o.on).toEqual({});
    expect(o.isAuthError).toBeUndefined();
    expect(o.io).toBeUndefined();
  });
  it("the system clock, and the system timers behind the 2^31−1 ms clamp", () => {
    expect(o.clock).toBe(systemClock);
    expect(typeof o.timers.setTimeout).toBe("function");
    expect(typeof o.timers.clearTimeout).toBe("function");
    expect(o.timers).not.toBe(systemTimers); // wrapped: see "timer delays above 2^31−1 ms"
  });
  it("a logger with warn and error only", () => {
    expect(typeof o.logger.warn).toBe("function");
    expect(typeof o.logger.error).toBe("function");
    expect(o.logger.debug).toBeUndefined();
    expect(o.logger.info).toBeUndefined();
  });
  it("logger null → a silent logger", () => {
    expect(normalizeOptions({ refresh, logger: null }).logger).toEqual({});
  });

  it("margin default is min(60 s, 20 % of the lifetime)", () => {
    expect(o.marginFor(10 * 60_000)).toBe(60_000);
    expect(o.marginFor(3600_000)).toBe(60_000);
    expect(o.marginFor(300_000)).toBe(60_000);
    expect(o.marginFor(100_000)).toBe(20_000);
    expect(o.marginFor(2000)).toBe(400);
    expect(o.marginFor(0)).toBe(0);
  });

  it("a numeric margin is used whatever the lifetime", () => {
    const fixed = normalizeOptions({ refresh, refreshMarginMs: 5000 });
    expect(fixed.marginFor(10_000)).toBe(5000);
    expect(fixed.marginFor(3600_000)).toBe(5000);
  });

  it("a margin function is used as it is", () => {
    const margin = (lifetimeMs: number) => lifetimeMs / 10;
    expect(normalizeOptions({ refresh, refreshMarginMs: margin }).marginFor).toBe(margin);
  });

  it("a partial retry keeps the defaults of the fields left out", () => {
    expect(normalizeOptions({ refresh, retry: { attempts: 5 } }).retry).toEqual({
      baseDelayMs: 1000,
      maxDelayMs: 30_000,
      attempts: 5,
    });
  });

  it("given values are kept", () => {
    const given = normalizeOptions({
      refresh,
      jitter: 0.1,
      refreshTimeoutMs: 2500,
      maxAuthRejections: 7,
      tokenIn: "header",
      rotation: "reconnect",
      environment: "none",
      authErrorEvent: null,
    });
    expect(given).toMatchObject({
      jitter: 0.1,
      refreshTimeoutMs: 2500,
      maxAuthRejections: 7,
      tokenIn: "header",
      rotation: "reconnect",
      environment: "none",
      authErrorEvent: null,
    });
  });
});

describe("createAuthedSocket: argument validation", () => {
  const clients: AuthedSocket[] = [];
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });

  it('an empty url → TypeError naming "url"', () => {
    expect(() => createAuthedSocket("", { refresh, socket: { autoConnect: false } })).toThrow(TypeError);
    expect(() => createAuthedSocket("", { refresh, socket: { autoConnect: false } })).toThrow('"url"');
  });

  it('a non-string url → TypeError naming "url"', () => {
    const url = 42 as unknown as string;
    expect(() => createAuthedSocket(url, { refresh, socket: { autoConnect: false } })).toThrow('"url"');
  });

  it('socket.auth that is not an object → TypeError naming "socket.auth"', () => {
    const socket = { autoConnect: false, auth: "x" } as unknown as { autoConnect: false };
    expect(() => createAuthedSocket("http://127.0.0.1:9", { refresh, socket })).toThrow(TypeError);
    expect(() => createAuthedSocket("http://127.0.0.1:9", { refresh, socket })).toThrow('"socket.auth"');
  });

  it("socket.auth null → TypeError", () => {
    const socket = { autoConnect: false, auth: null } as unknown as { autoConnect: false };
    expect(() => createAuthedSocket("http://127.0.0.1:9", { refresh, socket })).toThrow(TypeError);
  });

  it("an invalid option is reported by createAuthedSocket too", () => {
    const options = { refresh, tokenIn: "cookie", socket: { autoConnect: false } } as unknown as Parameters<
      typeof createAuthedSocket
    >[1];
    expect(() => createAuthedSocket("http://127.0.0.1:9", options)).toThrow('"tokenIn"');
  });

  it("valid options with autoConnect false create an idle client that closes cleanly", () => {
    const client = createAuthedSocket("http://127.0.0.1:9", {
      refresh,
      socket: { autoConnect: false, auth: { room: "lobby" } },
      environment: "none",
      logger: null,
    });
    clients.push(client);
    expect(client.state).toBe("idle");
    expect(client.socket.connected).toBe(false);
    client.close();
    expect(client.state).toBe("closed");
  });
});
