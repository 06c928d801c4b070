/**
 * The server under test. By default the Node companion, started in this process on 127.0.0.1 port 0 with real
 * HS256 JWTs; `CONFORMANCE_TARGET` (a module) or `CONFORMANCE_URL` + `CONFORMANCE_MINT_URL` (HTTP) point the suite
 * at any other server (see README.md in this folder).
 */
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { SignJWT } from "jose";
import { RateLimiterMemory } from "rate-limiter-flexible";
import { authenticate, jwtVerifier, revokeSessions } from "../../src/server/index.js";
import { startServer } from "../helpers/server.js";

/** What the suite asks the token issuer of the server under test for. */
export interface MintRequest {
  /** The token's `sub`. Every case uses subjects of its own. */
  subject: string;
  /**
   * `exp` = now + ttlSec (whole seconds). Zero or less asks for a token that has already expired: then
   * `iat` = exp − 60, otherwise `iat` = now.
   */
  ttlSec: number;
  /** Extra claims, e.g. the ones the server refuses with FORBIDDEN. */
  claims?: Record<string, unknown>;
}

/** What a revocation hook is asked to revoke: every session of `subject`, or only the token with `jti`. */
export interface RevokeRequest {
  subject: string;
  reason: string;
  jti?: string;
}

/** A server the suite can run against, and what it declares about itself. */
export interface ConformanceTarget {
  /** socket.io URL, namespace included (e.g. `http://127.0.0.1:8000/chat`). */
  url: string;
  /** A signed token the server accepts (spec §3), carrying `sub`, `iat`, `exp` and a unique `jti`. */
  mint(request: MintRequest): Promise<string>;
  /** The server's grace after expiry and its `expiringBeforeMs` (spec §7). */
  timing: { graceMs: number; expiringBeforeMs: number };
  /** Slack on every timing check: clock difference plus delivery. */
  toleranceMs: number;
  /** Claims the server refuses with FORBIDDEN (spec §4); without them the FORBIDDEN cases are not registered. */
  forbiddenClaims?: Record<string, unknown>;
  /**
   * Revokes, and resolves once the revocation is recorded and live sockets were told (spec §8). Without it the
   * revocation cases are not registered.
   */
  revoke?(request: RevokeRequest): Promise<void>;
  /** `revoke` honours `jti` (needed for the in-band TOKEN_REVOKED case). */
  revokesJti?: boolean;
  /** Per-subject limits the server enforces (spec §9); without them the RATE_LIMITED cases are not registered. */
  rateLimits?: { handshakesPerSubject?: number; refreshesPerSubject?: number };
  close(): Promise<void>;
}

/** The secret of the default target's tokens. Test-only. */
const SECRET = new TextEncoder().encode("conformance-secret-at-least-32-bytes!");

/** Signs what {@link MintRequest} describes with jose. */
async function signFor({ subject, ttlSec, claims = {} }: MintRequest, secret: Uint8Array): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const exp = now + Math.trunc(ttlSec);
  const iat = ttlSec > 0 ? now : exp - 60;
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(subject)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(crypto.randomUUID())
    .sign(secret);
}

/** The default: the Node companion as docs/server.md sets it up, with limits and a FORBIDDEN rule to check. */
export async function nodeCompanion(): Promise<ConformanceTarget> {
  const server = await startServer();
  const limits = { handshakesPerSubject: 5, refreshesPerSubject: 5 };
  const timing = { graceMs: 500, expiringBeforeMs: 30_000 };
  const auth = authenticate({
    verify: jwtVerifier({ secret: SECRET, algorithms: ["HS256"] }),
    authorize: (claims) => (claims as { banned?: unknown }).banned !== true,
    ...timing,
    rateLimit: {
      handshakePerSubject: new RateLimiterMemory({ points: limits.handshakesPerSubject, duration: 60 }),
      refreshPerSubject: new RateLimiterMemory({ points: limits.refreshesPerSubject, duration: 60 }),
    },
  });
  server.io.use(auth);
  return {
    url: server.url,
    mint: (request) => signFor(request, SECRET),
    timing,
    toleranceMs: 150,
    forbiddenClaims: { banned: true },
    revoke: async ({ subject, reason, jti }) => {
      await revokeSessions(server.io, auth, subject, { reason, ...(jti === undefined ? {} : { jti }) });
    },
    revokesJti: true,
    rateLimits: limits,
    close: () => server.close(),
  };
}

function numberFrom(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new TypeError(`${name} must be a number ≥ 0 (got ${raw})`);
  return value;
}

function jsonFrom<T>(name: string): T | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return undefined;
  try {
    return JSON.parse(raw) as T;
  } catch {
    throw new TypeError(`${name} must be JSON (got ${raw})`);
  }
}

async function post(url: string, body: unknown, what: string): Promise<Response> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${what} answered HTTP ${response.status}`);
  return response;
}

/** A server reached over the network, with HTTP endpoints that mint tokens and revoke sessions. */
function remoteTarget(url: string, mintUrl: string): ConformanceTarget {
  const revokeUrl = process.env.CONFORMANCE_REVOKE_URL;
  const forbiddenClaims = jsonFrom<Record<string, unknown>>("CONFORMANCE_FORBIDDEN_CLAIMS");
  const rateLimits = jsonFrom<ConformanceTarget["rateLimits"]>("CONFORMANCE_LIMITS");
  return {
    url,
    mint: async (request) => {
      const response = await post(mintUrl, request, "CONFORMANCE_MINT_URL");
      const text = await response.text();
      try {
        const parsed = JSON.parse(text) as { token?: unknown };
        if (typeof parsed.token === "string") return parsed.token;
      } catch {
        // not JSON: the body is the token itself
      }
      return text.trim();
    },
    timing: {
      graceMs: numberFrom("CONFORMANCE_GRACE_MS", 5000),
      expiringBeforeMs: numberFrom("CONFORMANCE_EXPIRING_BEFORE_MS", 30_000),
    },
    toleranceMs: numberFrom("CONFORMANCE_TOLERANCE_MS", 250),
    ...(forbiddenClaims ? { forbiddenClaims } : {}),
    ...(revokeUrl
      ? {
          revoke: async (request: RevokeRequest) => {
            await post(revokeUrl, request, "CONFORMANCE_REVOKE_URL");
          },
          revokesJti: process.env.CONFORMANCE_REVOKES_JTI === "1",
        }
      : {}),
    ...(rateLimits ? { rateLimits } : {}),
    close: async () => undefined,
  };
}

/** The target the environment names, or the in-process Node companion. */
export async function createTarget(): Promise<ConformanceTarget> {
  const modulePath = process.env.CONFORMANCE_TARGET;
  if (modulePath) {
    const path = isAbsolute(modulePath) ? modulePath : resolve(process.cwd(), modulePath);
    const loaded = (await import(pathToFileURL(path).href)) as {
      createTarget?: () => Promise<ConformanceTarget>;
    };
    if (typeof loaded.createTarget !== "function")
      throw new TypeError(
        `CONFORMANCE_TARGET (${modulePath}) must export createTarget(): Promise<ConformanceTarget>`,
      );
    return loaded.createTarget();
  }
  const url = process.env.CONFORMANCE_URL;
  if (url) {
    const mintUrl = process.env.CONFORMANCE_MINT_URL;
    if (!mintUrl)
      throw new TypeError("CONFORMANCE_URL needs CONFORMANCE_MINT_URL (or use CONFORMANCE_TARGET)");
    return remoteTarget(url, mintUrl);
  }
  return nodeCompanion();
}

let counter = 0;

/** A subject no other case uses, so per-subject limits and revocations never cross cases. */
export function freshSubject(label: string): string {
  counter += 1;
  return `conf-${label}-${counter}-${crypto.randomUUID().slice(0, 8)}`;
}

/** The claims of a JWT, read without verifying (the suite checks what the server says against them). */
export function claimsOf(token: string): { exp?: number; iat?: number; jti?: string; sub?: string } {
  const body = token.split(".")[1] ?? "";
  return JSON.parse(Buffer.from(body, "base64url").toString()) as {
    exp?: number;
    iat?: number;
    jti?: string;
  };
}

/** The same token with its signature changed: well-formed, but it cannot verify. */
export function tamper(token: string): string {
  const [header, body, signature = ""] = token.split(".");
  const last = signature.at(-1) === "A" ? "B" : "A";
  return `${header}.${body}.${signature.slice(0, -2)}${last}${last}`;
}
