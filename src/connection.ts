import type { KeptToken } from "./token.js";

/**
 * What belongs to one handshake and the connection it opens. A scope is created when socket.io asks for the
 * handshake's auth data and disposed when that connection (or attempt) ends; a callback that finds its scope disposed,
 * or no longer the client's current one, belongs to a connection that is gone and does nothing. The client keeps no
 * per-connection flags of its own.
 */
export class ConnectionScope {
  /** The token handed to this handshake; null until the auth function has one. */
  presented: KeptToken | null = null;
  /** The server accepted the handshake (`connect`). */
  open = false;
  /** The server advertised `auth:refresh` on this connection (`auth:ready { inBand: true }`). */
  inBand = false;
  /** The token an in-band rotation or a re-handshake is carrying to the server, until it lands. */
  rotating: KeptToken | null = null;
  /** When the connection opened (local epoch ms); refusals on a connection that lived long stop counting in a row. */
  openedAt = 0;
  /** Cancels the wait for the server's answer to this handshake's CONNECT (ClientCore.authenticate). */
  answerWait: (() => void) | null = null;
  /** Made at the first `own` (most connections never need one). */
  private cleanups: (() => void)[] | null = null;
  private ended = false;

  get disposed(): boolean {
    return this.ended;
  }

  /** Runs `cleanup` when the scope is disposed (at once if it already is): timers and listeners of this connection. */
  own(cleanup: () => void): void {
    if (this.ended) cleanup();
    else {
      this.cleanups ??= [];
      this.cleanups.push(cleanup);
    }
  }

  dispose(): void {
    if (this.ended) return;
    this.ended = true;
    this.answerWait?.();
    this.answerWait = null;
    const { cleanups } = this;
    this.cleanups = null;
    if (cleanups) for (const cleanup of cleanups) cleanup();
  }
}

/**
 * What the server's refusal or cut of a connection means, judged from the token that connection presented and the
 * token held now:
 * - `"use-held"`: the client already holds a newer usable token: reconnect with it at once. No refresh, and not a
 *   rejection (the server refused a token the client had already replaced).
 * - `"expired"`: the presented token was at or past its expiry (a server enforcing `exp`): refresh, then reconnect.
 *   Not a rejection either: the server never refused a valid token.
 * - `"rejected"`: the newest token was refused while valid: a forced refresh, and it counts towards
 *   `maxAuthRejections`.
 */
export type RefusalVerdict = "use-held" | "expired" | "rejected";

/**
 * Slack on "at or past its expiry": a tenth of the lifetime, at most a second. The local expiry already errs early
 * (expiry.ts), so this only absorbs the delivery of the cut.
 */
export function expiryTolerance(token: KeptToken): number {
  return Math.min(1000, (token.lifetimeMs ?? 0) / 10);
}

export function judgeRefusal(
  presented: KeptToken | null,
  held: KeptToken | null,
  heldUsable: boolean,
  now: number,
): RefusalVerdict {
  if (held && held !== presented && heldUsable && isNewer(held, presented)) return "use-held";
  if (!presented) return "expired";
  if (presented.expiresAt !== null && now >= presented.expiresAt - expiryTolerance(presented))
    return "expired";
  return "rejected";
}

function isNewer(held: KeptToken, presented: KeptToken | null): boolean {
  if (!presented) return true;
  if (held.value === presented.value) return false;
  if (held.expiresAt === null || presented.expiresAt === null) return held.receivedAt >= presented.receivedAt;
  return held.expiresAt > presented.expiresAt;
}
