/**
 * Spec §3–§5: the handshake, its refusals with their stable codes, and `auth:ready`. Every case cites the section it
 * checks; the suite runs against whatever server target.ts resolves (the Node companion by default).
 */
import { describe, expect, it } from "vitest";
import { PROTOCOL_VERSION } from "../../src/protocol.js";
import { claimsOf, freshSubject, tamper } from "./target.js";
import { ready, refusal, targetPerFile } from "./wire.js";

const target = targetPerFile();

/** Versions this suite knows the rules of (spec §2). */
const KNOWN_VERSIONS = [1];

describe("§4 handshake refusals", () => {
  it("§4.2 TOKEN_MISSING: a handshake whose auth carries no token is refused", async () => {
    const { data, message } = await refusal(target(), {});
    expect(data.code).toBe("TOKEN_MISSING");
    expect(typeof message).toBe("string");
  });

  it("§4.2 TOKEN_MISSING: an empty auth.token counts as no token", async () => {
    expect((await refusal(target(), { token: "" })).data.code).toBe("TOKEN_MISSING");
  });

  it("§4.2 TOKEN_INVALID: an auth.token that is not a string is refused, not treated as missing", async () => {
    expect((await refusal(target(), { token: 42 })).data.code).toBe("TOKEN_INVALID");
  });

  it("§4.2 TOKEN_INVALID: a string that is not a token is refused", async () => {
    expect((await refusal(target(), { token: "not-a-token" })).data.code).toBe("TOKEN_INVALID");
  });

  it("§4.2, §4.4 TOKEN_INVALID: a bad signature is refused and the message does not quote the token", async () => {
    const token = tamper(await target().mint({ subject: freshSubject("sig"), ttlSec: 60 }));
    const { data, message } = await refusal(target(), { token });
    expect(data.code).toBe("TOKEN_INVALID");
    expect(message).not.toContain(token.split(".")[2]?.slice(0, 16));
  });

  it("§4.2 TOKEN_EXPIRED: a token past its expiry (and past the grace) is refused", async () => {
    const token = await target().mint({ subject: freshSubject("exp"), ttlSec: -60 });
    expect((await refusal(target(), { token })).data.code).toBe("TOKEN_EXPIRED");
  });

  it("§4.2 FORBIDDEN: a valid token whose claims the server does not admit is refused", async (context) => {
    const { forbiddenClaims } = target();
    if (!forbiddenClaims) return context.skip("the target declares no forbiddenClaims");
    const token = await target().mint({
      subject: freshSubject("forbidden"),
      ttlSec: 60,
      claims: forbiddenClaims,
    });
    expect((await refusal(target(), { token })).data.code).toBe("FORBIDDEN");
  });

  it("§4.2, §8.2 TOKEN_REVOKED: a token covered by a revocation is refused at the handshake", async (context) => {
    const { revoke } = target();
    if (!revoke) return context.skip("the target declares no revoke hook");
    const subject = freshSubject("revoked");
    const token = await target().mint({ subject, ttlSec: 60 });
    await revoke({ subject, reason: "conformance" });
    expect((await refusal(target(), { token })).data.code).toBe("TOKEN_REVOKED");
  });

  it("§4.3, §9 RATE_LIMITED: past the per-subject handshake limit, refused with data.retryAfterMs", async (context) => {
    const limit = target().rateLimits?.handshakesPerSubject;
    if (limit === undefined) return context.skip("the target declares no handshakesPerSubject limit");
    const token = await target().mint({ subject: freshSubject("limited"), ttlSec: 60 });
    for (let i = 0; i < limit; i++) {
      const accepted = await ready(target(), token);
      accepted.socket.disconnect();
    }
    const { data } = await refusal(target(), { token });
    expect(data.code).toBe("RATE_LIMITED");
    expect(typeof data.retryAfterMs).toBe("number");
    expect(Number.isInteger(data.retryAfterMs)).toBe(true);
    expect(data.retryAfterMs as number).toBeGreaterThan(0);
  });
});

describe("§5 auth:ready", () => {
  it("§5.1 an accepted handshake gets auth:ready { expiresAt: exp × 1000, inBand, version } before any other auth:* event", async () => {
    const token = await target().mint({ subject: freshSubject("ready"), ttlSec: 60 });
    const accepted = await ready(target(), token);
    const authEvents = accepted.seen.filter((entry) => entry.event.startsWith("auth:"));
    expect(authEvents[0]?.event).toBe("auth:ready");
    const payload = authEvents[0]?.payload as { expiresAt?: unknown; inBand?: unknown; version?: unknown };
    expect(payload.expiresAt).toBe((claimsOf(token).exp ?? 0) * 1000);
    expect(typeof payload.inBand).toBe("boolean");
    expect(accepted.socket.connected).toBe(true);
  });

  it("§2, §5.1 auth:ready.version, when present, is a version this spec defines; the Node companion sends the current one", async () => {
    const token = await target().mint({ subject: freshSubject("version"), ttlSec: 60 });
    const { version } = ((await ready(target(), token)).all("auth:ready")[0]?.payload ?? {}) as {
      version?: unknown;
    };
    if (version !== undefined) expect(KNOWN_VERSIONS).toContain(version);
    if (!process.env.CONFORMANCE_URL && !process.env.CONFORMANCE_TARGET)
      expect(version).toBe(PROTOCOL_VERSION);
  });
});
