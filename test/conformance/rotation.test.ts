/**
 * Spec §6: in-band rotation with `auth:refresh`: the ack that accepts (with the new expiry), the ack codes that
 * refuse, which refusals keep the connection and which end it, and that a connection never changes subject.
 */
import { describe, expect, it } from "vitest";
import { claimsOf, freshSubject } from "./target.js";
import { ready, refresh, targetPerFile } from "./wire.js";

const target = targetPerFile();

/** A connected socket for a subject of its own, with its token. */
async function session(label: string, ttlSec = 60) {
  const subject = freshSubject(label);
  const token = await target().mint({ subject, ttlSec });
  const accepted = await ready(target(), token);
  const { inBand } = (accepted.all("auth:ready")[0]?.payload ?? {}) as { inBand?: unknown };
  if (inBand !== true)
    throw new Error("the target does not advertise in-band refresh (auth:ready inBand: false)");
  return { subject, token, ...accepted };
}

describe("§6 auth:refresh", () => {
  it("§6.2 a token of the same subject is accepted: ack { ok: true, expiresAt: exp × 1000 }", async () => {
    const { subject, socket } = await session("rotate");
    const next = await target().mint({ subject, ttlSec: 120 });
    expect(await refresh(socket, { token: next })).toEqual({
      ok: true,
      expiresAt: (claimsOf(next).exp ?? 0) * 1000,
    });
    expect(socket.connected).toBe(true);
  });

  it("§6.2 rotations can follow one another on one connection, each acked with its own expiry", async () => {
    const { subject, socket } = await session("rotate-twice");
    for (const ttlSec of [90, 150]) {
      const next = await target().mint({ subject, ttlSec });
      expect(await refresh(socket, { token: next })).toMatchObject({
        ok: true,
        expiresAt: (claimsOf(next).exp ?? 0) * 1000,
      });
    }
  });

  it("§6.3 TOKEN_MISSING: a request without a token is refused and the connection keeps its token", async () => {
    const { subject, socket } = await session("missing");
    expect(await refresh(socket, {})).toEqual({ ok: false, code: "TOKEN_MISSING" });
    expect(await refresh(socket, { token: "" })).toEqual({ ok: false, code: "TOKEN_MISSING" });
    // Still served: the connection is up and the next valid token goes through.
    const next = await target().mint({ subject, ttlSec: 120 });
    expect(await refresh(socket, { token: next })).toMatchObject({ ok: true });
  });

  it("§6.3 TOKEN_INVALID: a payload that is not { token: string }, or a token that does not verify, is refused; the connection stays", async () => {
    const { socket } = await session("invalid");
    expect(await refresh(socket, "a string")).toEqual({ ok: false, code: "TOKEN_INVALID" });
    expect(await refresh(socket, { token: 42 })).toEqual({ ok: false, code: "TOKEN_INVALID" });
    expect(await refresh(socket, { token: "not-a-token" })).toEqual({ ok: false, code: "TOKEN_INVALID" });
    expect(socket.connected).toBe(true);
  });

  it("§6.3 TOKEN_EXPIRED: an expired token is refused; the connection keeps its current token", async () => {
    const { subject, socket } = await session("expired");
    const stale = await target().mint({ subject, ttlSec: -60 });
    expect(await refresh(socket, { token: stale })).toEqual({ ok: false, code: "TOKEN_EXPIRED" });
    expect(socket.connected).toBe(true);
  });

  it("§6.4 SUBJECT_MISMATCH: another subject's token is refused and the connection is ended", async () => {
    const { socket, next } = await session("mismatch");
    const other = await target().mint({ subject: freshSubject("other"), ttlSec: 60 });
    expect(await refresh(socket, { token: other })).toEqual({ ok: false, code: "SUBJECT_MISMATCH" });
    expect((await next("disconnect")).payload).toBe("io server disconnect");
  });

  it("§6.3 FORBIDDEN: a token of the same subject whose claims are no longer admitted ends the connection", async (context) => {
    const { forbiddenClaims } = target();
    if (!forbiddenClaims) return context.skip("the target declares no forbiddenClaims");
    const { subject, socket, next } = await session("demoted");
    const demoted = await target().mint({ subject, ttlSec: 60, claims: forbiddenClaims });
    expect(await refresh(socket, { token: demoted })).toEqual({ ok: false, code: "FORBIDDEN" });
    expect((await next("disconnect")).payload).toBe("io server disconnect");
  });

  it("§6.3, §8.3 TOKEN_REVOKED: a revoked token is refused, then auth:revoked { reason } and the disconnect", async (context) => {
    const { revoke, revokesJti } = target();
    if (!revoke || !revokesJti) return context.skip("the target declares no revoke hook that honours jti");
    const { subject, socket, next, seen } = await session("revoked-in-band");
    const next2 = await target().mint({ subject, ttlSec: 120 });
    await revoke({ subject, reason: "stolen-device", jti: claimsOf(next2).jti as string });
    expect(socket.connected).toBe(true); // the revocation covers the new token only
    expect(await refresh(socket, { token: next2 })).toEqual({ ok: false, code: "TOKEN_REVOKED" });
    expect((await next("auth:revoked")).payload).toEqual({ reason: "stolen-device" });
    await next("disconnect");
    const order = seen.map((entry) => entry.event);
    expect(order.indexOf("auth:revoked")).toBeLessThan(order.indexOf("disconnect"));
  });

  it("§6.3, §9 RATE_LIMITED: past the per-subject refresh limit, ack { ok: false, code, retryAfterMs }; the connection stays", async (context) => {
    const limit = target().rateLimits?.refreshesPerSubject;
    if (limit === undefined) return context.skip("the target declares no refreshesPerSubject limit");
    const { subject, socket } = await session("refresh-limited");
    const next = await target().mint({ subject, ttlSec: 120 });
    for (let i = 0; i < limit; i++)
      expect(await refresh(socket, { token: next })).toMatchObject({ ok: true });
    const ack = (await refresh(socket, { token: next })) as {
      ok?: unknown;
      code?: unknown;
      retryAfterMs?: unknown;
    };
    expect(ack).toMatchObject({ ok: false, code: "RATE_LIMITED" });
    expect(Number.isInteger(ack.retryAfterMs)).toBe(true);
    expect(ack.retryAfterMs as number).toBeGreaterThan(0);
    expect(socket.connected).toBe(true);
  });
});
