/**
 * `jwtVerifier()`: a token verifier on jose with the algorithms pinned, the key kind tied to the algorithm family
 * (so an HS256 token "signed" with a public key can never verify), and every failure mapped to a handshake code.
 */
import type { KeyObject as NodeKeyObject } from "node:crypto";
import {
  type CryptoKey,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  jwtVerify,
} from "jose";
import { asVerifyError, VerifyError } from "./errors.js";
import {
  type AsymmetricAlgorithm,
  asymmetricAlgorithms,
  type HmacAlgorithm,
  hmacAlgorithms,
  isJoseError,
  type JwtAlgorithm,
  jwksKey,
  type PublicKeyInput,
  publicKey,
  secretKey,
} from "./keys.js";

export type { AsymmetricAlgorithm, HmacAlgorithm, JwtAlgorithm, PublicKeyInput } from "./keys.js";

/** The claims of a verified JWT (jose's `JWTPayload`: registered claims plus any others). */
export type JwtClaims = JWTPayload;

/** A verifier: resolves with the token's claims or rejects, ideally with a {@link VerifyError}. */
export type Verify<C extends object = JwtClaims> = (token: string) => C | Promise<C>;

/** Options every key source shares. */
export interface JwtVerifierCommonOptions {
  /**
   * Expected `iss` claim (one value or any of several). Unset: the issuer is not checked.
   * @default undefined
   */
  issuer?: string | readonly string[];
  /**
   * Expected `aud` claim (the token must name at least one of these). Unset: the audience is not checked.
   * @default undefined
   */
  audience?: string | readonly string[];
  /**
   * Seconds of leeway for `exp`/`nbf`, for issuers whose clocks drift from this server's.
   * @default 0
   */
  clockToleranceSec?: number;
  /**
   * Tokens longer than this many bytes are refused before any parsing, so a hostile client cannot make the server
   * decode megabytes of base64.
   * @default 8192
   */
  maxTokenBytes?: number;
  /**
   * Refuse tokens without an `exp` claim. A token that never expires cannot be enforced by the expiry watchdog.
   * @default true
   */
  requireExp?: boolean;
  /**
   * Refuse tokens issued (`iat`) longer ago than this, whatever their `exp` says: a token minted with an `exp` years
   * ahead is then still enforced. Needs an `iat` claim. Unset: the age is not checked.
   * @default undefined
   */
  maxTokenAgeMs?: number;
}

/** Verify HMAC-signed tokens with a shared secret. */
export interface SecretVerifierOptions extends JwtVerifierCommonOptions {
  /** The shared HMAC secret: a string (UTF-8 encoded) or raw bytes. */
  secret: string | Uint8Array;
  publicKey?: never;
  jwksUrl?: never;
  /** The accepted algorithms; required, and only HMAC ones fit a secret. */
  algorithms: readonly HmacAlgorithm[];
}

/** Verify tokens signed by one known key pair. */
export interface PublicKeyVerifierOptions extends JwtVerifierCommonOptions {
  /** The issuer's public key. */
  publicKey: PublicKeyInput;
  secret?: never;
  jwksUrl?: never;
  /** The accepted algorithms; required, and only public-key ones fit a public key. */
  algorithms: readonly AsymmetricAlgorithm[];
}

/** Verify tokens against the issuer's JSON Web Key Set, fetched and cached by jose. */
export interface JwksVerifierOptions extends JwtVerifierCommonOptions {
  /** Where the JWKS is served (`https://issuer/.well-known/jwks.json`). */
  jwksUrl: string | URL;
  secret?: never;
  publicKey?: never;
  /** The accepted algorithms; required, and only public-key ones fit a JWKS. */
  algorithms: readonly AsymmetricAlgorithm[];
  /**
   * How long one JWKS request may take before the handshake is refused with `UNAVAILABLE`.
   * @default 5000
   */
  jwksTimeoutMs?: number;
}

/** Options of {@link jwtVerifier}: exactly one of `secret`, `publicKey` or `jwksUrl`, plus pinned `algorithms`. */
export type JwtVerifierOptions = SecretVerifierOptions | PublicKeyVerifierOptions | JwksVerifierOptions;

/**
 * Builds a JWT verifier on jose for {@link authenticate}. The options are checked at once: a missing or empty
 * `algorithms`, `none`, or an algorithm that does not fit the key source throws a `TypeError` naming the option.
 * The verifier rejects with a {@link VerifyError}: `TOKEN_EXPIRED` for an expired token, `TOKEN_INVALID` for a bad
 * signature, a malformed or oversize token or a claim mismatch, `UNAVAILABLE` when the JWKS cannot be fetched.
 *
 * @example
 * ```ts
 * import { authenticate, jwtVerifier } from "authed-socket/server";
 *
 * io.use(authenticate({
 *   verify: jwtVerifier({
 *     jwksUrl: "https://auth.example.com/.well-known/jwks.json",
 *     issuer: "https://auth.example.com/",
 *     audience: "chat",
 *     algorithms: ["RS256"],
 *   }),
 * }));
 * ```
 */
export function jwtVerifier(options: JwtVerifierOptions): (token: string) => Promise<JwtClaims> {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("jwtVerifier: options must be an object");
  }
  const {
    issuer,
    audience,
    clockToleranceSec = 0,
    maxTokenBytes = 8192,
    requireExp = true,
    maxTokenAgeMs,
  }: JwtVerifierCommonOptions = options;
  const algorithms = checkAlgorithms(options);
  checkNonNegative("clockToleranceSec", clockToleranceSec);
  checkNonNegative("maxTokenBytes", maxTokenBytes);
  if (typeof requireExp !== "boolean") throw new TypeError("jwtVerifier: `requireExp` must be a boolean");
  if (maxTokenAgeMs !== undefined) checkNonNegative("maxTokenAgeMs", maxTokenAgeMs);
  checkStringOrList("issuer", issuer);
  checkStringOrList("audience", audience);

  const key = resolveKeySource(options, algorithms);
  const verifyOptions: JWTVerifyOptions = {
    algorithms: [...algorithms],
    clockTolerance: clockToleranceSec,
    requiredClaims: [...(requireExp ? ["exp"] : []), ...(maxTokenAgeMs === undefined ? [] : ["iat"])],
    ...(maxTokenAgeMs === undefined ? {} : { maxTokenAge: Math.floor(maxTokenAgeMs / 1000) }),
    ...(issuer === undefined ? {} : { issuer: typeof issuer === "string" ? issuer : [...issuer] }),
    ...(audience === undefined ? {} : { audience: typeof audience === "string" ? audience : [...audience] }),
  };
  const encoder = new TextEncoder();

  return async (token: string): Promise<JwtClaims> => {
    if (typeof token !== "string" || token.length === 0) {
      throw new VerifyError("TOKEN_INVALID", "The token is not a non-empty string");
    }
    // UTF-8 never takes fewer bytes than UTF-16 code units, so the cheap length test settles huge tokens first.
    if (token.length > maxTokenBytes || encoder.encode(token).length > maxTokenBytes) {
      throw new VerifyError("TOKEN_INVALID", `The token is larger than ${maxTokenBytes} bytes`);
    }
    let claims: JwtClaims;
    try {
      claims = await verifyWithKey(token, key, verifyOptions);
    } catch (error) {
      throw toVerifyError(error);
    }
    // jose checks a future `iat` only with maxTokenAge; a token "issued" beyond the tolerance is forged or mis-minted.
    if (typeof claims.iat === "number" && claims.iat * 1000 > Date.now() + clockToleranceSec * 1000) {
      throw new VerifyError("TOKEN_INVALID", "The token's iat is in the future");
    }
    return claims;
  };
}

/** Resolves a key, trying each candidate when a JWKS holds several keys that match the token's header. */
async function verifyWithKey(
  token: string,
  key: NodeKeyObject | CryptoKey | Uint8Array | JWTVerifyGetKey,
  options: JWTVerifyOptions,
): Promise<JwtClaims> {
  try {
    const { payload } = await jwtVerify(token, key, options);
    return payload;
  } catch (error) {
    if (!isJoseError(error, "ERR_JWKS_MULTIPLE_MATCHING_KEYS")) throw error;
    const candidates = error as unknown as AsyncIterable<CryptoKey>;
    for await (const candidate of candidates) {
      try {
        const { payload } = await jwtVerify(token, candidate, options);
        return payload;
      } catch (attempt) {
        if (!isJoseError(attempt, "ERR_JWS_SIGNATURE_VERIFICATION_FAILED")) throw attempt;
      }
    }
    throw new VerifyError("TOKEN_INVALID", "No key of the JWKS verifies the token's signature");
  }
}

/** One line per jose failure: what the client should do about it decides the code. */
function toVerifyError(error: unknown): VerifyError {
  const known = asVerifyError(error);
  if (known) return known;
  // Expired: a refresh fixes it.
  if (isJoseError(error, "ERR_JWT_EXPIRED")) {
    return new VerifyError("TOKEN_EXPIRED", "The token has expired", { cause: error });
  }
  // Signature, malformed input, disallowed alg, claim mismatch: the token itself is wrong.
  return new VerifyError("TOKEN_INVALID", "The token did not verify", { cause: error });
}

function checkAlgorithms(options: JwtVerifierOptions): readonly JwtAlgorithm[] {
  const { algorithms } = options as { algorithms?: unknown };
  if (!Array.isArray(algorithms) || algorithms.length === 0) {
    throw new TypeError(
      'jwtVerifier: `algorithms` is required: list the JWS algorithms your issuer signs with, e.g. ["RS256"]',
    );
  }
  const sources = (["secret", "publicKey", "jwksUrl"] as const).filter((name) => options[name] !== undefined);
  if (sources.length !== 1) {
    throw new TypeError(
      `jwtVerifier: give exactly one of \`secret\`, \`publicKey\` or \`jwksUrl\` (got ${sources.length === 0 ? "none" : sources.join(", ")})`,
    );
  }
  const usesSecret = sources[0] === "secret";
  for (const algorithm of algorithms as unknown[]) {
    if (typeof algorithm === "string" && algorithm.toLowerCase() === "none") {
      throw new TypeError(
        'jwtVerifier: `algorithms` must not contain "none": unsigned tokens are never accepted',
      );
    }
    if (
      typeof algorithm !== "string" ||
      !(hmacAlgorithms.has(algorithm) || asymmetricAlgorithms.has(algorithm))
    ) {
      throw new TypeError(
        `jwtVerifier: \`algorithms\` contains an unsupported value ${JSON.stringify(algorithm)}`,
      );
    }
    // Mixing families is how HS/RS confusion happens: a public key used as an HMAC secret.
    if (usesSecret && !hmacAlgorithms.has(algorithm)) {
      throw new TypeError(
        `jwtVerifier: \`algorithms\` has ${algorithm}, but a \`secret\` only verifies HS256/HS384/HS512`,
      );
    }
    if (!usesSecret && hmacAlgorithms.has(algorithm)) {
      throw new TypeError(
        `jwtVerifier: \`algorithms\` has ${algorithm}, but \`${sources[0]}\` needs public-key algorithms (RS*, PS*, ES*, EdDSA)`,
      );
    }
  }
  return algorithms as readonly JwtAlgorithm[];
}

function resolveKeySource(
  options: JwtVerifierOptions,
  algorithms: readonly JwtAlgorithm[],
): Uint8Array | NodeKeyObject | CryptoKey | JWTVerifyGetKey {
  if (options.secret !== undefined) return secretKey(options.secret);
  if (options.publicKey !== undefined) return publicKey(options.publicKey, algorithms);
  return jwksKey(options as JwksVerifierOptions);
}

function checkNonNegative(name: string, value: unknown): void {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`jwtVerifier: \`${name}\` must be a non-negative number`);
  }
}

function checkStringOrList(name: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value === "string" && value.length > 0) return;
  if (Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === "string")) return;
  throw new TypeError(`jwtVerifier: \`${name}\` must be a non-empty string or array of strings`);
}
