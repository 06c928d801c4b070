import { afterEach, describe, expect, it } from "vitest";
import {
  type AuthenticateOptions,
  authenticate,
  countConnections,
  disconnectUser,
  jwtVerifier,
  userRoom,
} from "../../src/server/index.js";
import { type ClientSocket, client, closeClients, record } from "../helpers/companion.js";
import { signToken, TEST_SECRET } from "../helpers/jwt.js";
import { startServer, type TestServer } from "../helpers/server.js";
import { nextEvent, waitUntil } from "../helpers/wait.js";

const servers: TestServer[] = [];

afterEach(async () => {
  closeClients();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(options: Partial<AuthenticateOptions> = {}): Promise<TestServer> {
  const server = await startServer();
  servers.push(server);
  server.io.use(
    authenticate({ verify: jwtVerifier({ secret: TEST_SECRET, algorithms: ["HS256"] }), ...options }),
  );
  return server;
}

async function signIn(server: TestServer, subject: string, transports?: Array<"websocket" | "polling">) {
  const socket = client(server.url, {
    token: await signToken({ subject }),
    ...(transports ? { transports } : {}),
  });
  await nextEvent(socket, "auth:ready");
  return socket;
}

function disconnectCount(events: Array<{ event: string }>): number {
  return events.filter((entry) => entry.event === "disconnect").length;
}

describe("userRoom", () => {
  it("prefixes the subject so it cannot collide with socket ids or plain room names", () => {
    expect(userRoom("alice")).toBe("authed-socket:user:alice");
    expect(userRoom("alice")).not.toBe("alice");
    expect(() => userRoom("")).toThrow(TypeError);
  });

  it("reaches every device of a user, and nobody else", async () => {
    const server = await serve();
    const phone = await signIn(server, "alice");
    const laptop = await signIn(server, "alice");
    const other = await signIn(server, "bob");
    const events = record(other);
    const both = Promise.all([nextEvent(phone, "note"), nextEvent(laptop, "note")]);
    server.io.to(userRoom("alice")).emit("note", "hi alice");
    expect(await both).toEqual(["hi alice", "hi alice"]);
    expect(events).toEqual([]);
  });
});

describe("countConnections", () => {
  it("counts a user's sockets", async () => {
    const server = await serve();
    await signIn(server, "alice");
    await signIn(server, "alice");
    await signIn(server, "bob");
    expect(await countConnections(server.io, "alice")).toBe(2);
    expect(await countConnections(server.io, "bob")).toBe(1);
    expect(await countConnections(server.io, "nobody")).toBe(0);
    expect(await countConnections(server.io.of("/"), "alice")).toBe(2);
  });

  it("counts nothing when joinUserRoom is false", async () => {
    const server = await serve({ joinUserRoom: false });
    await signIn(server, "alice");
    expect(await countConnections(server.io, "alice")).toBe(0);
  });
});

describe("disconnectUser", () => {
  it.each([["websocket"], ["polling"]] as const)(
    "sends auth:revoked { reason } before disconnecting every socket of the user (%s)",
    async (transport) => {
      const server = await serve();
      const devices: ClientSocket[] = [
        await signIn(server, "alice", [transport]),
        await signIn(server, "alice", [transport]),
      ];
      const bystander = await signIn(server, "bob", [transport]);
      const logs = devices.map(record);
      const bystanderLog = record(bystander);

      disconnectUser(server.io, "alice", "logout");

      await waitUntil(() => logs.every((log) => disconnectCount(log) === 1), {
        what: "both devices disconnected",
      });
      for (const log of logs) {
        expect(log).toEqual([
          { event: "auth:revoked", payload: { reason: "logout" } },
          { event: "disconnect", payload: "io server disconnect" },
        ]);
      }
      expect(bystander.connected).toBe(true);
      expect(bystanderLog).toEqual([]);
      await waitUntil(() => server.io.of("/").sockets.size === 1, { what: "the server to drop alice" });
      expect(await countConnections(server.io, "alice")).toBe(0);
    },
  );

  it("uses reason 'revoked' by default and does nothing for a user without sockets", async () => {
    const server = await serve();
    const socket = await signIn(server, "alice");
    disconnectUser(server.io, "nobody");
    const revoked = nextEvent(socket, "auth:revoked");
    disconnectUser(server.io, "alice");
    expect(await revoked).toEqual({ reason: "revoked" });
  });
});
