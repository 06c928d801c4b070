// The device clock 10 minutes off, 3-s tokens, a real socket.io server that verifies every handshake token with
// jose on the real clock, and transport drops every 700 ms so the client re-handshakes with whatever it holds. The
// server is the judge: no handshake may carry an expired token.
import { afterEach, describe, expect, it } from "vitest";
import { createAuthedSocket } from "../../src/index.js";
import { startAuthServer } from "../helpers/auth-server.js";
import { signToken } from "../helpers/jwt.js";
import { waitUntil } from "../helpers/wait.js";

const MINUTE = 60_000;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("clock skew of ±10 minutes with 3-s tokens", () => {
  for (const offset of [10 * MINUTE, -10 * MINUTE]) {
    it(`no expired token ever reaches the server (device clock ${offset > 0 ? "ahead" : "behind"}, stored token first, drops every 700 ms)`, async () => {
      const server = await startAuthServer();
      cleanups.push(() => server.close());
      // Stored a moment ago by an earlier session: issued on the issuer's (real) clock.
      const stored = await signToken({ ttlSec: 3 });
      let refreshes = 0;
      const client = createAuthedSocket(server.url, {
        getToken: () => stored,
        refresh: async () => {
          refreshes++;
          return signToken({ ttlSec: 3 });
        },
        clock: { now: () => Date.now() + offset },
        logger: null,
        environment: "none",
        socket: { transports: ["websocket"] },
      });
      cleanups.push(() => client.close());
      await client.waitFor("authenticated", { timeoutMs: 10_000 });
      const drops = setInterval(() => {
        for (const socket of server.io.sockets.sockets.values()) socket.conn.close();
      }, 700);
      cleanups.push(() => clearInterval(drops));
      // At least 8 s of drops and at least six handshakes: socket.io's reconnect delay (0.5–1.5 s) sets how many
      // handshakes 8 s holds, so wait for the count rather than assume it.
      const until = Date.now() + 8000;
      await waitUntil(() => Date.now() > until && server.handshakes.length >= 6, {
        timeoutMs: 20_000,
        what: "8 s of drops and six handshakes",
        intervalMs: 50,
      });
      clearInterval(drops);
      await client.waitFor("authenticated", { timeoutMs: 10_000 }).catch(() => undefined);
      const verdicts = server.handshakes.map((h) => h.verdict);
      expect(verdicts.length).toBeGreaterThanOrEqual(6);
      expect(verdicts.filter((v) => v !== "accepted")).toEqual([]);
      // Tokens live 3 s: over ~9 s about three refreshes, not one per drop.
      expect(refreshes).toBeGreaterThanOrEqual(2);
    });
  }
});
