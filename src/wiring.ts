import { classifyRefusal, retryDelay } from "./classify.js";
import type { ClientCore } from "./core.js";
import { detectEnvironment, noEnvironment } from "./environment.js";
import { AuthedSocketError } from "./errors.js";
import { MAX_REVOKED_ROOMS, ProtocolEvent, type ReadyPayload, type RevokedPayload } from "./protocol.js";
import { compactListenerList } from "./socket-internals.js";

type Handler = (...args: never[]) => void;
interface Target {
  on(event: string, handler: Handler): void;
  off(event: string, handler: Handler): void;
}

/**
 * Attaches the client's listeners to its socket, its Manager and the app's resume signals; each is removed on
 * `close()`. Every listener reads the live connection scope and does nothing for a connection that is gone.
 */
export function wire(core: ClientCore): void {
  const { socket, o, disposers, listeners } = core;
  // Kept flat (no closure per listener): close() calls target.off(event, handler) for each triple. Gathered here and
  // copied into `listeners` once all are known, so that list is exactly sized.
  const added: unknown[] = [];
  const { diagnostics } = core;
  // The narration listens only with `debug`; the refusal record is kept by the client's own listeners (first thing).
  if (o.debug) disposers.push(diagnostics.narrateLifecycle(socket, core.events));

  const userIsAuthError = o.isAuthError;
  /** The app's classifier, with its throws reported instead of stalling the connection. */
  const isAuthError =
    userIsAuthError &&
    ((error: Error & { data?: unknown }) => {
      try {
        return userIsAuthError(error);
      } catch (thrown) {
        core.log.error("isAuthError threw; the built-in rules decide", thrown);
        return undefined;
      }
    });

  listen(added, socket, "connect", () => {
    diagnostics.connected();
    const s = core.scope;
    if (s && !core.isOver()) core.opened(s);
  });

  listen(added, socket, "connect_error", (error: Error & { data?: unknown }) => {
    diagnostics.connectError(error, socket.active);
    if (core.isOver()) return;
    // Transport errors: the Manager retries and the auth function refreshes, unless the app turned that off.
    if (socket.active) {
      if (!socket.io.reconnection()) core.setState("idle");
      return;
    }
    const refusal = classifyRefusal(error, isAuthError);
    core.log.debug(`handshake refused (${refusal}): ${error.message}`);
    if (refusal === "fatal")
      return core.loggedOut(
        "forbidden",
        new AuthedSocketError("ERR_FORBIDDEN", error.message, { cause: error }),
      );
    if (refusal === "auth") return core.onTokenRefused(core.scope, true);
    // Not about the token (UNAVAILABLE, RATE_LIMITED, another middleware): the same token later, never sooner than
    // the server asked.
    core.reconnect(retryDelay(error, core.backoff()));
  });

  listen(added, socket, "disconnect", (reason: string) => {
    const s = core.scope;
    // No scope: the client stopped the socket itself (its scope went first).
    if (!s) return;
    core.scope = null;
    core.endScope(s);
    if (core.isOver()) return;
    // The app disconnected the socket itself: not connected, not trying; connect() starts again.
    if (reason === "io client disconnect") return core.setState("idle");
    // Transport loss: the Manager reconnects, unless the app turned reconnection off.
    if (socket.active) return core.setState(socket.io.reconnection() ? "reconnecting" : "idle");
    // The server dropped us without a word in the protocol (a cut at expiry, a restart, a kick). socket.io-client
    // will not reconnect by itself.
    core.onTokenRefused(s, false);
  });

  listen(added, socket.io, "reconnect_attempt", () => {
    if (core.state === "reconnecting") core.setState("connecting");
  });
  // The app capped socket.io's attempts (`reconnectionAttempts`) and they ran out: idle until connect().
  listen(added, socket.io, "reconnect_failed", () => {
    if (!core.isOver()) core.setState("idle");
  });

  listen(added, socket, ProtocolEvent.Ready, (payload: ReadyPayload) => {
    const s = core.scope;
    if (!s) return;
    s.inBand = payload !== null && typeof payload === "object" && payload.inBand === true;
    // A refresh that landed between the handshake and this message could not go in band yet: hand it over now.
    const held = core.keeper.current;
    if (
      s.inBand &&
      core.state === "authenticated" &&
      held &&
      held !== s.presented &&
      core.keeper.status(held) === "ok"
    )
      core.deliver(held);
  });
  listen(added, socket, ProtocolEvent.Expiring, () => {
    if (core.state !== "authenticated") return;
    const held = core.keeper.current;
    if (held && core.keeper.status(held) === "ok") {
      // Already holding a newer token than the connection's: hand it over. Holding the connection's own token and
      // not yet at its refresh instant: a refresh now would bring no later expiry (a token just received, the
      // issuer answering the same), so the armed timer decides.
      if (held !== core.scope?.presented) core.deliver(held);
      return;
    }
    core.refreshNow("server").catch(() => undefined);
  });
  listen(added, socket, ProtocolEvent.Expired, () => {
    if (!core.isOver()) core.onTokenRefused(core.scope, true);
  });
  listen(added, socket, ProtocolEvent.Revoked, (payload: RevokedPayload) => {
    const reason = payload && typeof payload.reason === "string" ? payload.reason : "revoked";
    core.loggedOut(
      "revoked",
      new AuthedSocketError("ERR_REVOKED", `the server revoked the session: ${reason}`),
    );
  });
  listen(added, socket, ProtocolEvent.RoomsRevoked, (payload: unknown) => {
    const rooms = (payload as { rooms?: unknown } | null | undefined)?.rooms;
    // A payload that is not a bounded list of names is not the protocol's: ignored rather than passed to the app.
    if (
      !Array.isArray(rooms) ||
      rooms.length > MAX_REVOKED_ROOMS ||
      !rooms.every((r) => typeof r === "string")
    )
      return core.log.debug("ignored a malformed auth:rooms_revoked");
    core.events.emit("rooms_left", { rooms: [...rooms] });
  });
  if (o.authErrorEvent)
    listen(added, socket, o.authErrorEvent, () => {
      if (!core.isOver() && core.scope) core.onTokenRefused(core.scope, true);
    });

  appendExactly(listeners, added);

  core.reachOut = () => {
    core.attachCrossTab();
    const environment =
      o.environment === "auto"
        ? detectEnvironment()
        : o.environment === "none"
          ? noEnvironment
          : o.environment;
    // No environment, nothing to listen to: no closure and no disposer either.
    if (environment !== noEnvironment)
      disposers.push(
        environment.onResume(() => {
          core.crossTab?.sync(); // a frozen tab missed the other tabs' messages
          core.check();
        }),
      );
    const { crossTab } = core;
    if (crossTab) {
      disposers.push(() => crossTab.close());
      // A tab that opens while others hold a token asks for it, rather than spend a refresh of its own.
      crossTab.sync();
    }
  };
}

/** Adds `handler` for `event` on `target` and records the triple in `added`. */
function listen(added: unknown[], target: object, event: string, handler: Handler): void {
  (target as Target).on(event, handler);
  compactListenerList(target, event);
  added.push(target, event, handler);
}

/** Appends `items` to `list`, which grows to exactly the length needed (pushes leave a third of it empty). */
function appendExactly(list: unknown[], items: readonly unknown[]): void {
  const start = list.length;
  list.length = start + items.length;
  for (let i = 0; i < items.length; i++) list[start + i] = items[i];
}
