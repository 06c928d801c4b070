import { AuthedSocketError } from "./errors.js";
import type { LoggedOutReason } from "./events.js";
import type { Log } from "./log.js";

// Emits after the session ended --------------------------------------------------------------------------

interface EmitterSocket {
  emit(event: string, ...args: unknown[]): unknown;
  emitWithAck?(event: string, ...args: unknown[]): Promise<unknown>;
}

/** socket.io-client's per-emit flags and its options: whether an ack callback is error-first. */
interface EmitInternals {
  flags?: { timeout?: number; volatile?: boolean };
  _opts?: { ackTimeout?: number };
}

/**
 * Makes emits fail at once while the session is over, instead of waiting in socket.io's buffer until their own
 * timeout (or for ever, without one) — and being sent on the next session, possibly another user's. An error-first
 * ack (`socket.timeout(ms).emit(…, cb)`, or the `ackTimeout` option) is called with `error`; `emitWithAck` rejects
 * with it; an emit without an error-first ack is dropped with a warning (the first one logs at warn, the rest at
 * debug). Returns the function that restores the socket's own `emit` (call it when a new session starts).
 *
 * The override is an own property of this socket only, set while the session is over; the prototype is untouched.
 */
export function refuseEmits(socket: object, error: () => AuthedSocketError, log: Log): () => void {
  const target = socket as EmitterSocket & EmitInternals;
  const hadOwn = {
    emit: Object.hasOwn(target, "emit"),
    emitWithAck: Object.hasOwn(target, "emitWithAck"),
  };
  const previous = { emit: target.emit, emitWithAck: target.emitWithAck };
  let warned = false;
  const errorFirst = () => target.flags?.timeout !== undefined || target._opts?.ackTimeout !== undefined;
  /** socket.io clears its flags after each emit; so must this one, or `.timeout()` leaks to the next emit. */
  const clearFlags = () => {
    if (target.flags) target.flags = {};
  };
  function refusedEmit(this: unknown, event: string, ...args: unknown[]) {
    const ack = args[args.length - 1];
    const failure = error();
    if (typeof ack === "function" && errorFirst()) {
      clearFlags();
      // Asynchronously, as socket.io calls acks: code after emit() runs first either way.
      queueMicrotask(() => (ack as (e: Error) => void)(failure));
      return target;
    }
    clearFlags();
    const line = `emit("${String(event)}") dropped: ${failure.message}`;
    if (warned) log.debug(line);
    else log.warn(line);
    warned = true;
    return target;
  }
  function refusedEmitWithAck(event: string, ..._args: unknown[]): Promise<never> {
    clearFlags();
    const failure = error();
    log.debug(`emitWithAck("${String(event)}") refused: ${failure.message}`);
    return Promise.reject(failure);
  }
  Object.defineProperty(target, "emit", { value: refusedEmit, configurable: true, writable: true });
  Object.defineProperty(target, "emitWithAck", {
    value: refusedEmitWithAck,
    configurable: true,
    writable: true,
  });
  return () => {
    for (const name of ["emit", "emitWithAck"] as const) {
      if (hadOwn[name])
        Object.defineProperty(target, name, { value: previous[name], configurable: true, writable: true });
      else delete (target as Partial<EmitterSocket>)[name];
    }
  };
}

/** The error `refuseEmits` hands to emits made after `logged_out`. */
export function emitAfterLoggedOut(reason: LoggedOutReason): AuthedSocketError {
  return new AuthedSocketError(
    "ERR_LOGGED_OUT",
    `the session is over (logged_out: ${reason}); nothing was sent. Call connect() once the user signed in again`,
  );
}

/** The error `refuseEmits` hands to emits made after `close()`. */
export function emitAfterClose(): AuthedSocketError {
  return new AuthedSocketError("ERR_CLOSED", "the client is closed; nothing was sent");
}
