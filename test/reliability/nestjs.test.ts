// The client against a real NestJS socket.io gateway that checks the token in `handleConnection` and disconnects a
// bad one without a word: the connection is accepted first, then cut, with nothing in the protocol to say why.
import { afterEach, describe, expect, it } from "vitest";
import { createAuthedSocket, type RefreshContext } from "../../src/index.js";
import { signForeignToken, signToken } from "../helpers/jwt.js";
import { type NestServer, startNestServer } from "../helpers/nest-server.js";
import { waitUntil } from "../helpers/wait.js";

describe("a NestJS gateway that disconnects bad tokens in handleConnection", () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function nest(options: { refuseAll?: boolean } = {}): Promise<NestServer> {
    const server = await startNestServer(options);
    cleanups.push(() => server.stop());
    return server;
  }
  function refresher() {
    const reasons: RefreshContext["reason"][] = [];
    return {
      reasons,
      refresh: async ({ reason }: RefreshContext) => {
        reasons.push(reason);
        return signToken({ ttlSec: 60 });
      },
    };
  }

  it("a token signed with another key: one forced refresh, then connected and answered", async () => {
    const server = await nest();
    const r = refresher();
    const client = createAuthedSocket(server.url, {
      getToken: () => signForeignToken(),
      refresh: r.refresh,
      logger: null,
    });
    cleanups.push(() => client.close());
    // The bad token's connection is accepted before the gateway cuts it: wait for the gateway to accept one.
    await waitUntil(() => server.verdicts.includes("accepted"), {
      timeoutMs: 8000,
      what: "an accepted connection",
    });
    const echoed = await client.socket.timeout(3000).emitWithAck("echo", "hello");
    expect({ verdicts: server.verdicts, reasons: r.reasons, echoed, state: client.state }).toEqual({
      verdicts: ["refused", "accepted"],
      reasons: ["rejected"],
      echoed: "hello",
      state: "authenticated",
    });
  });

  it("every token disconnected: logged out with auth_rejected after maxAuthRejections", async () => {
    const server = await nest({ refuseAll: true });
    const r = refresher();
    const client = createAuthedSocket(server.url, { refresh: r.refresh, logger: null, maxAuthRejections: 3 });
    cleanups.push(() => client.close());
    const out = await client.waitFor("logged_out", { timeoutMs: 8000 });
    expect({ reason: out.reason, connections: server.verdicts.length, reasons: r.reasons }).toEqual({
      reason: "auth_rejected",
      connections: 3,
      reasons: ["missing", "rejected", "rejected"],
    });
  });
});
