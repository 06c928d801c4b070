/**
 * Unsigned JWT-shaped tokens for tests that never verify (the client only decodes): the one `fakeJwt` of the suite.
 * Tests that need a real signature use signToken (jwt.ts).
 */

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url");

/**
 * A JWT-shaped token with a fake signature: `fakeJwt(payload)` with exactly that payload, or `fakeJwt(iatSec,
 * expSec)` for subject "u" with a random claim so two tokens of the same second differ.
 */
export function fakeJwt(payload: Record<string, unknown>): string;
export function fakeJwt(iatSec: number, expSec: number): string;
export function fakeJwt(payloadOrIat: Record<string, unknown> | number, expSec?: number): string {
  const payload =
    typeof payloadOrIat === "number"
      ? { sub: "u", iat: payloadOrIat, exp: expSec, n: Math.random() }
      : payloadOrIat;
  return `${encode({ alg: "HS256", typ: "JWT" })}.${encode(payload)}.c2lnbmF0dXJl`;
}

/** A token issued at `iatMs` (issuer clock) that lives `lifetimeSec` seconds. */
export function jwtAt(iatMs: number, lifetimeSec: number, extra: Record<string, unknown> = {}): string {
  const iat = Math.floor(iatMs / 1000);
  return fakeJwt({ sub: "user-1", iat, exp: iat + lifetimeSec, ...extra });
}

/** The `exp` claim of a token made here. */
export function expOf(token: string): number {
  const payload = token.split(".")[1] ?? "";
  return (JSON.parse(Buffer.from(payload, "base64url").toString()) as { exp: number }).exp;
}
