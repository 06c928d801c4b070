/**
 * The app may call `client.socket.disconnect()` itself (the real socket is public API): the client must then say it
 * is not connected (idle), and a refresh afterwards must not leave it in "refreshing".
 */
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { createAuthedSocket } from "../../src/index.js";
import { FakeSocket, fakeJwt, type World } from "../helpers/fake-socket.js";

beforeEach(() => {
  vi.useFakeTimers({ now: 1_700_000_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

it("after the app disconnects the socket, a refresh does not leave the client stuck in 'refreshing'", async () => {
  const world: World = {
    violations: [],
    stats: { handshakes: 0, accepted: 0, refreshes: 0, inBandRotations: 0 },
    rejectNext: false,
    inBand: true,
    quiet: null,
  };
  const client = createAuthedSocket("http://review.test", {
    refresh: () => {
      const now = Math.floor(Date.now() / 1000);
      return fakeJwt(now, now + 600);
    },
    environment: "none",
    logger: null,
    io: () => new FakeSocket(world) as never,
  });
  await vi.advanceTimersByTimeAsync(100);
  expect(client.state).toBe("authenticated");
  client.socket.disconnect();
  expect(client.state).toBe("idle");
  await client.refresh();
  await vi.advanceTimersByTimeAsync(60_000);
  expect(client.state).toBe("idle");
  expect(client.socket.connected).toBe(false);
  // connect() brings it back, with the token refreshed meanwhile.
  client.connect();
  await vi.advanceTimersByTimeAsync(100);
  expect(client.state).toBe("authenticated");
  expect(world.violations).toEqual([]);
  client.close();
});
