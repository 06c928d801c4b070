/**
 * A machine that sleeps: no timer runs while it is suspended, and when it wakes the wall clock has jumped. The client
 * must notice on its next timer step (at most 30 s) without any resume signal, refresh, and rotate the new token.
 */
import { expect, it, vi } from "vitest";
import { type AuthedSocketEvents, createAuthedSocket } from "../../src/index.js";
import { FakeSocket, fakeJwt, newWorld, withFakeTime } from "../helpers/fake-socket.js";

const MINUTE = 60_000;

withFakeTime();

it("after a simulated 10-minute sleep, the next timer step refreshes and rotates in band", async () => {
  const world = newWorld(true);
  const reasons: string[] = [];
  const authenticated: AuthedSocketEvents["authenticated"][] = [];
  const client = createAuthedSocket("http://sleep.test", {
    refresh: ({ reason }) => {
      reasons.push(reason);
      const now = Math.floor(Date.now() / 1000);
      return fakeJwt(now, now + 10 * 60); // ten-minute tokens
    },
    environment: "none", // no resume signal: only the timers can notice
    logger: null,
    io: () => new FakeSocket(world) as never,
    on: { authenticated: (e) => authenticated.push(e) },
  });
  await vi.advanceTimersByTimeAsync(100);
  expect(client.state).toBe("authenticated");
  expect(reasons).toEqual(["missing"]);

  // Asleep: the wall clock moves ten minutes (the token is now expired) and no timer fires meanwhile.
  vi.setSystemTime(Date.now() + 10 * MINUTE);
  expect(reasons).toHaveLength(1);

  // Awake: within one timer step the client has refreshed and rotated on the live connection.
  await vi.advanceTimersByTimeAsync(30_000);
  expect(reasons).toEqual(["missing", "expiring"]);
  expect(authenticated.map((e) => e.via)).toEqual(["handshake", "in-band"]);
  expect(client.expiresAt).toBeGreaterThan(Date.now() + 9 * MINUTE);
  expect(world.violations).toEqual([]);
  client.close();
});
