import { afterEach, describe, expect, it } from "vitest";
import { type AuthedSocket, createAuthedSocket } from "../../src/index.js";
import { startAuthServer } from "../helpers/auth-server.js";
import { signToken } from "../helpers/jwt.js";

const clients: AuthedSocket[] = [];
const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
});

describe("handshake", () => {
  it("hands the token to handshake.auth and never to the query string", async () => {
    const server = await startAuthServer();
    servers.push(server);
    const token = await signToken({ ttlSec: 60 });
    const client = createAuthedSocket(server.url, {
      getToken: () => token,
      refresh: () => signToken(),
      logger: null,
    });
    clients.push(client);
    const e = await client.waitFor("authenticated", { timeoutMs: 5000 });
    expect(e.via).toBe("handshake");
    expect(server.handshakes).toHaveLength(1);
    expect(server.handshakes[0]?.token).toBe(token);
    expect(JSON.stringify(server.handshakes[0]?.query)).not.toContain(token);
  });
});
