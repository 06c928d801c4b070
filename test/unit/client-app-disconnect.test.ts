/**
 * The app may call `client.socket.disconnect()` itself (the real socket is public API): the client must then say it
 * is not connected (idle), and a refresh afterwards must not leave it in "refreshing".
 */
import { expect, it, vi } from "vitest";
import { createAuthedSocket } from "../../src/index.js";
import { FakeSocket, fakeJwt, newWorld, withFakeTime } from "../helpers/fake-socket.js";

withFakeTime();

it("after the app disconnects the socket, a refresh does not leave the client stuck in 'refreshing'", async () => {
  const world = newWorld(true);
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
