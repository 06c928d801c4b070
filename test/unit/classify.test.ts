import { describe, expect, it, vi } from "vitest";
import { classifyRefusal, type Refusal, retryAfterOf, retryDelay } from "../../src/classify.js";
import { HandshakeErrorCode } from "../../src/protocol.js";

/** A `connect_error` as socket.io-client delivers it: an Error with the server's `data`. */
function refusal(message: string, data?: unknown): Error & { data?: unknown } {
  return Object.assign(new Error(message), data === undefined ? {} : { data });
}

describe("classifyRefusal: stable codes in err.data.code", () => {
  const table: [string, Refusal][] = [
    [HandshakeErrorCode.TokenMissing, "auth"],
    [HandshakeErrorCode.TokenInvalid, "auth"],
    [HandshakeErrorCode.TokenExpired, "auth"],
    [HandshakeErrorCode.Forbidden, "fatal"],
    [HandshakeErrorCode.Unavailable, "retry"],
    [HandshakeErrorCode.TokenRevoked, "auth"],
    [HandshakeErrorCode.RateLimited, "rate_limited"],
  ];
  for (const [code, expected] of table) {
    it(`${code} → ${expected}`, () => {
      expect(classifyRefusal(refusal("whatever the server says", { code }))).toBe(expected);
    });
  }

  it("covers every stable handshake code", () => {
    expect(table.map(([code]) => code).sort()).toEqual(Object.values(HandshakeErrorCode).sort());
  });

  it("a code wins over a message that says otherwise", () => {
    expect(classifyRefusal(refusal("Invalid or expired token", { code: "FORBIDDEN" }))).toBe("fatal");
    expect(classifyRefusal(refusal("server full", { code: "TOKEN_EXPIRED" }))).toBe("auth");
    expect(classifyRefusal(refusal("jwt expired", { code: "UNAVAILABLE" }))).toBe("retry");
  });

  it("a code wins over a status that says otherwise", () => {
    expect(classifyRefusal(refusal("x", { code: "TOKEN_INVALID", status: 403 }))).toBe("auth");
    expect(classifyRefusal(refusal("x", { code: "FORBIDDEN", status: 401 }))).toBe("fatal");
  });

  it("codes are case-sensitive: a lower-case stable code is not a code", () => {
    expect(classifyRefusal(refusal("server full", { code: "forbidden" }))).toBe("other");
  });
});

describe("classifyRefusal: codes other servers use", () => {
  for (const code of ["invalid_token", "credentials_required", "UNAUTHORIZED", "UNAUTHENTICATED"]) {
    it(`${code} (express-jwt / koa-jwt style) → auth`, () => {
      expect(classifyRefusal(refusal("server full", { code }))).toBe("auth");
    });
  }

  it("an unknown code falls through to the message", () => {
    expect(classifyRefusal(refusal("server full", { code: "E_FULL" }))).toBe("other");
    expect(classifyRefusal(refusal("jwt expired", { code: "E_SOMETHING" }))).toBe("auth");
  });
});

describe("classifyRefusal: HTTP-like status", () => {
  it("status 401 → auth", () => {
    expect(classifyRefusal(refusal("server full", { status: 401 }))).toBe("auth");
  });
  it("status 403 → fatal", () => {
    expect(classifyRefusal(refusal("Invalid or expired token", { status: 403 }))).toBe("fatal");
  });
  it("statusCode 401 / 403 count the same as status", () => {
    expect(classifyRefusal(refusal("server full", { statusCode: 401 }))).toBe("auth");
    expect(classifyRefusal(refusal("server full", { statusCode: 403 }))).toBe("fatal");
  });
  it("other statuses fall through to the message", () => {
    expect(classifyRefusal(refusal("server full", { status: 503 }))).toBe("other");
    expect(classifyRefusal(refusal("jwt expired", { status: 500 }))).toBe("auth");
  });
});

describe("classifyRefusal: messages", () => {
  for (const message of [
    "Invalid or expired token",
    "Authentication token required",
    "No token provided",
    "authentication failed",
    "jwt expired",
    "Unauthorized",
    "jwt malformed",
    "Authentication error",
    "Unauthorised",
    "Token expired",
    "invalid signature",
    "jwt must be provided",
    "Not authenticated",
    "Connection rejected by server", // python-socketio: a connect handler returned False
  ]) {
    it(`"${message}" → auth`, () => {
      expect(classifyRefusal(refusal(message))).toBe("auth");
    });
  }

  it("matches messages case-insensitively", () => {
    expect(classifyRefusal(refusal("JWT EXPIRED"))).toBe("auth");
    expect(classifyRefusal(refusal("invalid OR expired TOKEN"))).toBe("auth");
  });

  for (const message of [
    "server full",
    "xhr poll error",
    "websocket error",
    "timeout",
    "Invalid namespace",
    "",
  ]) {
    it(`"${message}" → other`, () => {
      expect(classifyRefusal(refusal(message))).toBe("other");
    });
  }
});

describe("classifyRefusal: the user's isAuthError", () => {
  it("true turns an unrelated message into auth", () => {
    expect(classifyRefusal(refusal("server full"), () => true)).toBe("auth");
  });

  it("false overrides a message guess of auth", () => {
    expect(classifyRefusal(refusal("Unauthorized"), () => false)).toBe("other");
  });

  it("undefined leaves the built-in message rules in charge", () => {
    expect(classifyRefusal(refusal("jwt expired"), () => undefined)).toBe("auth");
    expect(classifyRefusal(refusal("server full"), () => undefined)).toBe("other");
  });

  it("codes win over isAuthError, which is not even consulted", () => {
    const isAuthError = vi.fn(() => false);
    expect(classifyRefusal(refusal("x", { code: "TOKEN_EXPIRED" }), isAuthError)).toBe("auth");
    expect(classifyRefusal(refusal("x", { code: "FORBIDDEN" }), () => true)).toBe("fatal");
    expect(classifyRefusal(refusal("x", { code: "UNAVAILABLE" }), () => true)).toBe("retry");
    expect(isAuthError).not.toHaveBeenCalled();
  });

  it("a 401/403 status wins over isAuthError", () => {
    expect(classifyRefusal(refusal("x", { status: 401 }), () => false)).toBe("auth");
    expect(classifyRefusal(refusal("x", { status: 403 }), () => true)).toBe("fatal");
  });

  it("receives the very error that was refused", () => {
    const error = refusal("custom", { reason: "nope" });
    const isAuthError = vi.fn(() => undefined);
    classifyRefusal(error, isAuthError);
    expect(isAuthError).toHaveBeenCalledExactlyOnceWith(error);
  });

  it("a non-boolean truthy answer is ignored (only true/false count)", () => {
    const loose = (() => 1) as unknown as () => boolean;
    expect(classifyRefusal(refusal("server full"), loose)).toBe("other");
  });
});

describe("classifyRefusal: hostile data", () => {
  for (const [label, data] of [
    ["null", null],
    ["a string", "TOKEN_EXPIRED"],
    ["a number", 401],
    ["an array", ["TOKEN_EXPIRED"]],
    ["an object without code", { reason: "x" }],
    ["a code that is an object", { code: { toString: () => "TOKEN_EXPIRED" } }],
    ["a status that is a string", { status: "401" }],
  ] as const) {
    it(`data as ${label} does not throw and falls back to the message`, () => {
      expect(classifyRefusal(refusal("server full", data))).toBe("other");
      expect(classifyRefusal(refusal("jwt expired", data))).toBe("auth");
    });
  }

  it("an object created without a prototype is read like any other", () => {
    const data = Object.assign(Object.create(null) as object, { code: "TOKEN_EXPIRED" });
    expect(classifyRefusal(refusal("server full", data))).toBe("auth");
  });

  it("a non-string message is read as a string", () => {
    const error = refusal("");
    (error as { message: unknown }).message = 42;
    expect(classifyRefusal(error)).toBe("other");
  });
});

describe("RATE_LIMITED: transient, never a rejection, and the wait is honoured", () => {
  it("is rate_limited whatever the message says (never auth, never fatal)", () => {
    for (const message of ["Invalid or expired token", "Forbidden", "unauthorized"])
      expect(classifyRefusal(refusal(message, { code: "RATE_LIMITED", retryAfterMs: 10 }))).toBe(
        "rate_limited",
      );
    expect(classifyRefusal(refusal("x", { code: "RATE_LIMITED", status: 401 }))).toBe("rate_limited");
  });

  it("reads retryAfterMs from a connect_error's data and from an auth:refresh ack", () => {
    expect(retryAfterOf(refusal("x", { code: "RATE_LIMITED", retryAfterMs: 1500 }))).toBe(1500);
    expect(retryAfterOf({ ok: false, code: "RATE_LIMITED", retryAfterMs: 250.2 })).toBe(251);
  });

  it("ignores a missing, negative, non-finite or non-numeric retryAfterMs, and caps a huge one at 10 minutes", () => {
    for (const value of [undefined, -1, Number.NaN, Number.POSITIVE_INFINITY, "500", null])
      expect(retryAfterOf({ retryAfterMs: value })).toBeUndefined();
    expect(retryAfterOf(refusal("x"))).toBeUndefined();
    expect(retryAfterOf(null)).toBeUndefined();
    expect(retryAfterOf({ retryAfterMs: 1e12 })).toBe(600_000);
    const hostile = {
      get data() {
        throw new Error("boom");
      },
    };
    expect(retryAfterOf(hostile)).toBeUndefined();
  });

  it("the next attempt waits at least retryAfterMs, and at least the backoff", () => {
    const limited = refusal("x", { code: "RATE_LIMITED", retryAfterMs: 2000 });
    expect(retryDelay(limited, 300)).toBe(2000);
    expect(retryDelay(limited, 5000)).toBe(5000);
    expect(retryDelay(refusal("x", { code: "UNAVAILABLE" }), 300)).toBe(300);
  });
});
