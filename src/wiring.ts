import { classifyRefusal, retryDelay } from "./classify.js";
import { type ClientCore, claimSocket, clientOf, releaseSocket, SETTLE_MS } from "./core.js";
import { detectEnvironment, noEnvironment } from "./environment.js";
import { AuthedSocketError } from "./errors.js";
import { MAX_REVOKED_ROOMS, ProtocolEvent, type ReadyPayload, type RevokedPayload } from "./protocol.js";
import { compactListenerList } from "./socket-internals.js";

type Handler = (...args: never[]) => void;
interface Target {
  on(event: string, handler: Handler): void;
  off(event: string, handler: Handler): void;
}

/** The app's classifier, with its throws reported instead of stalling the connection. */
function appIsAuthError(core: ClientCore, error: Error & { data?: unknown }): boolean | undefined {
  try {
    return core.o.isAuthError?.(error);
  } catch (thrown) {
    core.log.error("isAuthError threw; the built-in rules decide", thrown);
    return undefined;
  }
}

// The socket's listeners are functions of this module, shared by every client: each finds its client from the
// socket it is called on (no closure per listener per client). Every one reads the live connection scope and does
// nothing for a connection that is gone.

function onConnect(this: object): void {
  const core = clientOf(this);
  if (!core) return;
  core.diagnostics.connected();
  const s = core.scope;
  if (s && !core.isOver()) core.opened(s);
}

function onConnectError(this: object, error: Error & { data?: unknown }): void {
  const core = clientOf(this);
  if (!core) return;
  const { socket } = core;
  core.diagnostics.connectError(error, socket.active);
  if (core.isOver()) return;
  // Transport errors: the Manager retries and the auth function refreshes, unless the app turned that off.
  if (socket.active) {
    if (!socket.io.reconnection()) core.setState("idle");
    return;
  }
  const refusal = classifyRefusal(
    error,
    core.o.isAuthError ? (e: Error & { data?: unknown }) => appIsAuthError(core, e) : undefined,
  );
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
}

function onDisconnect(this: object, reason: string): void {
  const core = clientOf(this);
  const s = core?.scope;
  // No scope: the client stopped the socket itself (its scope went first).
  if (!core || !s) return;
  core.scope = null;
  core.endScope(s);
  if (core.isOver()) return;
  const { socket } = core;
  // The app disconnected the socket itself: not connected, not trying; connect() starts again.
  if (reason === "io client disconnect") return core.setState("idle");
  // Transport loss: the Manager reconnects, unless the app turned reconnection off.
  if (socket.active) return core.setState(socket.io.reconnection() ? "reconnecting" : "idle");
  // The server dropped us without a word in the protocol (a cut at expiry, a restart, a kick). socket.io-client
  // will not reconnect by itself. Before it answered the handshake (python-socketio's disconnect() in a connect
  // handler) or before the connection settled (a NestJS handleConnection that disconnects), it refused the token
  // it was shown: that counts as a refusal. Later, it is a kick: the same token after a backoff.
  core.onTokenRefused(s, !s.open || core.now() - s.openedAt < SETTLE_MS);
}

function onReady(this: object, payload: ReadyPayload): void {
  const core = clientOf(this);
  const s = core?.scope;
  if (!core || !s) return;
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
}

function onExpiring(this: object): void {
  const core = clientOf(this);
  if (core?.state !== "authenticated") return;
  const held = core.keeper.current;
  if (held && core.keeper.status(held) === "ok") {
    // Already holding a newer token than the connection's: hand it over. Holding the connection's own token and
    // not yet at its refresh instant: a refresh now would bring no later expiry (a token just received, the
    // issuer answering the same), so the armed timer decides.
    if (held !== core.scope?.presented) core.deliver(held);
    return;
  }
  core.refreshNow("server").catch(() => undefined);
}

function onExpired(this: object): void {
  const core = clientOf(this);
  if (core && !core.isOver()) core.onTokenRefused(core.scope, true);
}

function onRevoked(this: object, payload: RevokedPayload): void {
  const core = clientOf(this);
  if (!core) return;
  const reason = payload && typeof payload.reason === "string" ? payload.reason : "revoked";
  core.loggedOut(
    "revoked",
    new AuthedSocketError("ERR_REVOKED", `the server revoked the session: ${reason}`),
  );
}

function onRoomsRevoked(this: object, payload: unknown): void {
  const core = clientOf(this);
  if (!core) return;
  const rooms = (payload as { rooms?: unknown } | null | undefined)?.rooms;
  // A payload that is not a bounded list of names is not the protocol's: ignored rather than passed to the app.
  if (!Array.isArray(rooms) || rooms.length > MAX_REVOKED_ROOMS || !rooms.every((r) => typeof r === "string"))
    return core.log.debug("ignored a malformed auth:rooms_revoked");
  core.events.emit("rooms_left", { rooms: [...rooms] });
}

/** The app's `authErrorEvent` (default `auth_error`): the server accepted the handshake, then refused the token. */
function onAuthErrorEvent(this: object): void {
  const core = clientOf(this);
  if (core && !core.isOver() && core.scope) core.onTokenRefused(core.scope, true);
}

/** The clients on each Manager; socket.io calls a Manager's listeners with the Manager as `this`. */
const managerClients = new WeakMap<object, readonly ClientCore[]>();

/** A reconnect attempt of the Manager: its reconnecting clients are connecting again. */
function onAttempt(this: object): void {
  for (const core of managerClients.get(this) ?? [])
    if (core.state === "reconnecting") core.setState("connecting");
}

/** The app capped socket.io's attempts (`reconnectionAttempts`) and they ran out: idle until connect(). */
function onFailed(this: object): void {
  for (const core of managerClients.get(this) ?? []) if (!core.isOver()) core.setState("idle");
}

/** The socket listeners, in the order they are attached; `authErrorEvent` is added per client when set. */
const SOCKET_LISTENERS: readonly (readonly [string, Handler])[] = [
  ["connect", onConnect],
  ["connect_error", onConnectError],
  ["disconnect", onDisconnect],
  [ProtocolEvent.Ready, onReady],
  [ProtocolEvent.Expiring, onExpiring],
  [ProtocolEvent.Expired, onExpired],
  [ProtocolEvent.Revoked, onRevoked],
  [ProtocolEvent.RoomsRevoked, onRoomsRevoked],
];

/**
 * Attaches the client's listeners to its socket and its Manager, and sets what it attaches outside itself at the
 * first connect() (`reachOut`); `unwire` takes them off on `close()`.
 */
export function wire(core: ClientCore): void {
  const { socket, o } = core;
  claimSocket(core);
  // The narration listens only with `debug`; the refusal record is kept by the client's own listeners (first thing).
  if (o.debug) core.onClose(core.diagnostics.narrateLifecycle(socket, core.events));
  for (const [event, handler] of SOCKET_LISTENERS) listen(socket, event, handler);
  if (o.authErrorEvent) listen(socket, o.authErrorEvent, onAuthErrorEvent);
  // A Manager may serve several clients (other namespaces, forceNew: false): its two listeners are attached once
  // and answer for every client on it.
  const on = managerClients.get(socket.io);
  if (on) managerClients.set(socket.io, [...on, core]);
  else {
    managerClients.set(socket.io, [core]);
    listen(socket.io, "reconnect_attempt", onAttempt);
    listen(socket.io, "reconnect_failed", onFailed);
  }
  core.detach = unwire;
  core.reachOut = reachOut;
}

/** Takes off what `wire` attached (close(), through `core.detach`). */
function unwire(core: ClientCore): void {
  const { socket, o } = core;
  for (const [event, handler] of SOCKET_LISTENERS) (socket as Target).off(event, handler);
  if (o.authErrorEvent) (socket as Target).off(o.authErrorEvent, onAuthErrorEvent);
  const rest = (managerClients.get(socket.io) ?? []).filter((other) => other !== core);
  if (rest.length) managerClients.set(socket.io, rest);
  else {
    managerClients.delete(socket.io);
    (socket.io as unknown as Target).off("reconnect_attempt", onAttempt);
    (socket.io as unknown as Target).off("reconnect_failed", onFailed);
  }
  releaseSocket(core);
}

/** Run once, at the client's first connect() or refresh(): resume signals and the cross-tab channel. */
function reachOut(core: ClientCore): void {
  const { o } = core;
  core.attachCrossTab();
  const environment =
    o.environment === "auto" ? detectEnvironment() : o.environment === "none" ? noEnvironment : o.environment;
  // No environment, nothing to listen to: no closure and no disposer either.
  if (environment !== noEnvironment)
    core.onClose(
      environment.onResume(() => {
        core.crossTab?.sync(); // a frozen tab missed the other tabs' messages
        core.check();
      }),
    );
  const { crossTab } = core;
  if (crossTab) {
    core.onClose(() => crossTab.close());
    // A tab that opens while others hold a token asks for it, rather than spend a refresh of its own.
    crossTab.sync();
  }
}

/** Adds `handler` for `event` on `target`, its listener list sized exactly (socket-internals.ts). */
function listen(target: object, event: string, handler: Handler): void {
  (target as Target).on(event, handler);
  compactListenerList(target, event);
}
