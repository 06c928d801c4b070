import { SignJWT } from "jose";

/** The HS256 secret every test server and client share. Test-only. */
export const TEST_SECRET = new TextEncoder().encode("test-secret-at-least-32-bytes-long!!");

export interface SignOptions {
  subject?: string;
  /** Lifetime in seconds from `now`. Negative makes an already-expired token. */
  ttlSec?: number;
  /** Issued-at, epoch seconds; defaults to now. */
  iat?: number;
  claims?: Record<string, unknown>;
  secret?: Uint8Array;
}

/** Signs a real HS256 JWT with jose. */
export async function signToken(options: SignOptions = {}): Promise<string> {
  const iat = options.iat ?? Math.floor(Date.now() / 1000);
  const ttl = options.ttlSec ?? 60;
  return new SignJWT({ ...options.claims })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(options.subject ?? "user-1")
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttl)
    .setJti(crypto.randomUUID())
    .sign(options.secret ?? TEST_SECRET);
}

/** A well-formed token signed with a key no test server trusts: only the server can tell it is bad. */
export function signForeignToken(options: Omit<SignOptions, "secret"> = {}): Promise<string> {
  return signToken({ ...options, secret: new TextEncoder().encode("another-secret-that-is-32-bytes-long") });
}

/** Signs a token whose lifetime is given in milliseconds (iat/exp are whole seconds, so sub-second parts round). */
export async function signTokenMs(ttlMs: number, options: Omit<SignOptions, "ttlSec"> = {}): Promise<string> {
  return signToken({ ...options, ttlSec: Math.max(1, Math.round(ttlMs / 1000)) });
}
