/**
 * The one token check both the handshake and the in-band refresh run: read, verify, subject, expiry, revocation,
 * authorization. It never throws; every outcome is a value with a stable code and a message safe to send.
 */
import type { HandshakeErrorCode, InBandRefreshErrorCode } from "../protocol.js";
import { asVerifyError, defaultMessage, safeMessage } from "./errors.js";
import type { AuthContext, AuthData, HookSocket, TokenSource } from "./options.js";
import { consume, type RateLimiterLike, subjectKey } from "./rate-limit.js";

/** What the handshake carried. */
export type TokenRead = { kind: "missing" } | { kind: "malformed" } | { kind: "token"; token: string };

/** The result of {@link checkToken}. */
export type TokenCheck =
  | { ok: true; auth: AuthData<object> }
  | {
      ok: false;
      code: InBandRefreshErrorCode;
      message: string;
      error?: unknown;
      /** A revocation covers the token; `reason` is the one to send in `auth:revoked`. */
      revoked?: true;
      reason?: string;
      /** With `RATE_LIMITED`. */
      retryAfterMs?: number;
    };

/** A claims predicate added by `requireClaims()`; kept per namespace so in-band refreshes re-run it. */
export type ClaimsPredicate = (claims: object, socket: HookSocket) => boolean | Promise<boolean>;

const bearer = /^Bearer +(\S+) *$/i;
/** Room in an `Authorization` header for the scheme and its spaces, on top of the token itself. */
const BEARER_ROOM = 16;

/** Classifies the value found where a token belongs; one longer than `max` is malformed before anything reads it. */
export function readTokenValue(value: unknown, max = Number.POSITIVE_INFINITY): TokenRead {
  if (value === undefined || value === null || value === "") return { kind: "missing" };
  // A number or an object where a token belongs is a broken client, not an absent token.
  if (typeof value !== "string" || value.length > max) return { kind: "malformed" };
  return { kind: "token", token: value };
}

/** Finds the token in the handshake, trying each source in order. */
export function readHandshakeToken(
  handshake: HookSocket["handshake"],
  sources: readonly TokenSource[],
  max = Number.POSITIVE_INFINITY,
): TokenRead {
  for (const source of sources) {
    if (source === "auth") {
      const auth: unknown = handshake.auth;
      const read = readTokenValue(
        typeof auth === "object" && auth !== null ? (auth as { token?: unknown }).token : undefined,
        max,
      );
      if (read.kind !== "missing") return read;
      continue;
    }
    const header: unknown = handshake.headers?.authorization;
    if (typeof header !== "string") continue;
    // Length first: the scheme test below must never scan megabytes a hostile client sent.
    if (header.length > max + BEARER_ROOM) return { kind: "malformed" };
    // Another scheme (Basic, Digest) belongs to someone else: treat it as no token rather than a bad one.
    const token = bearer.exec(header)?.[1];
    if (token !== undefined) return { kind: "token", token };
  }
  return { kind: "missing" };
}

/**
 * Runs every check on a token; `expectedSubject` and `guards` are given by the in-band refresh, `limiter` (the
 * per-subject rate limit) by the handshake and the refresh. The revocation store is asked last, right before the
 * caller accepts the token, so a revocation made while the other checks ran is seen.
 */
export async function checkToken(
  context: AuthContext,
  token: string,
  socket: HookSocket,
  {
    expectedSubject,
    guards = [],
    limiter,
  }: {
    expectedSubject?: string;
    guards?: Iterable<ClaimsPredicate>;
    limiter?: RateLimiterLike | undefined;
  } = {},
): Promise<TokenCheck> {
  let claims: unknown;
  try {
    claims = await context.verify(token);
  } catch (error) {
    const known = asVerifyError(error);
    // An unknown throw is the verifier saying "no"; its message may quote the token, so it stays server-side.
    if (!known) return refuse("TOKEN_INVALID", error);
    return { ok: false, code: known.code, message: safeMessage(known.code, known.message, token), error };
  }
  if (typeof claims !== "object" || claims === null || Array.isArray(claims)) {
    return refuse("TOKEN_INVALID", undefined, "Authentication failed: the verifier returned no claims");
  }

  let subject: unknown;
  try {
    subject = context.subjectOf(claims);
  } catch (error) {
    return refuse("TOKEN_INVALID", error);
  }
  if (typeof subject !== "string" || subject.length === 0) {
    return refuse("TOKEN_INVALID", undefined, "Authentication failed: the token names no subject");
  }

  const exp = (claims as { exp?: unknown }).exp;
  // exp in ms must be finite too: 1e306 seconds passes Number.isFinite but overflows once multiplied.
  if (exp !== undefined && (typeof exp !== "number" || !Number.isFinite(exp * 1000))) {
    return refuse("TOKEN_INVALID", undefined, "Authentication failed: the token's exp is not a number");
  }
  const expiresAt = exp === undefined ? null : exp * 1000;
  // A custom verifier may not look at exp; a token the watchdog would cut at once is refused up front.
  if (expiresAt !== null && expiresAt + context.graceMs <= context.clock.now()) {
    return refuse("TOKEN_EXPIRED");
  }

  if (expectedSubject !== undefined && subject !== expectedSubject) {
    return refuse("SUBJECT_MISMATCH", undefined, "The new token belongs to another user");
  }

  if (context.isRevoked) {
    try {
      // Fail closed: only an explicit `false` lets the token through.
      if ((await context.isRevoked(claims)) !== false) {
        return { ok: false, code: "TOKEN_REVOKED", message: defaultMessage("TOKEN_REVOKED"), revoked: true };
      }
    } catch (error) {
      return hookFailure(error, token);
    }
  }

  const predicates = [...(context.authorize ? [context.authorize] : []), ...guards];
  for (const predicate of predicates) {
    try {
      if ((await predicate(claims, socket)) !== true) return refuse("FORBIDDEN");
    } catch (error) {
      return hookFailure(error, token);
    }
  }

  const limited = await consume(limiter, subjectKey(subject));
  if (limited.kind === "limited")
    return {
      ok: false,
      code: "RATE_LIMITED",
      message: defaultMessage("RATE_LIMITED"),
      retryAfterMs: limited.retryAfterMs,
    };
  if (limited.kind === "failed") return refuse("UNAVAILABLE", limited.error);

  const auth: AuthData<object> = { subject, claims, expiresAt };
  return (await revocationCheck(context, auth)) ?? { ok: true, auth };
}

/**
 * Asks the revocation store whether a revocation covers `auth`'s token: a refusal with `TOKEN_REVOKED` and the
 * revocation's reason, `UNAVAILABLE` when the store fails (fail closed), undefined when nothing covers it.
 */
export async function revocationCheck(
  context: AuthContext,
  auth: AuthData<object>,
): Promise<Extract<TokenCheck, { ok: false }> | undefined> {
  let reason: string | undefined;
  try {
    reason = await context.revocations.find(auth.subject, auth.claims as { iat?: unknown; jti?: unknown });
  } catch (error) {
    return { ok: false, code: "UNAVAILABLE", message: defaultMessage("UNAVAILABLE"), error };
  }
  if (reason === undefined) return undefined;
  return {
    ok: false,
    code: "TOKEN_REVOKED",
    message: defaultMessage("TOKEN_REVOKED"),
    revoked: true,
    reason: typeof reason === "string" && reason.length > 0 ? reason : "revoked",
  };
}

function refuse(
  code: InBandRefreshErrorCode,
  error?: unknown,
  message: string = code === "SUBJECT_MISMATCH"
    ? "The new token belongs to another user"
    : defaultMessage(code),
): TokenCheck {
  return error === undefined ? { ok: false, code, message } : { ok: false, code, message, error };
}

/** A hook that throws is a server fault, not the token's: retry later, unless it chose a code itself. */
function hookFailure(error: unknown, token: string): TokenCheck {
  const known = asVerifyError(error);
  const code: HandshakeErrorCode = known?.code ?? "UNAVAILABLE";
  return {
    ok: false,
    code,
    message: known ? safeMessage(code, known.message, token) : defaultMessage(code),
    error,
  };
}

const claimGuards = new WeakMap<object, Set<ClaimsPredicate>>();

/** Remembers a `requireClaims()` predicate for a namespace, so in-band refreshes there re-run it. */
export function registerClaimsGuard(namespace: object, predicate: ClaimsPredicate): void {
  let guards = claimGuards.get(namespace);
  if (!guards) {
    guards = new Set();
    claimGuards.set(namespace, guards);
  }
  guards.add(predicate);
}

/** Marks a middleware returned by `requireClaims()` with its predicate. */
export const CLAIMS_GUARD: unique symbol = Symbol("authed-socket.requireClaims");

/**
 * The `requireClaims()` predicates that guard a namespace: those seen running there, and those found among its
 * middlewares — a session restored on a node where no handshake has run yet must meet them too.
 */
export function claimsGuardsOf(namespace: object): Iterable<ClaimsPredicate> {
  const guards = new Set(claimGuards.get(namespace));
  const middlewares = (namespace as { _fns?: unknown })._fns;
  if (Array.isArray(middlewares))
    for (const fn of middlewares) {
      const guard = (fn as { [CLAIMS_GUARD]?: ClaimsPredicate } | null)?.[CLAIMS_GUARD];
      if (typeof guard === "function") guards.add(guard);
    }
  return guards;
}
