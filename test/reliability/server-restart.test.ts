// The socket.io server process goes away and comes back on the same port: the client reconnects on its own with
// the token it holds (still valid, so no refresh), and the restarted server verifies it.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { jwtVerify } from "jose";
import { Server } from "socket.io";
import { afterEach, describe, expect, it } from "vitest";
import { createAuthedSocket } from "../../src/index.js";
import { signToken, TEST_SECRET } from "../helpers/jwt.js";
import { waitUntil } from "../helpers/wait.js";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A verifying socket.io server on `port` (0 for any); records each handshake's verdict. */
async function serve(port: number, verdicts: string[]) {
  const http = createServer();
  const io = new Server(http);
  io.use((socket, next) => {
    const token = (socket.handshake.auth as { token?: unknown }).token;
    jwtVerify(String(token), TEST_SECRET, { algorithms: ["HS256"] }).then(
      () => {
        verdicts.push("accepted");
        next();
      },
      () => {
        verdicts.push("refused");
        next(new Error("Invalid or expired token"));
      },
    );
  });
  await new Promise<void>((resolve) => http.listen(port, "127.0.0.1", resolve));
  return {
    port: (http.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        io.close(() => resolve());
        http.closeAllConnections();
      }),
  };
}

describe("server restart", () => {
  it("the client reconnects to the restarted server with its held token: no refresh, accepted", async () => {
    const verdicts: string[] = [];
    const first = await serve(0, verdicts);
    let refreshes = 0;
    const client = createAuthedSocket(`http://127.0.0.1:${first.port}`, {
      getToken: () => null,
      refresh: async () => {
        refreshes++;
        return signToken({ ttlSec: 600 });
      },
      logger: null,
      environment: "none",
      socket: { transports: ["websocket"], reconnectionDelay: 100, reconnectionDelayMax: 500 },
    });
    cleanups.push(() => client.close());
    await client.waitFor("authenticated", { timeoutMs: 10_000 });
    await first.close();
    await waitUntil(() => client.state !== "authenticated", { what: "the client to notice the restart" });
    const second = await serve(first.port, verdicts);
    cleanups.push(() => second.close());
    await waitUntil(() => client.state === "authenticated", {
      timeoutMs: 15_000,
      what: "authenticated on the restarted server",
    });
    expect(verdicts).toEqual(["accepted", "accepted"]);
    expect(refreshes).toBe(1);
  });
});
