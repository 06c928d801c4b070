import { describe, expect, it } from "vitest";
import { ConnectionScope, expiryTolerance, judgeRefusal } from "../../src/connection.js";
import type { KeptToken } from "../../src/token.js";

const NOW = 1_700_000_000_000;

function token(value: string, expiresInMs: number | null, lifetimeMs = 60_000, fresh = true): KeptToken {
  return {
    value,
    expiresAt: expiresInMs === null ? null : NOW + expiresInMs,
    lifetimeMs: expiresInMs === null ? null : lifetimeMs,
    receivedAt: NOW - 1000,
    refreshAt: null,
    fresh,
  };
}

describe("judgeRefusal: a refusal or cut judged against the token the connection presented", () => {
  it("holding a newer usable token → use it at once (no refresh, not a rejection)", () => {
    const presented = token("old", 5_000);
    const held = token("new", 55_000);
    expect(judgeRefusal(presented, held, true, NOW)).toBe("use-held");
  });

  it("a refusal of a token older than the one held is never a rejection, even while it was valid", () => {
    expect(judgeRefusal(token("old", 30_000), token("new", 60_000), true, NOW)).toBe("use-held");
  });

  it("the presented token at or past its expiry → expired (refresh, not a rejection)", () => {
    const presented = token("only", 0, 2000);
    expect(judgeRefusal(presented, presented, false, NOW)).toBe("expired");
    // Within the tolerance (a tenth of a 2-s lifetime) before expiry counts as at expiry.
    expect(judgeRefusal(token("t", 150, 2000), null, false, NOW)).toBe("expired");
  });

  it("the newest token refused while valid → rejected (counts towards maxAuthRejections)", () => {
    const presented = token("only", 30_000);
    expect(judgeRefusal(presented, presented, true, NOW)).toBe("rejected");
  });

  it("a held token that is not usable (expired) is not used; the verdict follows the presented token", () => {
    expect(judgeRefusal(token("old", 30_000), token("new", 60_000), false, NOW)).toBe("rejected");
  });

  it("no token presented → the held token when usable, otherwise get one (expired)", () => {
    expect(judgeRefusal(null, token("held", 60_000), true, NOW)).toBe("use-held");
    expect(judgeRefusal(null, null, false, NOW)).toBe("expired");
  });

  it("an opaque token (no expiry) refused is a rejection; a newer opaque one held is used", () => {
    const presented = token("opaque-a", null);
    expect(judgeRefusal(presented, presented, true, NOW)).toBe("rejected");
    const newer = { ...token("opaque-b", null), receivedAt: NOW };
    expect(judgeRefusal(presented, newer, true, NOW)).toBe("use-held");
  });

  it("the tolerance is a tenth of the lifetime, at most a second", () => {
    expect(expiryTolerance(token("a", 0, 2000))).toBe(200);
    expect(expiryTolerance(token("b", 0, 3_600_000))).toBe(1000);
  });
});

describe("ConnectionScope", () => {
  it("runs what it owns once when disposed, and at once for what is added after", () => {
    const scope = new ConnectionScope();
    const ran: string[] = [];
    scope.own(() => ran.push("timer"));
    scope.dispose();
    scope.dispose();
    scope.own(() => ran.push("late"));
    expect({ ran, disposed: scope.disposed }).toEqual({ ran: ["timer", "late"], disposed: true });
  });
});
