/**
 * Spec §7: the expiry watchdog on short real tokens: one `auth:expiring { expiresAt }` at
 * expiresAt − min(expiringBeforeMs, lifetime / 10), then `auth:expired {}` and the disconnect once the grace is over;
 * a rotation in answer to `auth:expiring` keeps the connection past the old deadline.
 */
import { describe, expect, it } from "vitest";
import { claimsOf, freshSubject } from "./target.js";
import { passes, ready, refresh, targetPerFile } from "./wire.js";

const target = targetPerFile();

/** A 2-s token (whole seconds: 1–2 s left when it arrives) and the instants the spec puts on it. */
async function shortSession(label: string) {
  const subject = freshSubject(label);
  const token = await target().mint({ subject, ttlSec: 2 });
  const { exp = 0, iat = 0 } = claimsOf(token);
  const expiresAt = exp * 1000;
  const lead = Math.min(target().timing.expiringBeforeMs, ((exp - iat) * 1000) / 10);
  const accepted = await ready(target(), token);
  return { subject, token, expiresAt, expiringAt: expiresAt - lead, ...accepted };
}

describe("§7 expiry", () => {
  it("§7.1 a token shorter than expiringBeforeMs gets one auth:expiring { expiresAt }, in its last tenth, not at once", async () => {
    const { expiresAt, expiringAt, next, all } = await shortSession("expiring");
    const { toleranceMs, timing } = target();
    const expiring = await next("auth:expiring", expiresAt - Date.now() + toleranceMs + 2000);
    expect(expiring.payload).toEqual({ expiresAt });
    expect(expiring.at).toBeGreaterThanOrEqual(expiringAt - toleranceMs);
    expect(expiring.at).toBeLessThanOrEqual(expiresAt + toleranceMs);
    await next("auth:expired", timing.graceMs + 2 * toleranceMs + 3000);
    expect(all("auth:expiring")).toHaveLength(1);
  });

  it("§7.2 without a rotation: auth:expired {} at expiresAt + grace, then the server disconnects", async () => {
    const { expiresAt, next, seen } = await shortSession("expired");
    const { toleranceMs, timing } = target();
    const expired = await next("auth:expired", expiresAt + timing.graceMs - Date.now() + toleranceMs + 3000);
    expect(expired.payload).toEqual({});
    expect(expired.at).toBeGreaterThanOrEqual(expiresAt + timing.graceMs - toleranceMs);
    expect((await next("disconnect")).payload).toBe("io server disconnect");
    const order = seen.map((entry) => entry.event);
    expect(order.indexOf("auth:expired")).toBeLessThan(order.indexOf("disconnect"));
  });

  it("§7.3 a rotation in answer to auth:expiring moves the deadline: no auth:expired at the old one", async () => {
    const { subject, expiresAt, next, all, socket } = await shortSession("rescued");
    const { toleranceMs, timing } = target();
    await next("auth:expiring", expiresAt - Date.now() + toleranceMs + 2000);
    const fresh = await target().mint({ subject, ttlSec: 60 });
    expect(await refresh(socket, { token: fresh })).toMatchObject({ ok: true });
    // Checking for an absence: let the old deadline go by, with the tolerance on top.
    await passes(Math.max(0, expiresAt + timing.graceMs + 2 * toleranceMs - Date.now()));
    expect(all("auth:expired")).toHaveLength(0);
    expect(all("disconnect")).toHaveLength(0);
    expect(socket.connected).toBe(true);
  });
});
