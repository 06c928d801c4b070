/**
 * Failures that explain themselves (issue 10, items 5–8): the pieces in src/diagnostics.ts, each on its own. The
 * client-level behaviour (a refusing server, an unreachable one, a real socket) is in
 * test/integration/client-diagnostics.test.ts.
 */
import { io, Manager } from "socket.io-client";
import { describe, expect, it, vi } from "vitest";
import {
  checkProviderResult,
  createDiagnostics,
  createShapeErrorCounter,
  describeTransportError,
  displayUrl,
  emitAfterLoggedOut,
  normalizeUrl,
  REFUSALS_BEFORE_WARNING,
  refreshThrew,
  refuseEmits,
  SHAPE_ERRORS_BEFORE_GIVING_UP,
  UNREACHABLE_AFTER,
  watch,
} from "../../src/diagnostics.js";
import { AuthedSocketError, RefreshError } from "../../src/errors.js";
import { createEmitter } from "../../src/events.js";
import { createAuthedSocket } from "../../src/index.js";
import { createLog, type Log } from "../../src/log.js";
import { FakeEmitter, fakeJwt } from "../helpers/fake-socket.js";

/** A redacting log whose lines are recorded by level. */
function recordingLog(secrets: string[] = []): { log: Log; lines: { level: string; message: string }[] } {
  const lines: { level: string; message: string }[] = [];
  const sink = (level: string) => (message: string) => lines.push({ level, message });
  const log = createLog(
    { debug: sink("debug"), info: sink("info"), warn: sink("warn"), error: sink("error") },
    () => secrets,
  );
  return { log, lines };
}

const warnings = (lines: { level: string; message: string }[]) =>
  lines.filter((l) => l.level === "warn").map((l) => l.message);

class FakeWatchedSocket extends FakeEmitter {
  active = true;
  io = new FakeEmitter();
}

function transportError(description: unknown): Error {
  return Object.assign(new Error("websocket error"), { type: "TransportError", description });
}

function refusal(message: string, code?: string): Error {
  return Object.assign(new Error(message), code ? { data: { code } } : {});
}

function watched(options: { debug?: boolean; url?: string } = {}) {
  const { log, lines } = recordingLog();
  let now = 1_700_000_000_000;
  const diagnostics = createDiagnostics({
    log,
    url: options.url ?? "https://user:secret@chat.example.com/socket?token=abc#x",
    debug: options.debug ?? false,
    now: () => now,
  });
  const socket = new FakeWatchedSocket();
  const events = createEmitter((error) => {
    throw error;
  });
  const stop = watch(diagnostics, socket, events);
  return {
    diagnostics,
    socket,
    events,
    lines,
    stop,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe("the URL (item 8)", () => {
  it("accepts a string as it is and a URL object as its href", () => {
    expect(normalizeUrl("https://chat.example.com")).toBe("https://chat.example.com");
    expect(normalizeUrl(new URL("https://chat.example.com/ns"))).toBe("https://chat.example.com/ns");
  });

  it("accepts a URL from another realm (an object with href and protocol)", () => {
    const foreign = { href: "https://chat.example.com/", protocol: "https:", toString: () => "x" };
    expect(normalizeUrl(foreign)).toBe("https://chat.example.com/");
  });

  it("rejects anything else with a TypeError that names url and says what it got", () => {
    expect(() => normalizeUrl(42)).toThrow(/"url" must be a non-empty string or a URL \(got a number\)/);
    expect(() => normalizeUrl("")).toThrow(/got an empty string/);
    expect(() => normalizeUrl({ host: "x" })).toThrow(/got an object/);
    expect(() => normalizeUrl(undefined)).toThrow(/got undefined/);
  });

  it("is shown without credentials, query or fragment", () => {
    expect(displayUrl("https://user:pw@chat.example.com:8443/socket?token=abc#f")).toBe(
      "https://chat.example.com:8443/socket",
    );
    expect(displayUrl("http://127.0.0.1:1")).toBe("http://127.0.0.1:1");
    expect(displayUrl("/chat?token=abc")).toBe("/chat");
  });
});

describe("what a token provider returned (item 6)", () => {
  const secret = fakeJwt(1, 2);

  it("a string or { token, expiresIn, expiresAt } is a token", () => {
    expect(checkProviderResult(secret, "refresh")).toEqual({ ok: true, value: secret, extra: {} });
    expect(checkProviderResult({ token: secret, expiresIn: 60_000 }, "refresh")).toEqual({
      ok: true,
      value: secret,
      extra: { expiresIn: 60_000 },
    });
  });

  it("an object without token says so and suggests { token: accessToken }, without printing the token", () => {
    const outcome = checkProviderResult({ accessToken: secret, expires_in: 3600 }, "refresh");
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.shape).toBe(true);
    expect(outcome.error).toBeInstanceOf(RefreshError);
    expect(outcome.error.code).toBe("ERR_INVALID_TOKEN");
    expect(outcome.error.message).toBe(
      'refresh returned an object without "token" (fields "accessToken", "expires_in"); return { token: result.accessToken, expiresIn: result.expires_in * 1000 } instead',
    );
    expect(outcome.error.message).not.toContain(secret);
  });

  it("suggests access_token too, and names the provider (getToken)", () => {
    const outcome = checkProviderResult({ access_token: "opaque-value" }, "getToken");
    expect(!outcome.ok && outcome.error.message).toMatch(
      /^getToken returned an object without "token".*return \{ token: result\.access_token \} instead$/,
    );
    expect(!outcome.ok && outcome.error.message).not.toContain("opaque-value");
  });

  it("an object without any token-like field lists what is accepted", () => {
    const outcome = checkProviderResult({}, "refresh");
    expect(!outcome.ok && outcome.error.message).toBe(
      'refresh returned an object without "token" (no fields); return a string, { token, expiresAt?, expiresIn? } or null',
    );
  });

  it.each([
    { value: 42, kind: "a number" },
    { value: true, kind: "a boolean" },
    { value: [secret], kind: "an array" },
    { value: () => secret, kind: "a function" },
  ])("a wrong type ($kind) is a shape error that names the type, never the value", ({ value, kind }) => {
    const outcome = checkProviderResult(value, "refresh");
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.shape).toBe(true);
    expect(outcome.error.message).toBe(
      `refresh must return a string, { token, expiresAt?, expiresIn? } or null (got ${kind})`,
    );
  });

  it("a token that is not a string, an empty token, a non-finite expiry", () => {
    const messages = [{ token: 5 }, "", { token: "" }, { token: secret, expiresIn: Number.NaN }].map((v) => {
      const outcome = checkProviderResult(v, "refresh");
      return outcome.ok ? "ok" : outcome.error.message;
    });
    expect(messages).toEqual([
      "refresh returned { token } whose token is a number, not a string",
      "refresh returned an empty string",
      "refresh returned { token } with an empty token",
      "refresh returned expiresIn = NaN; it must be a finite number of ms",
    ]);
  });

  it(`after ${SHAPE_ERRORS_BEFORE_GIVING_UP} shape errors in a row it gives up with a clear error`, () => {
    const counter = createShapeErrorCounter();
    const wrong = checkProviderResult(42, "refresh");
    expect(counter.record(wrong)).toBeUndefined();
    expect(counter.record(wrong)).toBeUndefined();
    const final = counter.record(wrong);
    expect(final).toBeInstanceOf(RefreshError);
    expect(final?.code).toBe("ERR_INVALID_TOKEN");
    expect(final?.message).toMatch(
      /got a number\) \(3 times in a row: a programming error, not a passing failure\)$/,
    );
    expect(final?.cause).toBeInstanceOf(RefreshError);
  });

  it("a success or another kind of failure in between starts the count again", () => {
    const counter = createShapeErrorCounter();
    const wrong = checkProviderResult(42, "refresh");
    counter.record(wrong);
    counter.record(wrong);
    counter.record(checkProviderResult(secret, "refresh"));
    expect(counter.record(wrong)).toBeUndefined();
    counter.record(null); // a network failure
    counter.record(wrong);
    expect(counter.record(wrong)).toBeUndefined();
    expect(counter.record(wrong)).toBeInstanceOf(RefreshError);
  });

  it('a refresh that throws "refresh failed" does not read "refresh failed: refresh failed"', () => {
    const error = refreshThrew(new Error("refresh failed"));
    expect(error.message).toBe("refresh threw refresh failed");
    expect(error.message).not.toMatch(/refresh failed: refresh failed/);
    expect(error.code).toBe("ERR_REFRESH_FAILED");
    expect(refreshThrew(new TypeError("fetch failed")).message).toBe("refresh threw TypeError: fetch failed");
    expect(refreshThrew("nope").message).toBe('refresh threw "nope"');
  });
});

describe("emits after the session ended (item 7)", () => {
  function realSocket(options: { ackTimeout?: number } = {}) {
    // Never connects: autoConnect false and nothing calls connect().
    return io("http://127.0.0.1:1", { autoConnect: false, forceNew: true, ...options });
  }

  it("socket.timeout(ms).emit(…, ack) gets ERR_LOGGED_OUT at once, and nothing is buffered", async () => {
    const socket = realSocket();
    const { log } = recordingLog();
    refuseEmits(socket, () => emitAfterLoggedOut("auth_rejected"), log);
    const error = await new Promise<Error>((resolve) => {
      socket.timeout(60_000).emit("chat", "hi", (err: Error) => resolve(err));
    });
    expect(error).toBeInstanceOf(AuthedSocketError);
    expect((error as AuthedSocketError).code).toBe("ERR_LOGGED_OUT");
    expect(error.message).toMatch(/logged_out: auth_rejected.*nothing was sent.*connect\(\)/);
    expect((socket as unknown as { sendBuffer: unknown[] }).sendBuffer).toHaveLength(0);
    socket.close();
  });

  it("emitWithAck rejects at once, with or without a timeout", async () => {
    const socket = realSocket();
    refuseEmits(socket, () => emitAfterLoggedOut("forbidden"), recordingLog().log);
    await expect(socket.emitWithAck("chat", "hi")).rejects.toMatchObject({ code: "ERR_LOGGED_OUT" });
    await expect(socket.timeout(60_000).emitWithAck("chat", "hi")).rejects.toMatchObject({
      code: "ERR_LOGGED_OUT",
    });
    socket.close();
  });

  it("the ackTimeout option makes acks error-first too", async () => {
    const socket = realSocket({ ackTimeout: 60_000 });
    refuseEmits(socket, () => emitAfterLoggedOut("revoked"), recordingLog().log);
    const error = await new Promise<unknown>((resolve) =>
      socket.emit("chat", (err: unknown) => resolve(err)),
    );
    expect(error).toMatchObject({ code: "ERR_LOGGED_OUT" });
    socket.close();
  });

  it("an emit without an error-first ack is dropped with one warning, then debug lines", () => {
    const socket = realSocket();
    const { log, lines } = recordingLog();
    refuseEmits(socket, () => emitAfterLoggedOut("refresh_rejected"), log);
    const plainAck = vi.fn();
    socket.emit("chat", "one");
    socket.emit("chat", "two", plainAck);
    expect(warnings(lines)).toEqual([
      'authed-socket: emit("chat") dropped: the session is over (logged_out: refresh_rejected); nothing was sent. Call connect() once the user signed in again',
    ]);
    expect(lines.filter((l) => l.level === "debug")).toHaveLength(1);
    expect((socket as unknown as { sendBuffer: unknown[] }).sendBuffer).toHaveLength(0);
    expect(plainAck).not.toHaveBeenCalled();
    socket.close();
  });

  it("restoring gives the socket its own emit back, and no .timeout() flag leaks into it", () => {
    const socket = realSocket();
    const restore = refuseEmits(socket, () => emitAfterLoggedOut("logout"), recordingLog().log);
    expect(Object.hasOwn(socket, "emit")).toBe(true);
    socket.timeout(5).emit("refused", () => undefined);
    restore();
    expect(Object.hasOwn(socket, "emit")).toBe(false);
    expect(Object.hasOwn(socket, "emitWithAck")).toBe(false);
    expect((socket as unknown as { flags: object }).flags).toEqual({});
    socket.emit("buffered", "x");
    expect((socket as unknown as { sendBuffer: unknown[] }).sendBuffer).toHaveLength(1);
    socket.close();
  });
});

describe("the narrator (item 5)", () => {
  it(`after ${UNREACHABLE_AFTER} transport failures in a row it warns once: URL (no secrets), attempts, last error`, () => {
    const { socket, lines } = watched();
    for (let i = 0; i < UNREACHABLE_AFTER + 3; i++)
      socket.fire("connect_error", transportError(new Error("connect ECONNREFUSED 10.0.0.1:443")));
    expect(warnings(lines)).toEqual([
      `authed-socket: cannot reach https://chat.example.com/socket: ${UNREACHABLE_AFTER} attempts failed, the last with websocket error (connect ECONNREFUSED 10.0.0.1:443); still retrying`,
    ]);
  });

  it("warns again after the server was reached and lost again", () => {
    const { socket, lines } = watched();
    for (let i = 0; i < UNREACHABLE_AFTER; i++) socket.fire("connect_error", transportError(0));
    socket.fire("connect");
    for (let i = 0; i < UNREACHABLE_AFTER; i++) socket.fire("connect_error", transportError(0));
    expect(warnings(lines)).toHaveLength(2);
    expect(warnings(lines)[1]).toContain("websocket error (no HTTP response)");
    expect(
      lines.some((l) => l.level === "info" && /reached https:\/\/chat\.example\.com\/socket/.test(l.message)),
    ).toBe(true);
  });

  it("describes socket.io's transport errors: an HTTP status, a nested error, nothing", () => {
    expect(describeTransportError(transportError(404))).toBe("websocket error (HTTP 404)");
    expect(describeTransportError(transportError({ error: new Error("getaddrinfo ENOTFOUND x") }))).toBe(
      "websocket error (getaddrinfo ENOTFOUND x)",
    );
    expect(describeTransportError(new Error("timeout"))).toBe("timeout");
  });

  it("warns on logged_out with the reason, the error and the server's last refusal, redacted", () => {
    const { diagnostics, socket, lines } = watched();
    socket.active = false;
    const token = fakeJwt(1, 2);
    socket.fire("connect_error", refusal(`invalid signature for ${token}`, "TOKEN_INVALID"));
    diagnostics.loggedOut(
      "auth_rejected",
      new AuthedSocketError("ERR_AUTH_REJECTED", "the server refused 3 fresh tokens in a row"),
    );
    const [warning] = warnings(lines);
    expect(warning).toBe(
      `authed-socket: logged out (auth_rejected): the server refused 3 fresh tokens in a row; the server's last refusal: "invalid signature for [redacted]" (code TOKEN_INVALID). Check that the server verifies with the issuer's secret or key, algorithm, issuer and audience, and its clock.`,
    );
    expect(warning).not.toContain(token);
  });

  it("logout() is not a warning; every other reason is, with what to check", () => {
    const { diagnostics, lines } = watched();
    diagnostics.loggedOut("logout");
    expect(warnings(lines)).toEqual([]);
    diagnostics.loggedOut("forbidden", new AuthedSocketError("ERR_FORBIDDEN", "Forbidden"));
    diagnostics.loggedOut("refresh_rejected");
    expect(warnings(lines)).toEqual([
      "authed-socket: logged out (forbidden): Forbidden. The server refused this user; a new token will not help.",
      "authed-socket: logged out (refresh_rejected). refresh returned null or threw UnauthorizedError: the user must sign in again.",
    ]);
  });

  it("ERR_AUTH_REJECTED quotes the last refusal and carries it as its cause", () => {
    const { diagnostics, socket } = watched();
    socket.active = false;
    const said = refusal("jwt audience invalid");
    socket.fire("connect_error", said);
    const error = diagnostics.authRejected(3);
    expect(error.code).toBe("ERR_AUTH_REJECTED");
    expect(error.cause).toBe(said);
    expect(error.message).toBe(
      'the server refused 3 fresh tokens in a row; the last refusal: "jwt audience invalid"',
    );
    expect(diagnostics.explain()).toBe(` (the server's last refusal: "jwt audience invalid")`);
  });

  it(`after ${REFUSALS_BEFORE_WARNING} refusals in a row that end nothing it warns once`, () => {
    const { socket, lines } = watched();
    socket.active = false;
    for (let i = 0; i < REFUSALS_BEFORE_WARNING + 2; i++)
      socket.fire("connect_error", refusal("server busy", "UNAVAILABLE"));
    expect(warnings(lines)).toEqual([
      `authed-socket: the server at https://chat.example.com/socket refused ${REFUSALS_BEFORE_WARNING} handshakes in a row, the last with "server busy" (code UNAVAILABLE); still retrying`,
    ]);
  });

  it("explain() says why nothing happened yet, for a waitFor timeout", () => {
    const { diagnostics, socket } = watched({ url: "http://127.0.0.1:1" });
    expect(diagnostics.explain()).toBe("");
    socket.fire("connect_error", transportError(0));
    expect(diagnostics.explain()).toBe(
      " (cannot reach http://127.0.0.1:1: 1 attempts, the last with websocket error (no HTTP response))",
    );
  });

  it("refresh failures: the first three and powers of two at warn, the rest at debug", () => {
    const { diagnostics, lines } = watched();
    const error = new RefreshError("ERR_REFRESH_FAILED", "refresh threw boom");
    for (let attempt = 1; attempt <= 9; attempt++)
      diagnostics.refreshFailed(error, attempt, attempt === 1 ? 250 : 1500);
    diagnostics.refreshFailed(error, 10, null);
    expect(warnings(lines).map((m) => /attempt (\d+)/.exec(m)?.[1])).toEqual(["1", "2", "3", "4", "8", "10"]);
    expect(warnings(lines)[0]).toBe(
      "authed-socket: refresh attempt 1 failed (retrying in 250 ms): refresh threw boom",
    );
    expect(warnings(lines)[5]).toContain("(giving up)");
  });

  it("debug narrates the lifecycle; without it, nothing at debug", () => {
    for (const debug of [true, false]) {
      const { socket, events, lines, advance } = watched({ debug });
      events.emit("state", { from: "idle", to: "connecting" });
      events.emit("refreshing", { reason: "missing", attempt: 1 });
      events.emit("refreshed", { expiresAt: 1_700_000_060_000 });
      advance(1000);
      events.emit("authenticated", { via: "handshake", expiresAt: 1_700_000_060_000 });
      socket.fire("disconnect", "transport close");
      socket.io.fire("reconnect_attempt", 1);
      const debugLines = lines.filter((l) => l.level === "debug").map((l) => l.message);
      if (!debug) expect(debugLines).toEqual([]);
      else
        expect(debugLines).toEqual([
          "authed-socket: state idle → connecting",
          "authed-socket: refreshing (missing)",
          "authed-socket: refreshed: a token that expires in 60 s",
          "authed-socket: authenticated (handshake) with a token that expires in 59 s",
          "authed-socket: disconnected: transport close",
          "authed-socket: reconnect attempt 1",
        ]);
    }
  });

  it("stop() removes every listener it added", () => {
    const { socket, stop, events, lines } = watched({ debug: true });
    expect(socket.listenerTotal()).toBeGreaterThan(0);
    stop();
    expect(socket.listenerTotal()).toBe(0);
    expect(socket.io.listenerTotal()).toBe(0);
    events.emit("state", { from: "idle", to: "connecting" });
    for (let i = 0; i < UNREACHABLE_AFTER; i++) socket.fire("connect_error", transportError(0));
    expect(lines).toEqual([]);
  });
});

describe("one socket, one client", () => {
  it("a second client on a socket another client holds (socket.forceNew: false) is refused by name; after close() it may", () => {
    const socket = io("http://127.0.0.1:1", { autoConnect: false, forceNew: true });
    const make = () =>
      createAuthedSocket("http://127.0.0.1:1", {
        refresh: () => fakeJwt(1, 2),
        socket: { autoConnect: false },
        environment: "none",
        logger: null,
        io: () => socket,
      });
    const first = make();
    expect(make).toThrow(/already belongs to another client.*socket\.forceNew/);
    first.close();
    const second = make();
    expect(second.socket).toBe(socket);
    second.close();
    socket.close();
  });

  it("clients of two namespaces on one Manager share its listeners, which go with the last client", () => {
    const manager = new Manager("http://127.0.0.1:1", { autoConnect: false });
    const make = (nsp: string) =>
      createAuthedSocket(`http://127.0.0.1:1${nsp}`, {
        refresh: () => fakeJwt(1, 2),
        socket: { autoConnect: false },
        environment: "none",
        logger: null,
        io: () => manager.socket(nsp),
      });
    const chat = make("/chat");
    const admin = make("/admin");
    expect(manager.listeners("reconnect_attempt")).toHaveLength(1);
    chat.close();
    expect(manager.listeners("reconnect_attempt")).toHaveLength(1);
    expect(manager.listeners("reconnect_failed")).toHaveLength(1);
    admin.close();
    expect(manager.listeners("reconnect_attempt")).toHaveLength(0);
    expect(manager.listeners("reconnect_failed")).toHaveLength(0);
  });
});
