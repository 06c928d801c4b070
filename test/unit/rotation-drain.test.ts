/**
 * The drained re-handshake against a server that cuts at expiry (rotation: "reconnect"), on fake time: a refresh that
 * lands at the late end of its window still waits for the ack on the wire, and gives up only just before the
 * connection's token expires.
 */
import { afterEach, expect, it, vi } from "vitest";
import { createAuthedSocket } from "../../src/index.js";
import { FakeSocket, newWorld, withFakeTime } from "../helpers/fake-socket.js";
import { jwtAt } from "../helpers/support.js";

withFakeTime();
afterEach(() => {
  vi.restoreAllMocks();
});

/** Moves fake time in 1-ms steps until `done` holds; fails after `withinMs`. */
async function advanceUntil(done: () => boolean, withinMs: number, what: string): Promise<void> {
  for (let waited = 0; !done(); waited++) {
    if (waited >= withinMs) throw new Error(`${what} did not happen within ${withinMs} ms of fake time`);
    await vi.advanceTimersByTimeAsync(1);
  }
}

function setup() {
  // Random 0: every refresh at the latest end of its window, as close to expiry as the client ever goes.
  vi.spyOn(Math, "random").mockReturnValue(0);
  const world = newWorld(false);
  const socket = new FakeSocket(world);
  const refreshedAt: number[] = [];
  const disconnectedAt: number[] = [];
  socket.on("disconnect", () => disconnectedAt.push(Date.now()));
  const client = createAuthedSocket("http://drain.test", {
    refresh: () => {
      refreshedAt.push(Date.now());
      return jwtAt(Date.now(), 3);
    },
    rotation: "reconnect",
    environment: "none",
    logger: null,
    io: () => socket as never,
  });
  return { client, socket, refreshedAt, disconnectedAt };
}

it("waits for an ack on the wire after a refresh at the end of its window, then re-handshakes at once", async () => {
  const { client, socket, refreshedAt, disconnectedAt } = setup();
  await advanceUntil(() => client.state === "authenticated", 1000, "the first handshake");
  // An emit on the wire whose ack has not come back.
  socket.acks = { "1": () => {} };
  await advanceUntil(() => refreshedAt.length === 2, 5000, "the proactive refresh");
  const refreshed = refreshedAt[1] ?? Number.NaN;
  const expiresAt = refreshed + 3000;
  await vi.advanceTimersByTimeAsync(60);
  // Still draining: the connection with the ack on the wire lives on.
  expect(disconnectedAt).toEqual([]);
  expect(Date.now()).toBeLessThan(expiresAt);
  // The ack arrives: the re-handshake follows in the same turn.
  socket.acks = {};
  socket.io.fire("packet");
  await vi.advanceTimersByTimeAsync(0);
  expect(disconnectedAt).toEqual([Date.now()]);
  client.close();
});

it("gives up draining just before the connection's token expires, not before the refresh landed", async () => {
  const { client, socket, refreshedAt, disconnectedAt } = setup();
  await advanceUntil(() => client.state === "authenticated", 1000, "the first handshake");
  socket.acks = { "1": () => {} };
  await advanceUntil(() => refreshedAt.length === 2, 5000, "the proactive refresh");
  const refreshed = refreshedAt[1] ?? Number.NaN;
  await advanceUntil(() => disconnectedAt.length === 1, 5000, "the re-handshake");
  const waited = (disconnectedAt[0] ?? Number.NaN) - refreshed;
  // The token was issued on a whole second with 3 s to live; its local expiry errs early by iat's second: the
  // drain may run to 100 ms before that, so it waits more than a moment and ends before the server's cut.
  expect(waited).toBeGreaterThan(50);
  expect((disconnectedAt[0] ?? Number.NaN) - (refreshedAt[0] ?? Number.NaN)).toBeLessThan(3000);
  client.close();
});
