/**
 * An `exp` so large that exp × 1000 overflows is refused at the handshake (TOKEN_INVALID), instead of being accepted
 * and then cut at once — which would send a client into a refresh-and-reconnect loop with nothing in the logs.
 */
import { afterEach, describe, expect, it } from "vitest";
import { type AuthRejection, authenticate } from "../../src/server/index.js";
import { client, closeClients, refused } from "../helpers/companion.js";
import { startServer, type TestServer } from "../helpers/server.js";

const servers: TestServer[] = [];
afterEach(async () => {
  closeClients();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

describe("an exp that overflows", () => {
  it("refuses at the handshake an exp whose millisecond value is not finite", async () => {
    const server = await startServer();
    servers.push(server);
    const rejections: AuthRejection[] = [];
    server.io.use(
      authenticate({
        verify: () => ({ sub: "alice", exp: 1e306 }),
        onReject: (rejection) => rejections.push(rejection),
      }),
    );
    const socket = client(server.url, { token: "opaque" });
    // Actual: "the handshake was accepted", followed by auth:expired + disconnect.
    const refusal = await refused(socket, 2000);
    expect(refusal.data).toEqual({ code: "TOKEN_INVALID" });
    expect(rejections).toHaveLength(1);
  });
});
