import type { Socket } from "socket.io-client";
import type { Timers } from "./clock.js";
import { AuthedSocketError, UnauthorizedError } from "./errors.js";
import type { KeptToken, TokenKeeper } from "./token.js";

/** How long a handshake waits for a refresh while the token in hand, inside its refresh window, still works. */
export const STALE_WAIT_MS = 2000;

/** What the auth function gets for a handshake: results as values, never thrown markers. */
export type HandshakeToken =
  /** Hand this token to the handshake. */
  | { kind: "token"; token: KeptToken }
  /** No usable token yet and the refresh outlived its deadline: stop, and reconnect once `pending` lands. */
  | { kind: "wait"; pending: Promise<KeptToken> }
  /** The refresh ended the session or gave up. */
  | { kind: "failed"; error: unknown };

type Settled<T> = { kind: "value"; value: T } | { kind: "error"; error: unknown } | { kind: "late" };

/** Races `promise` against `ms`, as a value: the caller decides what a late result means. */
export function within<T>(promise: Promise<T>, ms: number, timers: Timers): Promise<Settled<T>> {
  let timer: unknown;
  return Promise.race<Settled<T>>([
    promise.then(
      (value) => ({ kind: "value", value }),
      (error: unknown) => ({ kind: "error", error }),
    ),
    new Promise<Settled<T>>((resolve) => {
      timer = timers.setTimeout(() => resolve({ kind: "late" }), ms);
    }),
  ]).finally(() => timers.clearTimeout(timer));
}

export interface HandshakeDeps {
  keeper: TokenKeeper;
  refreshTimeoutMs: number;
  timers: Timers;
  warn(message: string): void;
  /** A refresh that outlived the handshake's short wait landed: hand its token to the connection. */
  lateToken(pending: Promise<KeptToken>): void;
}

/** A usable token now: the held one, or a refresh first when it is missing, expired or inside its window. */
export async function tokenForHandshake(deps: HandshakeDeps): Promise<HandshakeToken> {
  const { keeper } = deps;
  let held = keeper.current;
  if (!held) {
    try {
      held = await keeper.load();
    } catch (error) {
      if (error instanceof UnauthorizedError || isAbort(error)) return { kind: "failed", error };
      deps.warn(`getToken failed, refreshing instead: ${describe(error)}`);
    }
  }
  const status = keeper.status(held);
  if (status === "ok" && held) return { kind: "token", token: held };
  const pending = keeper.refresh(status === "stale" ? "expiring" : "missing");
  // Inside its window the old token still works: wait for the new one only briefly before using it.
  const stale = status === "stale" ? held : null;
  const outcome = await within(
    pending,
    stale ? Math.min(deps.refreshTimeoutMs, STALE_WAIT_MS) : deps.refreshTimeoutMs,
    deps.timers,
  );
  if (outcome.kind === "value") return { kind: "token", token: outcome.value };
  // Only a slow refresh falls back: a refresh that ended the session (or gave up) must not be talked round.
  if (outcome.kind === "error") return { kind: "failed", error: outcome.error };
  if (stale && keeper.status(stale) === "stale") {
    deps.lateToken(pending);
    return { kind: "token", token: stale };
  }
  return { kind: "wait", pending };
}

type Placement = "header" | "query";

/**
 * Puts the token where headers or the query string travel (`tokenIn: "header" | "query"`). Returns true when the
 * value changed: those travel when the transport opens, so the transport must reopen to carry it.
 */
export function placeOutsideAuth(socket: Socket, where: Placement, token: KeptToken): boolean {
  const opts = socket.io.opts;
  if (where === "header") {
    const headers = { ...(opts.extraHeaders as Record<string, string> | undefined) };
    const value = `Bearer ${token.value}`;
    if (headers.Authorization === value) return false;
    headers.Authorization = value;
    opts.extraHeaders = headers;
    return true;
  }
  const query = { ...(opts.query as Record<string, string> | undefined) };
  if (query.token === token.value) return false;
  query.token = token.value;
  opts.query = query;
  return true;
}

/** Removes the token from the Manager's headers or query (logout, close). */
export function clearOutsideAuth(socket: Socket, where: Placement): void {
  const opts = socket.io.opts;
  if (where === "header" && opts.extraHeaders) {
    const { Authorization: _gone, ...rest } = opts.extraHeaders as Record<string, string>;
    opts.extraHeaders = rest;
  }
  if (where === "query" && opts.query) {
    const { token: _gone, ...rest } = opts.query as Record<string, string>;
    opts.query = rest;
  }
}

export function isAbort(error: unknown): boolean {
  return error instanceof AuthedSocketError && error.code === "ERR_ABORTED";
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
