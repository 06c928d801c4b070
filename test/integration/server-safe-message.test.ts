/**
 * A verifier's own message travels to the client only when it cannot carry the token — not even part of it: the
 * usual `${token.slice(0, 16)}…` logging idiom must not leak a partial secret in connect_error.message.
 */
import { afterEach, describe, expect, it } from "vitest";
import { authenticate, VerifyError } from "../../src/server/index.js";
import { client, closeClients, refused } from "../helpers/companion.js";
import { signToken } from "../helpers/jwt.js";
import { startServer, type TestServer } from "../helpers/server.js";

const servers: TestServer[] = [];
afterEach(async () => {
  closeClients();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(verify: (token: string) => never) {
  const server = await startServer();
  servers.push(server);
  server.io.use(authenticate({ verify }));
  return server;
}

describe("verifier messages never carry the token", () => {
  it("an opaque session token quoted truncated does not reach the client", async () => {
    const token = "sess_9f1c2b7e4d5a6f80a1b2c3d4e5f60718"; // opaque, no dots
    const server = await serve((value) => {
      throw new VerifyError("TOKEN_INVALID", `unknown session ${value.slice(0, 24)}…`);
    });
    const refusal = await refused(client(server.url, { token }));
    expect(refusal.message).not.toContain(token.slice(0, 24));
  });

  it("a JWT signature quoted truncated does not reach the client", async () => {
    const token = await signToken();
    const signature = token.split(".")[2] ?? "";
    const server = await serve(() => {
      throw new VerifyError("TOKEN_INVALID", `signature mismatch ${signature.slice(0, 30)}`);
    });
    const refusal = await refused(client(server.url, { token }));
    expect(refusal.message).not.toContain(signature.slice(0, 30));
  });
});
