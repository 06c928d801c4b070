import { afterEach, describe, expect, it, vi } from "vitest";
import { systemClock, systemTimers } from "../../src/clock.js";
import { type AuthedSocket, createAuthedSocket } from "../../src/index.js";
import { closestName, editDistance, OPTION_NAMES } from "../../src/option-names.js";
import { normalizeOptions } from "../../src/options.js";
import { fakeJwt } from "../helpers/fake-socket.js";

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
    ["crossTab true", { crossTab: true }, "crossTab"],
    ["crossTab a plain object", { crossTab: { name: "app" } }, "crossTab"],
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

  it("crossTab refused with the import that fixes it", () => {
    expect(rejection({ crossTab: true }).message).toContain(
      'crossTab() or crossTab({ name }), imported from "authed-socket"',
    );
  });

  it("says what it got, so the mistake is visible", () => {
    expect(rejection({ jitter: 2 }).message).toMatch(/got 2\)$/);
    expect(rejection({ logger: "console" }).message).toMatch(/got "console"\)$/);
    expect(rejection({ retry: [] }).message).toMatch(/got an array\)$/);
    expect(rejection({ refresh: null }).message).toMatch(/got null\)$/);
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

describe("normalizeOptions: option errors show the offending value where it is safe (issue 10.6)", () => {
  it.each([
    [
      { refreshMarginMs: -5 },
      'option "refreshMarginMs" must be a number ≥ 0 or a function of the lifetime (got -5)',
    ],
    [{ tokenIn: "cookie" }, 'option "tokenIn" must be "auth", "header" or "query" (got "cookie")'],
    [{ rotation: "always" }, 'option "rotation" must be "auto" or "reconnect" (got "always")'],
    [{ jitter: 2 }, 'option "jitter" must be a number from 0 to 1 (got 2)'],
    [{ refreshTimeoutMs: 0 }, 'option "refreshTimeoutMs" must be a number ≥ 1 (got 0)'],
    [{ maxAuthRejections: Number.NaN }, 'option "maxAuthRejections" must be a number ≥ 1 (got NaN)'],
    [{ retry: { attempts: 0 } }, 'option "retry.attempts" must be a number ≥ 1 (got 0)'],
    [{ debug: "yes" }, 'option "debug" must be true or false (got "yes")'],
  ])("%j → %s", (patch, message) => {
    expect(rejection(patch).message).toBe(`authed-socket: ${message}`);
  });

  it("never prints a function body, a token, or a string where a function belongs", () => {
    const jwt = fakeJwt(1, 2);
    const cases = [
      rejection({ jitter: () => "SECRET-BODY" }).message,
      rejection({ refresh: "opaque-secret-1" }).message,
      rejection({ getToken: jwt }).message,
      rejection({ tokenIn: jwt }).message,
      rejection({ tokenIn: "eyJa.eyJb.c" }).message,
      rejection({ logger: { warn: "x" } }).message,
    ];
    expect(cases).toEqual([
      'authed-socket: option "jitter" must be a number from 0 to 1 (got a function)',
      'authed-socket: option "refresh" must be a function (got a string)',
      'authed-socket: option "getToken" must be a function (got a string)',
      `authed-socket: option "tokenIn" must be "auth", "header" or "query" (got a string of ${jwt.length} characters)`,
      'authed-socket: option "tokenIn" must be "auth", "header" or "query" (got "[redacted]")',
      'authed-socket: option "logger.warn" must be a function (got a string)',
    ]);
    for (const message of cases) {
      expect(message).not.toContain("SECRET-BODY");
      expect(message).not.toContain("opaque-secret-1");
      expect(message).not.toContain(jwt);
    }
  });
});

describe("normalizeOptions: unknown option keys warn with the closest valid name (issue 10.6)", () => {
  function warningsFor(options: Record<string, unknown>): string[] {
    const warnings: string[] = [];
    normalizeOptions({ refresh, logger: { warn: (m: string) => warnings.push(m) }, ...options });
    return warnings;
  }

  it('refreshMargin → did you mean "refreshMarginMs"?', () => {
    expect(warningsFor({ refreshMargin: 5000 })).toEqual([
      'authed-socket: unknown option "refreshMargin" is ignored (did you mean "refreshMarginMs"?)',
    ]);
  });

  it("case and small typos find their option; nested retry keys too", () => {
    expect(warningsFor({ tokenin: "auth", getTokn: refresh, retry: { attempt: 3 } })).toEqual([
      'authed-socket: unknown option "tokenin" is ignored (did you mean "tokenIn"?)',
      'authed-socket: unknown option "getTokn" is ignored (did you mean "getToken"?)',
      'authed-socket: unknown option "retry.attempt" is ignored (did you mean "retry.attempts"?)',
    ]);
  });

  it("a socket.io-client option at the top level is sent to socket", () => {
    expect(warningsFor({ transports: ["websocket"] })).toEqual([
      'authed-socket: option "transports" is a socket.io-client option and is ignored here: pass it inside "socket"',
    ]);
  });

  it("a key close to nothing is reported without a guess", () => {
    expect(warningsFor({ colour: "blue" })).toEqual(['authed-socket: unknown option "colour" is ignored']);
  });

  it("every documented option is known: a full set of valid options warns about nothing", () => {
    const warnings: string[] = [];
    const all = Object.fromEntries(OPTION_NAMES.map((name) => [name, undefined]));
    normalizeOptions({ ...all, refresh, logger: { warn: (m: string) => warnings.push(m) } });
    expect(warnings).toEqual([]);
  });

  it("logger: null silences the warning; the default logger prints it with console.warn", () => {
    expect(() => normalizeOptions({ refresh, logger: null, refreshMargin: 1 })).not.toThrow();
    const spy = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    try {
      normalizeOptions({ refresh, refreshMargin: 1 });
      expect(spy).toHaveBeenCalledWith(
        'authed-socket: unknown option "refreshMargin" is ignored (did you mean "refreshMarginMs"?)',
      );
    } finally {
      spy.mockRestore();
    }
  });

  it("the edit distance and the closeness limit", () => {
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("", "abc")).toBe(3);
    expect(editDistance("same", "same")).toBe(0);
    expect(closestName("refreshMargin", OPTION_NAMES)).toBe("refreshMarginMs");
    expect(closestName("x", OPTION_NAMES)).toBeUndefined();
    expect(closestName("a".repeat(10_000), OPTION_NAMES)).toBeUndefined(); // no quadratic work on a huge key
  });
});

describe("normalizeOptions: debug (issue 10.5)", () => {
  it("is off by default; true gives the default logger a debug sink (console.debug)", () => {
    expect(normalizeOptions({ refresh }).debug).toBe(false);
    const verbose = normalizeOptions({ refresh, debug: true });
    expect(verbose.debug).toBe(true);
    expect(typeof verbose.logger.debug).toBe("function");
    const spy = vi.spyOn(console, "debug").mockImplementation(() => undefined);
    try {
      verbose.logger.debug?.("hello");
      expect(spy).toHaveBeenCalledWith("hello");
    } finally {
      spy.mockRestore();
    }
  });

  it("with the app's logger, the app's logger is used as it is", () => {
    const logger = { warn: () => undefined };
    expect(normalizeOptions({ refresh, debug: true, logger }).logger).toBe(logger);
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

  it("no margin by default: the refresh window ends where schedule.ts puts it (10 % of the lifetime)", () => {
    expect(o.marginFor).toBeUndefined();
  });

  it("a numeric margin is used whatever the lifetime", () => {
    const fixed = normalizeOptions({ refresh, refreshMarginMs: 5000 });
    expect(fixed.marginFor?.(10_000)).toBe(5000);
    expect(fixed.marginFor?.(3600_000)).toBe(5000);
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
