// The client against a real Flask-SocketIO server (python-socketio) in a child process, served two ways: under
// Werkzeug (HTTP long-polling only) and under eventlet (polling, then the websocket upgrade). The token is checked in
// the `connect` handler and refused with ConnectionRefusedError, and the server cuts each connection at its
// handshake token's `exp` with an `auth_error`, as Flask apps commonly do.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { type AuthedSocketOptions, createAuthedSocket } from "../../src/index.js";
import { ackLoop } from "../helpers/ack-loop.js";
import {
  FLASK_INSTALL_HINT,
  type FlaskOptions,
  type FlaskServer,
  flaskSocketioAvailable,
  startFlask,
} from "../helpers/flask.js";
import { signForeignToken, signToken } from "../helpers/jwt.js";
import { needsProgram } from "../helpers/system-program.js";
import { waitUntil } from "../helpers/wait.js";

const need = needsProgram(
  "flask-socketio.test.ts",
  "Flask-SocketIO for /usr/bin/python3",
  flaskSocketioAvailable(),
  FLASK_INSTALL_HINT,
);

describe.skipIf(need.skip)("a Flask-SocketIO server", () => {
  const cleanups: Array<() => unknown> = [];
  beforeAll(() => need.requireIt());
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function flask(options: FlaskOptions = {}): Promise<FlaskServer> {
    const server = await startFlask(options);
    cleanups.push(() => server.stop());
    return server;
  }
  /** A client of `server` whose refresh signs `ttlSec` tokens; records the refresh reasons and a logout. */
  function flaskClient(
    server: FlaskServer,
    ttlSec: number,
    options: Pick<AuthedSocketOptions, "getToken"> = {},
  ) {
    const seen = { reasons: [] as string[], loggedOut: null as string | null };
    const client = createAuthedSocket(server.url, {
      ...options,
      refresh: async ({ reason }) => {
        seen.reasons.push(reason);
        return signToken({ ttlSec });
      },
      logger: null,
      on: { logged_out: ({ reason }) => (seen.loggedOut = reason) },
    });
    cleanups.push(() => client.close());
    return { client, seen };
  }

  it.each([
    ["raises ConnectionRefusedError with a message", { refuseWith: "refuse" }],
    ['returns False ("Connection rejected by server")', { refuseWith: "false" }],
    ["emits auth_error and calls disconnect() (the recipe)", { refuseWith: "auth_error" }],
    [
      "emits auth_error and calls disconnect() under always_connect (after the CONNECT answer)",
      { refuseWith: "auth_error", alwaysConnect: true },
    ],
  ] as const)(
    "a connect handler that %s for a token signed with another key: the client refreshes once and connects",
    async (_how, options) => {
      const server = await flask(options);
      const { client, seen } = flaskClient(server, 60, {
        getToken: () => signForeignToken(),
      });
      // Under always_connect the bad token's connection is accepted first (and "authenticated" fires for it): wait
      // for the server to accept the fresh token, by when the client has left the bad connection.
      await waitUntil(() => server.accepted().length >= 1, {
        timeoutMs: 10_000,
        what: "an accepted handshake",
      });
      const echoed = await client.socket.timeout(5000).emitWithAck("echo", "hello");
      expect({ verdicts: server.handshakes.map((h) => h.verdict), ...seen, echoed }).toEqual({
        verdicts: ["invalid", "accepted"],
        reasons: ["rejected"],
        loggedOut: null,
        echoed: "hello",
      });
    },
  );

  it.each([
    ["under Werkzeug (polling)", "threading"],
    ["under eventlet (websocket)", "eventlet"],
  ] as const)(
    "cuts at expiry, %s: 3-s tokens over five handshakes, an acked emit every 100 ms: one kick to learn from, then every rotation before expiry and no ack lost",
    async (_served, asyncMode) => {
      const server = await flask({ cutAtExpiry: true, asyncMode });
      const { client, seen } = flaskClient(server, 3);
      // When the client learnt of the first kick: emits sent between the server's cut and its arrival die with it.
      let firstKickSeen = Number.POSITIVE_INFINITY;
      client.socket.once("auth_error", () => (firstKickSeen = Date.now()));
      await client.waitFor("authenticated", { timeoutMs: 10_000 });
      const loop = ackLoop(client, { everyMs: 100, timeoutMs: 3000 });
      let outcome: Awaited<ReturnType<typeof loop.stop>> | undefined;
      try {
        await waitUntil(() => server.accepted().length >= 5, {
          timeoutMs: 30_000,
          what: "five accepted handshakes",
        });
      } finally {
        outcome = await loop.stop();
      }
      expect({
        kicks: server.kicks.length,
        refused: server.handshakes.filter((h) => h.verdict !== "accepted"),
        // Acks in flight at the first kick fail with it (the server had not yet shown that it cuts); none sent after.
        lostAfterTheFirstKick: outcome.lost.filter((l) => l.sentAt > firstKickSeen),
        forcedRefreshes: seen.reasons.filter((r) => r !== "missing" && r !== "expiring"),
        loggedOut: seen.loggedOut,
        // The first connection opens on polling (and upgrades where the server can); each re-handshake the client
        // decides opens on the transport the connection it replaces ran on.
        transports: server
          .accepted()
          .slice(0, 5)
          .map((h) => h.transport),
      }).toEqual({
        kicks: 1,
        refused: [],
        lostAfterTheFirstKick: [],
        forcedRefreshes: [],
        loggedOut: null,
        transports:
          asyncMode === "eventlet"
            ? ["polling", "websocket", "websocket", "websocket", "websocket"]
            : ["polling", "polling", "polling", "polling", "polling"],
      });
      expect(outcome.sent).toBeGreaterThan(50);
    },
    60_000,
  );
});
