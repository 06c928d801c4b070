/**
 * A handshake that needs a refresh while the held token is inside its margin may fall back to that token only when
 * the refresh is slow — never when the refresh said the session is over (null / UnauthorizedError).
 */
import { expect, it, vi } from "vitest";
import { createAuthedSocket } from "../../src/index.js";
import { FakeSocket, fakeJwt, newWorld, withFakeTime } from "../helpers/fake-socket.js";

withFakeTime();

it("refresh() → null while the stored token is inside its margin ends the session instead of connecting", async () => {
  const world = newWorld(true);
  const now = Math.floor(Date.now() / 1000);
  // 60 s token with 5 s left: inside the default margin (12 s) but not expired.
  const stored = fakeJwt(now - 55, now + 5);
  let refreshCalls = 0;
  const events: string[] = [];
  const client = createAuthedSocket("http://review.test", {
    getToken: () => stored,
    refresh: () => {
      refreshCalls++;
      return null; // the session is over
    },
    environment: "none",
    logger: null,
    io: () => new FakeSocket(world) as never,
    on: {
      authenticated: () => events.push("authenticated"),
      logged_out: (e) => events.push(`logged_out:${e.reason}`),
    },
  });
  await vi.advanceTimersByTimeAsync(1000);
  expect({ events, handshakes: world.stats.handshakes, refreshCalls }).toEqual({
    events: ["logged_out:refresh_rejected"],
    handshakes: 0,
    refreshCalls: 1,
  });
  client.close();
});
