/**
 * `requireClaims()`: a namespace guard on the claims `authenticate()` accepted (e.g. `/admin` needs `role: "admin"`).
 */
import { CLAIMS_GUARD, type ClaimsPredicate, registerClaimsGuard } from "./check.js";
import { asVerifyError, handshakeError } from "./errors.js";
import type { AuthData, HookSocket, SocketMiddleware } from "./options.js";
import type { JwtClaims } from "./verifier.js";

/**
 * A middleware that lets a socket in only when `predicate(claims, socket)` returns `true`; otherwise the handshake
 * is refused with `FORBIDDEN` (a throw: `UNAVAILABLE`, or the code of a thrown `VerifyError`). It reads the claims
 * `authenticate()` put on `socket.data.auth`, so register `authenticate()` on the same namespace first: socket.io
 * runs only a namespace's own middlewares. Without it, every socket is refused with `FORBIDDEN` (fail closed).
 * The predicate runs again on each in-band refresh on that namespace; new claims that fail it end the connection.
 *
 * @example
 * ```ts
 * const auth = authenticate({ verify });
 * io.use(auth);
 * io.of("/admin")
 *   .use(auth)
 *   .use(requireClaims<{ roles?: string[] }>((claims) => claims.roles?.includes("admin") === true));
 * ```
 */
export function requireClaims<C extends object = JwtClaims>(
  predicate: (claims: C, socket: HookSocket) => boolean | Promise<boolean>,
): SocketMiddleware<C> {
  if (typeof predicate !== "function") {
    throw new TypeError("requireClaims: `predicate` must be a function (claims, socket) => boolean");
  }
  const guard = predicate as unknown as ClaimsPredicate;
  const middleware: SocketMiddleware<C> = (socketArgument, next) => {
    const socket = socketArgument as unknown as HookSocket;
    try {
      registerClaimsGuard(socket.nsp, guard);
    } catch {
      // Without a namespace object there is nothing to re-check on refresh; the handshake check below still runs.
    }
    const auth = (socket.data as { auth?: Partial<AuthData<object>> } | null | undefined)?.auth;
    if (typeof auth?.claims !== "object" || auth.claims === null) {
      next(
        handshakeError(
          "FORBIDDEN",
          "Forbidden: requireClaims() found no authenticated user; use authenticate() on this namespace before it",
        ),
      );
      return;
    }
    const claims = auth.claims;
    Promise.resolve()
      .then(() => guard(claims, socket))
      .then(
        (allowed) => next(allowed === true ? undefined : handshakeError("FORBIDDEN")),
        (error: unknown) => next(handshakeError(asVerifyError(error)?.code ?? "UNAVAILABLE")),
      );
  };
  (middleware as { [CLAIMS_GUARD]?: ClaimsPredicate })[CLAIMS_GUARD] = guard;
  return middleware;
}
