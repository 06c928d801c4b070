/**
 * `revokeSessions()`: records a revocation in the store every node checks, then cuts the user's live sockets that
 * it covers, on every node (through the adapter's `fetchSockets()`).
 */
import { ProtocolEvent, type RevokedPayload } from "../protocol.js";
import { contextOf } from "./authenticate.js";
import { type ServerClock, systemClock } from "./clock.js";
import {
  checkRevocation,
  DEFAULT_MAX_TOKEN_LIFETIME_MS,
  issuedBeforeCovers,
  type Revocation,
  type RevocationStore,
} from "./revocation.js";
import { type RoomsTarget, userRoom } from "./users.js";

/** Which of a user's sessions {@link revokeSessions} ends, and why. */
export interface RevokeOptions {
  /** Sent to the user's clients in `auth:revoked { reason }`. @default "revoked" */
  reason?: string;
  /**
   * End the sessions whose token was issued (`iat`) before this instant. `iat` is whole seconds: a token minted in
   * the same second, even just after the instant, is covered too. With neither this nor `jti`: now (every
   * session of the user).
   */
  issuedBefore?: number | Date;
  /** End the one session holding the token with this `jti`. */
  jti?: string;
  /**
   * The longest lifetime of your tokens: the revocation is remembered until every token it covers has expired
   * (issuedBefore + this, or now + this for a `jti`), then forgotten, so the store stays bounded. Set it to your
   * issuer's longest `exp − iat`; a covered token still live on a socket extends it to that token's `exp`.
   * @default 86_400_000 (24 h)
   */
  maxTokenLifetimeMs?: number;
}

/** What {@link revokeSessions} did. */
export interface RevokeResult {
  /** The live sockets cut, on every node. */
  disconnected: number;
}

/** What `fetchSockets()` returns per socket (local or on another node); only what is used here. */
interface FetchedSocket {
  data?: unknown;
  emit(event: string, ...args: unknown[]): unknown;
  disconnect(close?: boolean): unknown;
}

/**
 * Ends a user's sessions for good, across the cluster: records the revocation in the store (so no handshake,
 * in-band refresh or restored session with a covered token is accepted again on any node, `TOKEN_REVOKED`), then
 * sends `auth:revoked { reason }` to every live socket of the user whose token it covers and disconnects it.
 * Resolves once the store holds the revocation and the sockets were told; a handshake in flight meanwhile is
 * caught by its own re-check once it joins the user room.
 *
 * @param target The server (main namespace) or namespace, or several, where the user's sockets may be.
 * @param auth The middleware `authenticate()` returned (its `revocations` store is used), or a store itself.
 * @param subject The user, as `authenticate()`'s `subject` returned it.
 * @example
 * ```ts
 * const auth = authenticate({ verify, revocations: redisRevocationStore({ client: redis }) });
 * io.use(auth);
 * app.post("/password", async (req, res) => {
 *   await changePassword(req.user.id, req.body.password);
 *   await revokeSessions(io, auth, req.user.id, { reason: "password_changed" });
 *   res.sendStatus(204);
 * });
 * ```
 */
export async function revokeSessions(
  target: RoomsTarget | readonly RoomsTarget[],
  auth: unknown,
  subject: string,
  options: RevokeOptions = {},
): Promise<RevokeResult> {
  const { store, clock } = storeOf(auth);
  const targets = (Array.isArray(target) ? target : [target]) as RoomsTarget[];
  if (targets.length === 0 || !targets.every((t) => typeof t?.in === "function"))
    throw new TypeError(
      "revokeSessions: `target` must be a socket.io Server or Namespace (or an array of them)",
    );
  if (typeof options !== "object" || options === null)
    throw new TypeError("revokeSessions: options must be an object");
  const { reason = "revoked", jti, maxTokenLifetimeMs = DEFAULT_MAX_TOKEN_LIFETIME_MS } = options;
  if (!Number.isFinite(maxTokenLifetimeMs) || maxTokenLifetimeMs <= 0)
    throw new TypeError(
      `revokeSessions: \`maxTokenLifetimeMs\` must be a positive number of milliseconds (got ${String(maxTokenLifetimeMs)})`,
    );
  const now = clock.now();
  const given = options.issuedBefore instanceof Date ? options.issuedBefore.getTime() : options.issuedBefore;
  const issuedBefore = given ?? (jti === undefined ? now : undefined);
  const revocation: Revocation = checkRevocation({
    subject,
    reason,
    ...(issuedBefore === undefined ? {} : { issuedBefore }),
    ...(jti === undefined ? {} : { jti }),
    expiresAt: (issuedBefore ?? now) + maxTokenLifetimeMs,
  });
  // The store first: from here on, any socket that joins the user room re-checks and sees it.
  await store.add(revocation);

  const room = userRoom(subject);
  const found = await Promise.all(
    targets.map((t) => t.in(room).fetchSockets() as Promise<readonly FetchedSocket[]>),
  );
  const payload: RevokedPayload = { reason };
  let disconnected = 0;
  let longest = revocation.expiresAt;
  for (const sockets of found)
    for (const socket of sockets) {
      const claims = claimsOf(socket);
      if (!claims || !covers(revocation, claims)) continue;
      if (typeof claims.exp === "number" && Number.isFinite(claims.exp))
        longest = Math.max(longest, claims.exp * 1000);
      // The adapter delivers the event before the disconnect; each socket flushes it before closing.
      socket.emit(ProtocolEvent.Revoked, payload);
      socket.disconnect(true);
      disconnected += 1;
    }
  // A live token outlives the assumed lifetime: remember the revocation as long as that token lives.
  if (longest > revocation.expiresAt) await store.add({ ...revocation, expiresAt: longest });
  contextOf(auth)?.metrics.revocation(
    jti === undefined ? (given === undefined ? "user" : "issued_before") : "jti",
    disconnected,
  );
  return { disconnected };
}

function storeOf(auth: unknown): { store: RevocationStore; clock: ServerClock } {
  const context = contextOf(auth);
  if (context) return { store: context.revocations, clock: context.clock };
  const store = auth as Partial<RevocationStore> | null;
  if (
    typeof store === "object" &&
    store !== null &&
    typeof store.add === "function" &&
    typeof store.find === "function"
  )
    return { store: store as RevocationStore, clock: systemClock };
  throw new TypeError(
    "revokeSessions: `auth` must be a middleware returned by authenticate() or a revocation store",
  );
}

function claimsOf(socket: FetchedSocket): { iat?: unknown; jti?: unknown; exp?: unknown } | undefined {
  const auth = (socket.data as { auth?: { claims?: unknown } } | null | undefined)?.auth;
  const claims = auth?.claims;
  return typeof claims === "object" && claims !== null ? claims : undefined;
}

function covers(revocation: Revocation, claims: { iat?: unknown; jti?: unknown }): boolean {
  if (revocation.jti !== undefined && claims.jti === revocation.jti) return true;
  return revocation.issuedBefore !== undefined && issuedBeforeCovers(revocation.issuedBefore, claims.iat);
}
