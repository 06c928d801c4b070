import type { Socket } from "socket.io-client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type AuthedSocket, createAuthedSocket, type Logger, type RefreshContext } from "../../src/index.js";
import { createLog, redactText } from "../../src/log.js";
import { FakeEmitter } from "../helpers/fake-socket.js";
import { deepText, fakeJwt, rejectionOf } from "../helpers/support.js";

/** A logger with all four levels that keeps every argument it receives. */
function capturingLogger() {
  const calls: { level: keyof Logger; args: unknown[] }[] = [];
  const logger: Required<Logger> = {
    debug: (...args) => calls.push({ level: "debug", args }),
    info: (...args) => calls.push({ level: "info", args }),
    warn: (...args) => calls.push({ level: "warn", args }),
    error: (...args) => calls.push({ level: "error", args }),
  };
  const text = () => calls.map((call) => deepText(call.args)).join("\n");
  return { logger, calls, text };
}

/** Fails naming the secret if the captured text holds it, or (for a JWT) any of its three segments. */
function expectNoSecret(text: string, secrets: readonly string[]): void {
  for (const secret of secrets) {
    expect(text, `leaked ${secret}`).not.toContain(secret);
    if (secret.split(".").length === 3)
      for (const segment of secret.split(".").slice(1, 2))
        expect(text, `leaked the claims of ${secret}`).not.toContain(segment);
  }
}

const OPAQUE = "opaque-access-token-1111111111";
const OPAQUE_2 = "opaque-access-token-2222222222";
const REFRESH_JWT = fakeJwt({ sub: "user-1", typ: "refresh", jti: "rt-42" });
const ACCESS_JWT = () => fakeJwt({ sub: "user-1", iat: Math.floor(Date.now() / 1000), exp: 4_102_444_800 });

describe("redactText", () => {
  it("replaces every occurrence of a known secret", () => {
    expect(redactText(`a ${OPAQUE} b ${OPAQUE}`, [OPAQUE])).toBe("a [redacted] b [redacted]");
  });

  it("replaces anything JWT-shaped, known or not", () => {
    expect(redactText(`got ${REFRESH_JWT}.`, [])).toBe("got [redacted].");
  });

  it("leaves secrets shorter than 8 characters alone (they would match ordinary words)", () => {
    expect(redactText("the token abc is short", ["abc"])).toBe("the token abc is short");
  });

  it("leaves text without secrets unchanged", () => {
    expect(redactText("refresh attempt 2 failed: 503", [OPAQUE])).toBe("refresh attempt 2 failed: 503");
  });
});

describe("createLog", () => {
  it("prefixes messages and passes them to the matching level", () => {
    const { logger, calls } = capturingLogger();
    const log = createLog(logger, () => []);
    log.debug("d");
    log.info("i");
    log.warn("w");
    log.error("e");
    expect(calls.map((c) => [c.level, c.args[0]])).toEqual([
      ["debug", "authed-socket: d"],
      ["info", "authed-socket: i"],
      ["warn", "authed-socket: w"],
      ["error", "authed-socket: e"],
    ]);
  });

  it("skips levels the logger does not have, without throwing", () => {
    const warn = vi.fn();
    const log = createLog({ warn }, () => [OPAQUE]);
    expect(() => log.debug(`x ${OPAQUE}`)).not.toThrow();
    expect(() => log.error(`x ${OPAQUE}`)).not.toThrow();
    expect(warn).not.toHaveBeenCalled();
  });

  it("calls the sink with the logger as this, so class-based loggers work", () => {
    class Sink {
      lines: string[] = [];
      warn(message: string) {
        this.lines.push(message);
      }
    }
    const sink = new Sink();
    createLog(sink, () => []).warn("hello");
    expect(sink.lines).toEqual(["authed-socket: hello"]);
  });

  it("never passes a known token in the message", () => {
    const { logger, text } = capturingLogger();
    createLog(logger, () => [OPAQUE]).warn(`refresh failed with ${OPAQUE}`);
    expectNoSecret(text(), [OPAQUE]);
    expect(text()).toContain("[redacted]");
  });

  it("never passes a known token in an Error detail, and keeps the error's name", () => {
    const { logger, calls, text } = capturingLogger();
    const error = new TypeError(`bad token ${OPAQUE}`, { cause: new Error(OPAQUE) });
    createLog(logger, () => [OPAQUE]).error("unexpected error", error);
    expectNoSecret(text(), [OPAQUE]);
    const passed = calls[0]?.args[1];
    expect(passed).toBeInstanceOf(Error);
    expect((passed as Error).name).toBe("TypeError");
    expect((passed as Error).message).toBe("bad token [redacted]");
  });

  it("never passes a known token in nested objects and arrays", () => {
    const { logger, text } = capturingLogger();
    createLog(logger, () => [OPAQUE]).warn("details", {
      headers: { Authorization: `Bearer ${OPAQUE}` },
      list: [OPAQUE, { token: OPAQUE }],
      error: new Error(OPAQUE),
    });
    expectNoSecret(text(), [OPAQUE]);
  });

  it("redacts JWT-shaped strings by pattern in messages and details, even unknown ones", () => {
    const { logger, text } = capturingLogger();
    createLog(logger, () => []).warn(
      `refresh token ${REFRESH_JWT}`,
      { body: REFRESH_JWT },
      new Error(REFRESH_JWT),
    );
    expectNoSecret(text(), [REFRESH_JWT]);
  });

  it("reads the secrets at every call, so a token learned later is redacted too", () => {
    const { logger, text } = capturingLogger();
    const secrets: string[] = [];
    const log = createLog(logger, () => secrets);
    secrets.push(OPAQUE_2);
    log.warn(`now holding ${OPAQUE_2}`);
    expectNoSecret(text(), [OPAQUE_2]);
  });

  it("passes other values through unchanged", () => {
    const { logger, calls } = capturingLogger();
    createLog(logger, () => [OPAQUE]).info("values", 42, null, undefined, true);
    expect(calls[0]?.args.slice(1)).toEqual([42, null, undefined, true]);
  });
});

// ---- end to end: the client's own log lines ---------------------------------------------------------------------

/** Just enough of a socket.io-client Socket for the client to hand over tokens and hear refusals. */
class FakeSocket extends FakeEmitter {
  auth: unknown = {};
  connected = false;
  active = false;
  sendBuffer: unknown[] = [];
  acks: Record<string, unknown> = {};
  handshakes: unknown[] = [];
  readonly io = {
    opts: {} as Record<string, unknown>,
    on: () => {},
    off: () => {},
    reconnection: () => true,
    timeout: () => 20_000,
  };

  connect(): this {
    this.active = true;
    // Called as a method of the socket, as socket.io does (`this.auth(cb)`).
    const self = this as unknown as { auth: (cb: (data: unknown) => void) => void };
    if (typeof this.auth === "function") self.auth((d) => this.handshakes.push(d));
    return this;
  }
  disconnect(): this {
    const was = this.connected;
    this.active = false;
    this.connected = false;
    if (was) this.fire("disconnect", "io client disconnect");
    return this;
  }
  /** The server's middleware refused the handshake: socket.io-client stops and reports it. */
  refuse(message: string, data?: unknown): void {
    this.active = false;
    this.fire("connect_error", Object.assign(new Error(message), data === undefined ? {} : { data }));
  }
}

describe("the client never logs a token", () => {
  const clients: AuthedSocket[] = [];
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
    vi.useRealTimers();
  });

  it('across a malformed-exp JWT, a failing refresh whose error quotes the tokens, a throwing listener and tokenIn "query"', async () => {
    const { logger, calls, text } = capturingLogger();
    const badExp = fakeJwt({ sub: "user-1", iat: Math.floor(Date.now() / 1000), exp: "soon" });
    let issued = "";
    const issue = (token: string) => {
      issued = token;
      return token;
    };
    const refresh = vi
      .fn<(ctx: RefreshContext) => string>()
      .mockImplementationOnce(() => issue(badExp))
      .mockImplementationOnce(() => issue(OPAQUE))
      .mockImplementationOnce(() => {
        throw new Error(
          `POST /refresh?rt=${REFRESH_JWT} failed; access ${OPAQUE} refused; earlier ${badExp}`,
        );
      });
    const client = createAuthedSocket("http://127.0.0.1:9", {
      refresh,
      logger,
      tokenIn: "query",
      retry: { attempts: 1 },
      environment: "none",
      socket: { autoConnect: false },
      on: {
        refreshed: () => {
          // A listener quoting the token it was just handed (the SDK knows this one).
          throw new Error(`listener saw ${issued}`);
        },
      },
    });
    clients.push(client);

    await client.refresh();
    await client.refresh();
    await rejectionOf(client.refresh());

    const levels = new Set(calls.map((c) => c.level));
    expect([...levels]).toEqual(expect.arrayContaining(["warn", "error"]));
    // The paths were all taken: the query warning, the bad exp, the failed attempt, the listener.
    expect(text()).toMatch(/query/);
    expect(text()).toMatch(/exp claim/);
    expect(text()).toMatch(/refresh attempt 1 failed/);
    expect(text()).toMatch(/listener threw/);
    expectNoSecret(text(), [OPAQUE, badExp, REFRESH_JWT]);
    expect(client.state).toBe("logged_out");
  });

  it("a refused handshake whose message echoes the token is logged without it, even after the token rotated", async () => {
    const { logger, calls, text } = capturingLogger();
    const fake = new FakeSocket();
    const refresh = vi.fn(() => OPAQUE_2);
    const client = createAuthedSocket("http://127.0.0.1:9", {
      getToken: () => ({ token: OPAQUE, expiresIn: 3600_000 }),
      refresh,
      logger,
      environment: "none",
      io: () => fake as unknown as Socket,
    });
    clients.push(client);
    await vi.advanceTimersByTimeAsync(0);
    // As the wire carries it (the auth value redacts itself only inside socket.io's packet dump).
    expect(fake.handshakes.map((h) => JSON.parse(JSON.stringify(h)))).toEqual([{ token: OPAQUE }]);

    fake.refuse(`Invalid token: ${OPAQUE}`, { code: "TOKEN_INVALID", token: OPAQUE });
    await vi.advanceTimersByTimeAsync(0);
    expect(refresh).toHaveBeenCalledTimes(1);
    // The old token is no longer held, but it was sent: it stays redacted.
    fake.refuse(`Invalid token: ${OPAQUE} / ${OPAQUE_2}`, { code: "TOKEN_INVALID" });
    await vi.advanceTimersByTimeAsync(0);

    expect(calls.filter((c) => c.level === "debug").length).toBeGreaterThanOrEqual(2);
    expect(text()).toMatch(/handshake refused \(auth\)/);
    expectNoSecret(text(), [OPAQUE, OPAQUE_2]);
  });

  it("getToken failing with the stored token in its message is logged without it, when that token is JWT-shaped", async () => {
    const { logger, text } = capturingLogger();
    const stored = ACCESS_JWT();
    const fake = new FakeSocket();
    const client = createAuthedSocket("http://127.0.0.1:9", {
      getToken: () => {
        throw new Error(`could not parse stored session ${stored}`);
      },
      refresh: () => ACCESS_JWT(),
      logger,
      environment: "none",
      io: () => fake as unknown as Socket,
    });
    clients.push(client);
    await vi.advanceTimersByTimeAsync(0);
    expect(fake.handshakes).toHaveLength(1);
    expect(text()).toMatch(/getToken failed/);
    expectNoSecret(text(), [stored]);
  });
});

describe("redaction cost", () => {
  // Speed is measured in bench/redaction.ts; here the test's own deadline (5 s) catches a backtracking regression,
  // which never finished on this input.
  it("a 1 MB hostile message of repeated eyJ is redacted in one pass, bounded, with the real token gone", () => {
    const token = fakeJwt({ sub: "u", exp: 2 });
    // ~1 MB, every third position a candidate start, then a real JWT-shaped token at the end.
    const hostile = `${"eyJ".repeat(350_000)} ${token}`;
    const secrets = ["a-known-secret-token-value"];
    redactText("eyJa.b.c warm-up", secrets);
    const out = redactText(hostile, secrets);
    expect(out).not.toContain(token);
    expect(out.length).toBeLessThan(2100);
    expect(redactText(`a ${token} b`, [])).toBe("a [redacted] b");
  });

  it("a very long message is logged bounded in length, still redacted", () => {
    const lines: string[] = [];
    const log = createLog({ warn: (m: string) => lines.push(m) }, () => []);
    const token = fakeJwt({ sub: "u", exp: 2 });
    log.warn(`refused: ${"x".repeat(100_000)} ${token}`);
    expect(lines[0]?.length).toBeLessThanOrEqual(4096);
    expect(lines[0]).not.toContain(token);
  });
});
