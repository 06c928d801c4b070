/**
 * Spec §8: a revocation ends the live sessions it covers (`auth:revoked { reason }`, then the disconnect), leaves
 * other users alone, and keeps covering the token at the next handshake.
 */
import { describe, expect, it } from "vitest";
import type { ConformanceTarget } from "./target.js";
import { freshSubject } from "./target.js";
import { ready, refusal, targetPerFile } from "./wire.js";

const target = targetPerFile();

function revokeOf(t: ConformanceTarget): NonNullable<ConformanceTarget["revoke"]> | undefined {
  return t.revoke?.bind(t);
}

describe("§8 revocation", () => {
  it("§8.1 every live socket of the user gets auth:revoked { reason }, then the server disconnects it", async (context) => {
    const revoke = revokeOf(target());
    if (!revoke) return context.skip("the target declares no revoke hook");
    const subject = freshSubject("revoke-live");
    const token = await target().mint({ subject, ttlSec: 60 });
    const first = await ready(target(), token);
    const second = await ready(target(), await target().mint({ subject, ttlSec: 60 }));
    await revoke({ subject, reason: "password_changed" });
    for (const socket of [first, second]) {
      expect((await socket.next("auth:revoked")).payload).toEqual({ reason: "password_changed" });
      expect((await socket.next("disconnect")).payload).toBe("io server disconnect");
      const order = socket.seen.map((entry) => entry.event);
      expect(order.indexOf("auth:revoked")).toBeLessThan(order.indexOf("disconnect"));
    }
  });

  it("§8.1 another user's connection is untouched by the revocation", async (context) => {
    const revoke = revokeOf(target());
    if (!revoke) return context.skip("the target declares no revoke hook");
    const revoked = freshSubject("revoke-one");
    const victim = await ready(target(), await target().mint({ subject: revoked, ttlSec: 60 }));
    const bystander = await ready(
      target(),
      await target().mint({ subject: freshSubject("bystander"), ttlSec: 60 }),
    );
    await revoke({ subject: revoked, reason: "conformance" });
    await victim.next("disconnect");
    expect(bystander.all("auth:revoked")).toHaveLength(0);
    expect(bystander.socket.connected).toBe(true);
  });

  it("§8.2 after the cut, the same token is refused at the handshake with TOKEN_REVOKED", async (context) => {
    const revoke = revokeOf(target());
    if (!revoke) return context.skip("the target declares no revoke hook");
    const subject = freshSubject("revoke-again");
    const token = await target().mint({ subject, ttlSec: 60 });
    const live = await ready(target(), token);
    await revoke({ subject, reason: "conformance" });
    await live.next("disconnect");
    expect((await refusal(target(), { token })).data.code).toBe("TOKEN_REVOKED");
  });
});
