import { Manager } from "socket.io-client";
import { afterEach, describe, expect, it } from "vitest";
import {
  authenticate,
  jwtVerifier,
  requireClaims,
  type SocketMiddleware,
  VerifyError,
} from "../../src/server/index.js";
import { client, closeClients, connected, disconnected, refresh, refused } from "../helpers/companion.js";
import { signToken, TEST_SECRET } from "../helpers/jwt.js";
import { startServer, type TestServer } from "../helpers/server.js";
import { nextEvent } from "../helpers/wait.js";

const servers: TestServer[] = [];
const managers: Manager[] = [];

afterEach(async () => {
  closeClients();
  for (const manager of managers.splice(0)) manager.engine?.close();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

const isAdmin = (claims: { role?: unknown }) => claims.role === "admin";

async function serve(): Promise<TestServer & { auth: SocketMiddleware }> {
  const server = await startServer();
  servers.push(server);
  const auth = authenticate({ verify: jwtVerifier({ secret: TEST_SECRET, algorithms: ["HS256"] }) });
  server.io.use(auth);
  return Object.assign(server, { auth });
}

describe("requireClaims on a namespace", () => {
  it("lets an admin into /admin and refuses a user with FORBIDDEN", async () => {
    const server = await serve();
    server.io.of("/admin").use(server.auth).use(requireClaims(isAdmin));
    const admin = client(server.url, {
      namespace: "/admin",
      token: await signToken({ claims: { role: "admin" } }),
    });
    expect(await nextEvent(admin, "auth:ready")).toMatchObject({ inBand: true });
    const user = client(server.url, {
      namespace: "/admin",
      token: await signToken({ claims: { role: "user" } }),
    });
    expect(await refused(user)).toEqual({
      message: expect.stringMatching(/Forbidden/),
      data: { code: "FORBIDDEN" },
    });
  });

  it("still refuses a missing or bad token on that namespace with the token codes", async () => {
    const server = await serve();
    server.io.of("/admin").use(server.auth).use(requireClaims(isAdmin));
    expect((await refused(client(server.url, { namespace: "/admin" }))).data).toEqual({
      code: "TOKEN_MISSING",
    });
    const expired = await signToken({ ttlSec: -60, claims: { role: "admin" } });
    expect((await refused(client(server.url, { namespace: "/admin", token: expired }))).data).toEqual({
      code: "TOKEN_EXPIRED",
    });
  });

  it("fails closed when authenticate() is not used on that namespace (io.use covers only the main one)", async () => {
    const server = await serve();
    server.io.of("/admin").use(requireClaims(isAdmin));
    const admin = client(server.url, {
      namespace: "/admin",
      token: await signToken({ claims: { role: "admin" } }),
    });
    const refusal = await refused(admin);
    expect(refusal.data).toEqual({ code: "FORBIDDEN" });
    expect(refusal.message).toMatch(/use authenticate\(\) on this namespace/);
  });

  it("refuses with UNAVAILABLE when the predicate throws, or with the code of a VerifyError", async () => {
    const server = await serve();
    server.io
      .of("/flaky")
      .use(server.auth)
      .use(
        requireClaims(async () => {
          throw new Error("directory down");
        }),
      );
    server.io
      .of("/picky")
      .use(server.auth)
      .use(
        requireClaims(() => {
          throw new VerifyError("TOKEN_INVALID");
        }),
      );
    const token = await signToken();
    expect((await refused(client(server.url, { namespace: "/flaky", token }))).data).toEqual({
      code: "UNAVAILABLE",
    });
    expect((await refused(client(server.url, { namespace: "/picky", token }))).data).toEqual({
      code: "TOKEN_INVALID",
    });
  });

  it("re-runs the predicate on in-band refresh: claims that no longer qualify end the connection", async () => {
    const server = await serve();
    server.io.of("/admin").use(server.auth).use(requireClaims(isAdmin));
    const socket = client(server.url, {
      namespace: "/admin",
      token: await signToken({ claims: { role: "admin" } }),
    });
    await nextEvent(socket, "auth:ready");
    expect(await refresh(socket, { token: await signToken({ claims: { role: "admin" } }) })).toMatchObject({
      ok: true,
    });
    const gone = disconnected(socket);
    expect(await refresh(socket, { token: await signToken({ claims: { role: "user" } }) })).toEqual({
      ok: false,
      code: "FORBIDDEN",
    });
    await gone;
  });

  it("does not apply a namespace's predicate to refreshes on another namespace", async () => {
    const server = await serve();
    server.io.of("/admin").use(server.auth).use(requireClaims(isAdmin));
    const socket = client(server.url, { token: await signToken({ claims: { role: "user" } }) });
    await nextEvent(socket, "auth:ready");
    expect(await refresh(socket, { token: await signToken({ claims: { role: "user" } }) })).toMatchObject({
      ok: true,
    });
  });

  it("guards dynamic namespaces, with the socket available to the predicate", async () => {
    const server = await serve();
    server.io
      .of(/^\/org-\w+$/)
      .use(server.auth)
      .use(requireClaims<{ org?: string }>((claims, socket) => socket.nsp.name === `/org-${claims.org}`));
    const token = await signToken({ claims: { org: "acme" } });
    await connected(client(server.url, { namespace: "/org-acme", token }));
    expect((await refused(client(server.url, { namespace: "/org-globex", token }))).data).toEqual({
      code: "FORBIDDEN",
    });
  });

  it("authenticates each namespace of one multiplexed connection", async () => {
    const server = await serve();
    server.io.of("/admin").use(server.auth).use(requireClaims(isAdmin));
    const token = await signToken({ subject: "root", claims: { role: "admin" } });
    const manager = new Manager(server.url, { transports: ["websocket"], reconnection: false });
    managers.push(manager);
    const main = manager.socket("/", { auth: { token } });
    const admin = manager.socket("/admin", { auth: { token } });
    const ready = Promise.all([nextEvent(main, "auth:ready"), nextEvent(admin, "auth:ready")]);
    main.connect();
    admin.connect();
    await ready;
    const [adminSocket] = await server.io.of("/admin").fetchSockets();
    expect(adminSocket?.data.auth.subject).toBe("root");
  });
});
