import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import {
  type AuthenticateOptions,
  type AuthRejection,
  authenticate,
  jwtVerifier,
  VerifyError,
} from "../../src/server/index.js";
import { client, closeClients, connected, record, refused } from "../helpers/companion.js";
import { signToken, TEST_SECRET } from "../helpers/jwt.js";
import { startServer, type TestServer } from "../helpers/server.js";
import { nextEvent, waitUntil } from "../helpers/wait.js";

const servers: TestServer[] = [];
const httpServers: HttpServer[] = [];

afterEach(async () => {
  closeClients();
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await Promise.all(
    httpServers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
  );
});

const hs256 = () => jwtVerifier({ secret: TEST_SECRET, algorithms: ["HS256"] });

async function serve(
  options: Partial<AuthenticateOptions> = {},
): Promise<TestServer & { rejections: AuthRejection[] }> {
  const server = await startServer();
  servers.push(server);
  const rejections: AuthRejection[] = [];
  server.io.use(
    authenticate({ verify: hs256(), onReject: (rejection) => rejections.push(rejection), ...options }),
  );
  return Object.assign(server, { rejections });
}

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const http = createServer(handler);
  httpServers.push(http);
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
}

describe("handshake: accepted", () => {
  it("puts subject, claims and expiresAt on socket.data.auth and sends auth:ready after connect", async () => {
    const server = await serve();
    const seen: unknown[] = [];
    server.io.on("connection", (socket) => seen.push(socket.data.auth));
    const token = await signToken({ subject: "alice", ttlSec: 60, claims: { role: "admin" } });
    const socket = client(server.url, { token });
    const ready = nextEvent<{ expiresAt: number; inBand: boolean }>(socket, "auth:ready");
    await connected(socket);
    const payload = await ready;
    const exp = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()).exp as number;
    expect(payload).toEqual({ expiresAt: exp * 1000, inBand: true, version: 1 });
    expect(seen).toEqual([
      {
        subject: "alice",
        claims: expect.objectContaining({ sub: "alice", role: "admin" }),
        expiresAt: exp * 1000,
      },
    ]);
  });

  it("advertises inBand: false when in-band refresh is off", async () => {
    const server = await serve({ inBand: false });
    const socket = client(server.url, { token: await signToken() });
    expect(await nextEvent(socket, "auth:ready")).toMatchObject({ inBand: false });
  });

  it("reads an Authorization: Bearer header in header mode", async () => {
    const server = await serve({ tokenFrom: ["header"] });
    const socket = client(server.url, {
      headers: { Authorization: `Bearer ${await signToken({ subject: "bot" })}` },
    });
    await connected(socket);
    const [serverSocket] = await server.io.fetchSockets();
    expect(serverSocket?.data.auth.subject).toBe("bot");
  });

  it("ignores the auth payload in header-only mode", async () => {
    const server = await serve({ tokenFrom: ["header"] });
    const refusal = await refused(client(server.url, { token: await signToken() }));
    expect(refusal.data).toEqual({ code: "TOKEN_MISSING" });
  });

  it("falls back from auth to header in the order given", async () => {
    const server = await serve({ tokenFrom: ["auth", "header"] });
    const socket = client(server.url, {
      headers: { authorization: `bearer ${await signToken({ subject: "h" })}` },
    });
    await connected(socket);
  });

  it("uses a custom subject and verifier", async () => {
    const server = await serve({
      verify: (token: string) => ({ uid: token === "opaque-1" ? "u1" : "" }),
      subject: (claims) => String((claims as { uid: string }).uid),
    });
    const socket = client(server.url, { token: "opaque-1" });
    expect(await nextEvent(socket, "auth:ready")).toEqual({ expiresAt: null, inBand: true, version: 1 });
  });
});

describe("handshake: refused with a stable code", () => {
  it("TOKEN_MISSING without a token", async () => {
    const server = await serve();
    const refusal = await refused(client(server.url));
    expect(refusal.data).toEqual({ code: "TOKEN_MISSING" });
    expect(refusal.message).toMatch(/no token/);
    expect(server.rejections).toEqual([
      expect.objectContaining({ phase: "handshake", code: "TOKEN_MISSING" }),
    ]);
  });

  it("TOKEN_MISSING for an Authorization header with another scheme", async () => {
    const server = await serve({ tokenFrom: ["header"] });
    const refusal = await refused(client(server.url, { headers: { Authorization: "Basic dXNlcjpwYXNz" } }));
    expect(refusal.data).toEqual({ code: "TOKEN_MISSING" });
  });

  it("TOKEN_INVALID for a bad signature", async () => {
    const server = await serve();
    const token = await signToken({
      secret: new TextEncoder().encode("another-secret-that-is-long-enough!!"),
    });
    expect((await refused(client(server.url, { token }))).data).toEqual({ code: "TOKEN_INVALID" });
  });

  it("TOKEN_EXPIRED for an expired token", async () => {
    const server = await serve();
    const token = await signToken({ ttlSec: -60 });
    const refusal = await refused(client(server.url, { token }));
    expect(refusal.data).toEqual({ code: "TOKEN_EXPIRED" });
    expect(refusal.message).toMatch(/expired/);
  });

  it("TOKEN_EXPIRED when a custom verifier ignores exp", async () => {
    const server = await serve({ verify: () => ({ sub: "u", exp: Math.floor(Date.now() / 1000) - 60 }) });
    expect((await refused(client(server.url, { token: "x" }))).data).toEqual({ code: "TOKEN_EXPIRED" });
  });

  it("FORBIDDEN when authorize says no, and authorize sees the claims and the socket", async () => {
    const calls: Array<[unknown, unknown]> = [];
    const server = await serve({
      authorize: (claims, socket) => {
        calls.push([claims.sub, socket.handshake.auth.token !== undefined]);
        return claims.sub === "admin";
      },
    });
    const refusal = await refused(client(server.url, { token: await signToken({ subject: "mallory" }) }));
    expect(refusal.data).toEqual({ code: "FORBIDDEN" });
    expect(calls).toEqual([["mallory", true]]);
    await connected(client(server.url, { token: await signToken({ subject: "admin" }) }));
  });

  it("FORBIDDEN when authorize returns something other than true (fail closed)", async () => {
    const server = await serve({ authorize: (() => undefined) as unknown as () => boolean });
    expect((await refused(client(server.url, { token: await signToken() }))).data).toEqual({
      code: "FORBIDDEN",
    });
  });

  it("UNAVAILABLE when a verifier throws VerifyError('UNAVAILABLE')", async () => {
    const server = await serve({
      verify: () => {
        throw new VerifyError("UNAVAILABLE", "session store down");
      },
    });
    const refusal = await refused(client(server.url, { token: "t" }));
    expect(refusal).toEqual({ message: "session store down", data: { code: "UNAVAILABLE" } });
  });

  it("UNAVAILABLE when authorize or isRevoked throws", async () => {
    const server = await serve({
      isRevoked: () => {
        throw new Error("redis down");
      },
    });
    expect((await refused(client(server.url, { token: await signToken() }))).data).toEqual({
      code: "UNAVAILABLE",
    });
    expect(server.rejections[0]?.error).toBeInstanceOf(Error);
  });

  it("UNAVAILABLE when the JWKS endpoint answers 500", async () => {
    const url = await listen((_request, response) => {
      response.statusCode = 500;
      response.end("boom");
    });
    const { privateKey } = await generateKeyPair("RS256");
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setSubject("u")
      .setExpirationTime("1m")
      .sign(privateKey);
    const server = await serve({
      verify: jwtVerifier({ jwksUrl: `${url}/jwks.json`, algorithms: ["RS256"] }),
    });
    expect((await refused(client(server.url, { token }))).data).toEqual({ code: "UNAVAILABLE" });
  });

  it("a JWKS outage costs at most a few fetches however many clients reconnect", async () => {
    let fetches = 0;
    const url = await listen((_request, response) => {
      fetches += 1;
      response.statusCode = 503;
      response.end("down");
    });
    const { privateKey } = await generateKeyPair("RS256");
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setSubject("u")
      .setExpirationTime("1m")
      .sign(privateKey);
    const server = await serve({
      verify: jwtVerifier({ jwksUrl: `${url}/jwks.json`, algorithms: ["RS256"] }),
    });
    for (let i = 0; i < 10; i += 1) {
      expect((await refused(client(server.url, { token }))).data).toEqual({ code: "UNAVAILABLE" });
    }
    expect(fetches).toBeLessThanOrEqual(2);
  });

  it("an oversize token is refused before the verifier or any scan sees it", async () => {
    let verified = 0;
    const server = await serve({
      tokenFrom: ["auth", "header"],
      verify: async () => {
        verified += 1;
        return { sub: "u" };
      },
    });
    expect((await refused(client(server.url, { token: "a".repeat(100_000) }))).data).toEqual({
      code: "TOKEN_INVALID",
    });
    // Node's HTTP parser caps headers at 16 KB; 12,000 characters is over the companion's 8,192 and under that.
    const header = { authorization: `Bearer ${"a".repeat(12_000)}` };
    expect((await refused(client(server.url, { headers: header, transports: ["polling"] }))).data).toEqual({
      code: "TOKEN_INVALID",
    });
    expect(verified).toBe(0);
  });

  it("UNAVAILABLE when the JWKS endpoint is a closed port", async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const { privateKey } = await generateKeyPair("ES256");
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "ES256" })
      .setSubject("u")
      .setExpirationTime("1m")
      .sign(privateKey);
    const server = await serve({
      verify: jwtVerifier({ jwksUrl: `http://127.0.0.1:${port}/jwks.json`, algorithms: ["ES256"] }),
    });
    expect((await refused(client(server.url, { token }))).data).toEqual({ code: "UNAVAILABLE" });
  });

  it("accepts a token verified through a JWKS, and TOKEN_INVALID for a kid the JWKS lacks", async () => {
    const { publicKey, privateKey } = await generateKeyPair("RS256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256", use: "sig" };
    const url = await listen((_request, response) => {
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify({ keys: [jwk] }));
    });
    const sign = (kid: string) =>
      new SignJWT({})
        .setProtectedHeader({ alg: "RS256", kid })
        .setSubject("u")
        .setExpirationTime("1m")
        .sign(privateKey);
    const server = await serve({
      verify: jwtVerifier({ jwksUrl: `${url}/jwks.json`, algorithms: ["RS256"] }),
    });
    await connected(client(server.url, { token: await sign("k1") }));
    expect((await refused(client(server.url, { token: await sign("unknown") }))).data).toEqual({
      code: "TOKEN_INVALID",
    });
  });

  it("TOKEN_INVALID for an unsigned alg: none token", async () => {
    const server = await serve();
    const now = Math.floor(Date.now() / 1000);
    const token = `${base64url({ alg: "none", typ: "JWT" })}.${base64url({ sub: "root", exp: now + 60 })}.`;
    expect((await refused(client(server.url, { token }))).data).toEqual({ code: "TOKEN_INVALID" });
  });

  it("TOKEN_INVALID for HS384 when only HS256 is pinned", async () => {
    const server = await serve();
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "HS384" })
      .setSubject("u")
      .setExpirationTime("1m")
      .sign(TEST_SECRET);
    expect((await refused(client(server.url, { token }))).data).toEqual({ code: "TOKEN_INVALID" });
  });

  it("TOKEN_INVALID for an HS256 token signed with the RS256 public key (alg confusion)", async () => {
    const { publicKey } = await generateKeyPair("RS256", { extractable: true });
    const pem = await exportSPKI(publicKey);
    const server = await serve({ verify: jwtVerifier({ publicKey: pem, algorithms: ["RS256"] }) });
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("root")
      .setExpirationTime("1m")
      .sign(new TextEncoder().encode(pem));
    expect((await refused(client(server.url, { token: forged }))).data).toEqual({ code: "TOKEN_INVALID" });
  });

  it("TOKEN_INVALID for an oversize token, with a bounded message", async () => {
    const server = await serve();
    const token = `${await signToken()}${"A".repeat(10_000)}`;
    const refusal = await refused(client(server.url, { token }));
    expect(refusal.data).toEqual({ code: "TOKEN_INVALID" });
    expect(refusal.message).not.toContain("AAAAAAAA");
  });

  it("TOKEN_INVALID for a token without a subject", async () => {
    const server = await serve();
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setExpirationTime("1m")
      .sign(TEST_SECRET);
    const refusal = await refused(client(server.url, { token }));
    expect(refusal).toEqual({ message: expect.stringMatching(/subject/), data: { code: "TOKEN_INVALID" } });
  });

  it("TOKEN_INVALID for a token without exp (requireExp defaults to true)", async () => {
    const server = await serve();
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("u")
      .sign(TEST_SECRET);
    expect((await refused(client(server.url, { token }))).data).toEqual({ code: "TOKEN_INVALID" });
  });

  it("TOKEN_REVOKED for a revoked token", async () => {
    const revoked = new Set<string>();
    const server = await serve({ isRevoked: (claims) => revoked.has(String(claims.jti)) });
    const token = await signToken();
    const jti = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()).jti as string;
    revoked.add(jti);
    const refusal = await refused(client(server.url, { token }));
    expect(refusal).toEqual({ message: expect.stringMatching(/revoked/), data: { code: "TOKEN_REVOKED" } });
    await connected(client(server.url, { token: await signToken() }));
  });

  it.each([
    ["a number", 12345],
    ["an object", { nested: "eyJ" }],
    ["an array", ["a", "b"]],
    ["a boolean", true],
  ])("TOKEN_INVALID for %s as the token, and the server keeps serving", async (_name, token) => {
    const server = await serve();
    expect((await refused(client(server.url, { token }))).data).toEqual({ code: "TOKEN_INVALID" });
    await connected(client(server.url, { token: await signToken() }));
  });

  it("TOKEN_INVALID for an unknown throw, and the message never echoes the token", async () => {
    const token = "secret-token-value-1234567890";
    const server = await serve({
      verify: (value: string) => {
        throw new Error(`cannot parse ${value}`);
      },
    });
    const refusal = await refused(client(server.url, { token }));
    expect(refusal.data).toEqual({ code: "TOKEN_INVALID" });
    expect(refusal.message).not.toContain(token);
  });

  it("drops a VerifyError message that quotes the token", async () => {
    const token = await signToken();
    const server = await serve({
      verify: (value: string) => {
        throw new VerifyError("TOKEN_INVALID", `rejected ${value.split(".")[1]}`);
      },
    });
    const refusal = await refused(client(server.url, { token }));
    expect(refusal.data).toEqual({ code: "TOKEN_INVALID" });
    for (const part of token.split(".")) expect(refusal.message).not.toContain(part);
  });

  it("never puts the token in any refusal message", async () => {
    const server = await serve({ authorize: (claims) => claims.sub !== "blocked" });
    const tokens = [
      await signToken({ ttlSec: -60 }),
      await signToken({ subject: "blocked" }),
      await signToken({ secret: new TextEncoder().encode("x".repeat(40)) }),
      `${await signToken()}.extra`,
    ];
    for (const token of tokens) {
      const refusal = await refused(client(server.url, { token }));
      for (const part of token.split(".").filter(Boolean)) expect(refusal.message).not.toContain(part);
    }
  });

  it("survives a token near the transport's size limit", async () => {
    const server = await serve();
    const refusal = await refused(client(server.url, { token: "x".repeat(500_000) }));
    expect(refusal.data).toEqual({ code: "TOKEN_INVALID" });
    await connected(client(server.url, { token: await signToken() }));
  });

  it("does not send auth:ready to a refused socket", async () => {
    const server = await serve();
    const socket = client(server.url, { token: "bad" });
    const events = record(socket);
    await refused(socket);
    await waitUntil(() => server.rejections.length === 1, { what: "the rejection" });
    expect(events).toEqual([]);
  });
});
