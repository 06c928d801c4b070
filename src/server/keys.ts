/**
 * The key side of `jwtVerifier()`: the algorithms it accepts, and every key source (HMAC secret, public key, JWKS)
 * turned into something jose verifies with — each checked at start-up, so a broken key fails there, not per token.
 */
import {
  createPublicKey,
  type JsonWebKey,
  type KeyObject as NodeKeyObject,
  X509Certificate,
} from "node:crypto";
import { type CryptoKey, createRemoteJWKSet, type JWK, type JWTVerifyGetKey, type KeyObject } from "jose";
import { VerifyError } from "./errors.js";

/** HMAC algorithms: verified with a shared `secret`. */
export type HmacAlgorithm = "HS256" | "HS384" | "HS512";

/** Public-key algorithms: verified with a `publicKey` or a JWKS. */
export type AsymmetricAlgorithm =
  | "RS256"
  | "RS384"
  | "RS512"
  | "PS256"
  | "PS384"
  | "PS512"
  | "ES256"
  | "ES384"
  | "ES512"
  | "EdDSA"
  | "Ed25519";

/** Every JWS algorithm `jwtVerifier` accepts. `none` is deliberately absent. */
export type JwtAlgorithm = HmacAlgorithm | AsymmetricAlgorithm;

/** A public key: a PEM string (SPKI `PUBLIC KEY` or an X.509 `CERTIFICATE`), a JWK, a `CryptoKey` or a `KeyObject`. */
export type PublicKeyInput = string | JWK | CryptoKey | KeyObject;

export const hmacAlgorithms: ReadonlySet<string> = new Set<HmacAlgorithm>(["HS256", "HS384", "HS512"]);
export const asymmetricAlgorithms: ReadonlySet<string> = new Set<AsymmetricAlgorithm>([
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
]);

export function isJoseError(error: unknown, code: string): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === code;
}

export function secretKey(secret: unknown): Uint8Array {
  if (typeof secret === "string") {
    if (secret.length === 0) throw new TypeError("jwtVerifier: `secret` must not be empty");
    // A public key in any textual form (PEM, OpenSSH, a JWK as JSON) used as an HMAC secret is the HS/RS confusion:
    // anyone holding the public key could sign tokens.
    const trimmed = secret.trim();
    if (
      trimmed.includes("-----BEGIN") ||
      /^(ssh-|ecdsa-sha2-)/.test(trimmed) ||
      /^\{[\s\S]*"kty"/.test(trimmed)
    ) {
      throw new TypeError("jwtVerifier: `secret` looks like a public key; pass public keys as `publicKey`");
    }
    return checkLength(new TextEncoder().encode(secret));
  }
  if (secret instanceof Uint8Array && secret.length > 0) return checkLength(secret);
  throw new TypeError("jwtVerifier: `secret` must be a non-empty string or Uint8Array");
}

/** RFC 7518 §3.2: an HMAC key must be at least as long as the hash; 32 bytes covers HS256. */
function checkLength(key: Uint8Array): Uint8Array {
  if (key.length < 32)
    throw new TypeError(
      `jwtVerifier: \`secret\` is ${key.length} bytes; HMAC needs at least 32 (RFC 7518 §3.2)`,
    );
  return key;
}

/** Turns every accepted public-key form into a key object now, so a broken PEM fails at start-up, not per token. */
export function publicKey(
  input: PublicKeyInput,
  algorithms: readonly JwtAlgorithm[],
): NodeKeyObject | CryptoKey {
  let key: NodeKeyObject | CryptoKey;
  try {
    if (typeof input === "string") {
      key = input.includes("-----BEGIN CERTIFICATE-----")
        ? new X509Certificate(input).publicKey
        : createPublicKey(input);
    } else if (isKeyLike(input)) {
      key = input as NodeKeyObject | CryptoKey;
    } else if (typeof input === "object" && input !== null) {
      key = createPublicKey({ key: input as JsonWebKey, format: "jwk" });
    } else {
      throw new TypeError("unsupported value");
    }
  } catch (cause) {
    throw new TypeError(
      "jwtVerifier: `publicKey` must be a PEM public key or certificate, a public JWK, a CryptoKey or a KeyObject",
      { cause },
    );
  }
  if (key.type !== "public") {
    throw new TypeError(`jwtVerifier: \`publicKey\` is a ${key.type} key; pass the public key`);
  }
  const family = keyFamily(key);
  if (family && !algorithms.some((algorithm) => family.test(algorithm))) {
    throw new TypeError(
      `jwtVerifier: \`algorithms\` (${algorithms.join(", ")}) has no algorithm that fits the \`publicKey\` type`,
    );
  }
  return key;
}

function isKeyLike(value: unknown): boolean {
  const tag = (value as { [Symbol.toStringTag]?: unknown } | null)?.[Symbol.toStringTag];
  return tag === "KeyObject" || tag === "CryptoKey";
}

/** Which algorithm names a key can verify; undefined when the key type is not recognised (jose then decides). */
function keyFamily(key: NodeKeyObject | CryptoKey): RegExp | undefined {
  const type =
    "asymmetricKeyType" in key && typeof key.asymmetricKeyType === "string"
      ? key.asymmetricKeyType
      : (key as CryptoKey).algorithm?.name;
  switch (type) {
    case "rsa":
    case "RSASSA-PKCS1-v1_5":
      return /^(RS|PS)\d+$/;
    case "rsa-pss":
    case "RSA-PSS":
      return /^PS\d+$/;
    case "ec":
    case "ECDSA":
      return /^ES\d+$/;
    case "ed25519":
    case "Ed25519":
      return /^(EdDSA|Ed25519)$/;
    default:
      return undefined;
  }
}

/** After a failed JWKS fetch, handshakes are refused with UNAVAILABLE for this long without fetching again. */
const JWKS_FAILURE_COOLDOWN_MS = 5000;

export function jwksKey(options: {
  jwksUrl: string | URL;
  jwksTimeoutMs?: number | undefined;
}): JWTVerifyGetKey {
  const { jwksUrl, jwksTimeoutMs = 5000 } = options;
  let url: URL;
  try {
    url = new URL(jwksUrl);
  } catch (cause) {
    throw new TypeError("jwtVerifier: `jwksUrl` must be an absolute URL", { cause });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new TypeError("jwtVerifier: `jwksUrl` must be an http: or https: URL");
  }
  if (!Number.isInteger(jwksTimeoutMs) || jwksTimeoutMs < 1) {
    throw new TypeError("jwtVerifier: `jwksTimeoutMs` must be a positive integer");
  }
  const jwks = createRemoteJWKSet(url, { timeoutDuration: jwksTimeoutMs });
  // Negative cache: while the issuer is down, every reconnecting client would cost a fetch (and a timeout).
  let failedAt = Number.NEGATIVE_INFINITY;
  let lastFailure: unknown;
  return async (header, token) => {
    if (Date.now() - failedAt < JWKS_FAILURE_COOLDOWN_MS) {
      throw new VerifyError("UNAVAILABLE", "The JWKS could not be fetched", { cause: lastFailure });
    }
    try {
      return await jwks(header, token);
    } catch (error) {
      // Several candidates: verifyWithKey tries each in turn.
      if (isJoseError(error, "ERR_JWKS_MULTIPLE_MATCHING_KEYS")) throw error;
      // The token names a kid/alg the issuer's key set does not have: a token problem.
      if (isJoseError(error, "ERR_JWKS_NO_MATCHING_KEY") || isJoseError(error, "ERR_JOSE_NOT_SUPPORTED")) {
        throw new VerifyError("TOKEN_INVALID", "No key of the JWKS matches the token", { cause: error });
      }
      // Network failure, timeout, non-200 answer, unparsable key set: the same token may verify later.
      failedAt = Date.now();
      lastFailure = error;
      throw new VerifyError("UNAVAILABLE", "The JWKS could not be fetched", { cause: error });
    }
  };
}
