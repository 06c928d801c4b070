import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { authenticate, type JwtVerifierOptions, jwtVerifier, VerifyError } from "../../src/server/index.js";
import { signToken, TEST_SECRET } from "../helpers/jwt.js";

async function rejection(promise: Promise<unknown>): Promise<VerifyError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(VerifyError);
    return error as VerifyError;
  }
  throw new Error("expected a rejection");
}

describe("jwtVerifier: options are checked at creation", () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ["missing algorithms", { secret: TEST_SECRET }, /`algorithms` is required/],
    ["empty algorithms", { secret: TEST_SECRET, algorithms: [] }, /`algorithms` is required/],
    ["none", { secret: TEST_SECRET, algorithms: ["none"] }, /must not contain "none"/],
    ["NONE in any case", { secret: TEST_SECRET, algorithms: ["HS256", "NoNe"] }, /must not contain "none"/],
    ["an unknown algorithm", { secret: TEST_SECRET, algorithms: ["HS1"] }, /unsupported value "HS1"/],
    ["secret with RS256", { secret: TEST_SECRET, algorithms: ["RS256"] }, /a `secret` only verifies HS/],
    [
      "jwksUrl with HS256",
      { jwksUrl: "https://x/jwks", algorithms: ["HS256"] },
      /`jwksUrl` needs public-key/,
    ],
    [
      "no key source",
      { algorithms: ["HS256"] },
      /exactly one of `secret`, `publicKey` or `jwksUrl` \(got none\)/,
    ],
    [
      "two key sources",
      { secret: TEST_SECRET, jwksUrl: "https://x/jwks", algorithms: ["HS256"] },
      /exactly one of .* \(got secret, jwksUrl\)/,
    ],
    ["an empty secret", { secret: "", algorithms: ["HS256"] }, /`secret` must not be empty/],
    [
      "a PEM as secret",
      { secret: "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----", algorithms: ["HS256"] },
      /looks like a public key/,
    ],
    [
      "an OpenSSH public key as secret",
      { secret: "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ user@host", algorithms: ["HS256"] },
      /looks like a public key/,
    ],
    [
      "a JWK (JSON) as secret",
      { secret: '{"kty":"RSA","n":"0vx7agoebGcQSuu","e":"AQAB"}', algorithms: ["HS256"] },
      /looks like a public key/,
    ],
    ["a 16-byte secret", { secret: "0123456789abcdef", algorithms: ["HS256"] }, /at least 32/],
    [
      "a zero JWKS timeout",
      { jwksUrl: "http://127.0.0.1:1/jwks", jwksTimeoutMs: 0, algorithms: ["RS256"] },
      /`jwksTimeoutMs`/,
    ],
    [
      "a broken PEM",
      { publicKey: "-----BEGIN PUBLIC KEY-----\nnope\n", algorithms: ["RS256"] },
      /`publicKey` must be/,
    ],
    [
      "a relative jwksUrl",
      { jwksUrl: "/jwks.json", algorithms: ["RS256"] },
      /`jwksUrl` must be an absolute URL/,
    ],
    ["a non-http jwksUrl", { jwksUrl: "file:///etc/jwks", algorithms: ["RS256"] }, /http: or https:/],
    [
      "negative clockToleranceSec",
      { secret: TEST_SECRET, algorithms: ["HS256"], clockToleranceSec: -1 },
      /clockToleranceSec/,
    ],
    [
      "NaN maxTokenBytes",
      { secret: TEST_SECRET, algorithms: ["HS256"], maxTokenBytes: Number.NaN },
      /maxTokenBytes/,
    ],
    ["an empty issuer", { secret: TEST_SECRET, algorithms: ["HS256"], issuer: "" }, /`issuer`/],
    [
      "a non-boolean requireExp",
      { secret: TEST_SECRET, algorithms: ["HS256"], requireExp: "yes" },
      /requireExp/,
    ],
  ];
  it.each(cases)("throws a TypeError naming the option for %s", (_name, options, message) => {
    expect(() => jwtVerifier(options as JwtVerifierOptions)).toThrow(TypeError);
    expect(() => jwtVerifier(options as JwtVerifierOptions)).toThrow(message);
  });

  it("refuses a public key that fits none of the pinned algorithms", async () => {
    const { publicKey } = await generateKeyPair("ES256", { extractable: true });
    expect(() => jwtVerifier({ publicKey: publicKey, algorithms: ["RS256"] })).toThrow(
      /no algorithm that fits/,
    );
  });

  it("refuses a private key where the public key belongs", async () => {
    const { privateKey } = await generateKeyPair("RS256", { extractable: true });
    expect(() => jwtVerifier({ publicKey: privateKey, algorithms: ["RS256"] })).toThrow(/private key/);
  });
});

describe("authenticate: options are checked at creation", () => {
  const verify = () => ({ sub: "u" });
  const cases: Array<[string, unknown, RegExp]> = [
    ["no verify", {}, /`verify` must be a function/],
    ["empty tokenFrom", { verify, tokenFrom: [] }, /`tokenFrom`/],
    ["unknown tokenFrom", { verify, tokenFrom: ["query"] }, /`tokenFrom`/],
    ["negative graceMs", { verify, graceMs: -1 }, /`graceMs`/],
    [
      "infinite expiringBeforeMs",
      { verify, expiringBeforeMs: Number.POSITIVE_INFINITY },
      /`expiringBeforeMs`/,
    ],
    ["a non-function authorize", { verify, authorize: true }, /`authorize`/],
    ["a non-boolean inBand", { verify, inBand: 1 }, /`inBand`/],
    ["a clock without timers", { verify, clock: { now: () => 0 } }, /`clock`/],
  ];
  it.each(cases)("throws a TypeError naming the option for %s", (_name, options, message) => {
    expect(() => authenticate(options as Parameters<typeof authenticate>[0])).toThrow(message);
  });
});

describe("jwtVerifier: verification", () => {
  it("resolves with the claims of a valid token", async () => {
    const verify = jwtVerifier({ secret: TEST_SECRET, algorithms: ["HS256"] });
    const claims = await verify(await signToken({ subject: "alice", claims: { role: "admin" } }));
    expect(claims).toMatchObject({ sub: "alice", role: "admin" });
  });

  it("accepts a string secret", async () => {
    const secret = "a-string-secret-that-is-long-enough-for-hs256";
    const verify = jwtVerifier({ secret, algorithms: ["HS256", "HS512"] });
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "HS512" })
      .setSubject("s")
      .setExpirationTime("1m")
      .sign(new TextEncoder().encode(secret));
    expect(await verify(token)).toMatchObject({ sub: "s" });
  });

  it("maps expiry to TOKEN_EXPIRED and honours clockToleranceSec", async () => {
    const token = await signToken({ ttlSec: -5 });
    const strict = jwtVerifier({ secret: TEST_SECRET, algorithms: ["HS256"] });
    expect((await rejection(strict(token))).code).toBe("TOKEN_EXPIRED");
    const lenient = jwtVerifier({ secret: TEST_SECRET, algorithms: ["HS256"], clockToleranceSec: 60 });
    expect(await lenient(token)).toMatchObject({ sub: "user-1" });
  });

  it("refuses an iat further in the future than the clock tolerance", async () => {
    const now = Math.floor(Date.now() / 1000);
    const future = await signToken({ iat: now + 600, ttlSec: 60 });
    const strict = jwtVerifier({ secret: TEST_SECRET, algorithms: ["HS256"] });
    expect((await rejection(strict(future))).code).toBe("TOKEN_INVALID");
    const lenient = jwtVerifier({ secret: TEST_SECRET, algorithms: ["HS256"], clockToleranceSec: 900 });
    expect(await lenient(future)).toMatchObject({ sub: "user-1" });
  });

  it("maxTokenAgeMs refuses a token issued too long ago even when its exp is years ahead", async () => {
    const now = Math.floor(Date.now() / 1000);
    const old = await signToken({ iat: now - 7200, ttlSec: 10 * 365 * 86_400 });
    const verify = jwtVerifier({ secret: TEST_SECRET, algorithms: ["HS256"], maxTokenAgeMs: 3_600_000 });
    expect((await rejection(verify(old))).code).toMatch(/TOKEN_EXPIRED|TOKEN_INVALID/);
    expect(await verify(await signToken({ ttlSec: 60 }))).toMatchObject({ sub: "user-1" });
    expect(() => jwtVerifier({ secret: TEST_SECRET, algorithms: ["HS256"], maxTokenAgeMs: -1 })).toThrow(
      /maxTokenAgeMs/,
    );
  });

  it("maps issuer and audience mismatches to TOKEN_INVALID", async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("u")
      .setIssuer("https://evil.example")
      .setAudience("other")
      .setExpirationTime("1m")
      .sign(TEST_SECRET);
    const byIssuer = jwtVerifier({
      secret: TEST_SECRET,
      algorithms: ["HS256"],
      issuer: "https://auth.example",
    });
    expect((await rejection(byIssuer(token))).code).toBe("TOKEN_INVALID");
    const byAudience = jwtVerifier({
      secret: TEST_SECRET,
      algorithms: ["HS256"],
      audience: ["chat", "admin"],
    });
    expect((await rejection(byAudience(token))).code).toBe("TOKEN_INVALID");
    const both = jwtVerifier({
      secret: TEST_SECRET,
      algorithms: ["HS256"],
      issuer: ["https://auth.example", "https://evil.example"],
      audience: "other",
    });
    expect(await both(token)).toMatchObject({ sub: "u" });
  });

  it("accepts a token without exp when requireExp is false", async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("u")
      .sign(TEST_SECRET);
    const verify = jwtVerifier({ secret: TEST_SECRET, algorithms: ["HS256"], requireExp: false });
    expect(await verify(token)).toEqual({ sub: "u" });
  });

  it("refuses tokens above maxTokenBytes, counting UTF-8 bytes", async () => {
    const verify = jwtVerifier({ secret: TEST_SECRET, algorithms: ["HS256"], maxTokenBytes: 100 });
    expect((await rejection(verify("a".repeat(101)))).message).toMatch(/larger than 100 bytes/);
    expect((await rejection(verify("é".repeat(60)))).message).toMatch(/larger than 100 bytes/);
  });

  it("refuses non-string and malformed input with TOKEN_INVALID", async () => {
    const verify = jwtVerifier({ secret: TEST_SECRET, algorithms: ["HS256"] });
    for (const input of ["", "abc", "a.b.c", "....", 42 as unknown as string]) {
      expect((await rejection(verify(input))).code).toBe("TOKEN_INVALID");
    }
  });

  it("verifies with a PEM public key, a JWK and a CryptoKey", async () => {
    const { publicKey, privateKey } = await generateKeyPair("PS256", { extractable: true });
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "PS256" })
      .setSubject("k")
      .setExpirationTime("1m")
      .sign(privateKey);
    for (const key of [await exportSPKI(publicKey), await exportJWK(publicKey), publicKey]) {
      const verify = jwtVerifier({ publicKey: key, algorithms: ["PS256"] });
      expect(await verify(token)).toMatchObject({ sub: "k" });
    }
  });

  it("refuses an RS256 token when only ES256 is pinned, even with the right key type list", async () => {
    const rsa = await generateKeyPair("RS256");
    const ec = await generateKeyPair("ES256");
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "RS256" })
      .setSubject("k")
      .setExpirationTime("1m")
      .sign(rsa.privateKey);
    const verify = jwtVerifier({ publicKey: ec.publicKey, algorithms: ["ES256"] });
    expect((await rejection(verify(token))).code).toBe("TOKEN_INVALID");
  });

  it("rejects a VerifyError with an unknown code at construction", () => {
    expect(() => new VerifyError("NOPE" as "TOKEN_INVALID")).toThrow(TypeError);
    expect(new VerifyError("FORBIDDEN")).toMatchObject({ name: "VerifyError", code: "FORBIDDEN" });
  });
});
