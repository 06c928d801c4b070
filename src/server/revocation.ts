/**
 * Revocations: "end this user's sessions" (all of them, those issued before an instant, or one `jti`), kept in a
 * store every node reads. An entry lives until the last token it covers would have expired, so the store stays
 * bounded. The memory store serves one process; `redisRevocationStore` shares entries across a cluster.
 */
import { type ServerClock, systemClock } from "./clock.js";

/** A revocation as stored: whose sessions, which of their tokens, why, and until when it must be remembered. */
export interface Revocation {
  /** The user, as `authenticate()`'s `subject` returns it. */
  subject: string;
  /**
   * Tokens whose `iat` falls before this instant (epoch ms) are covered. `iat` is whole seconds, so a token minted in
   * the same second as the instant is covered too, even just after it (fail closed). A token without `iat` is
   * covered. Absent: only `jti` decides.
   */
  issuedBefore?: number;
  /** The one token (its `jti` claim) this revocation covers. */
  jti?: string;
  /** Sent to the user's clients in `auth:revoked { reason }`. */
  reason: string;
  /** When every covered token has expired (epoch ms): the store may forget the entry then. */
  expiresAt: number;
}

/** What identifies a token for revocation: its claims' `iat` (seconds) and `jti`, when it has them. */
export interface RevocationTarget {
  iat?: unknown;
  jti?: unknown;
}

/**
 * Where revocations live. `find` runs on every handshake, in-band refresh and restored session, so it must be one
 * cheap read; a store that throws refuses those with `UNAVAILABLE` (fail closed). Implement it for your own
 * database, or use {@link memoryRevocationStore} / {@link redisRevocationStore}.
 */
export interface RevocationStore {
  /** Records a revocation; a later `issuedBefore` for the same subject supersedes an earlier one. */
  add(revocation: Revocation): Promise<void>;
  /** The reason a revocation covers this token of `subject`, or undefined when none does. */
  find(subject: string, token: RevocationTarget): Promise<string | undefined>;
}

/** The longest token lifetime assumed when a revocation is not told when its tokens expire. */
export const DEFAULT_MAX_TOKEN_LIFETIME_MS = 24 * 60 * 60_000;

/** Options of {@link memoryRevocationStore}. */
export interface MemoryRevocationStoreOptions {
  /** Clock for expiry; tests inject a manual one. @default the system clock */
  clock?: ServerClock;
}

/** Whether a token is covered by a subject's "issued before" instant: `iat` is whole seconds; no `iat` is covered. */
export function issuedBeforeCovers(issuedBefore: number, iat: unknown): boolean {
  if (typeof iat !== "number" || !Number.isFinite(iat)) return true;
  return iat * 1000 < issuedBefore;
}

interface SubjectEntry {
  before?: { at: number; reason: string; expiresAt: number };
  jtis?: Map<string, { reason: string; expiresAt: number }>;
}

/**
 * Revocations in this process's memory: the default, nothing to run. Entries are dropped once the tokens they
 * cover have expired (checked on every call, cheapest first through a heap of expiry instants, so no timer is left
 * behind). For several nodes use {@link redisRevocationStore}.
 *
 * @example
 * ```ts
 * const revocations = memoryRevocationStore();
 * const auth = authenticate({ verify, revocations });
 * ```
 */
export function memoryRevocationStore(options: MemoryRevocationStoreOptions = {}): RevocationStore & {
  /** How many subjects hold an entry (for tests and metrics). */
  readonly size: number;
} {
  const clock = options.clock ?? systemClock;
  if (typeof clock?.now !== "function")
    throw new TypeError("memoryRevocationStore: `clock` must have a now() function");
  const entries = new Map<string, SubjectEntry>();
  const expiries = new ExpiryHeap();

  const prune = (now: number): void => {
    for (let next = expiries.peek(); next && next.at <= now; next = expiries.peek()) {
      expiries.pop();
      const entry = entries.get(next.subject);
      if (!entry) continue;
      if (next.jti === undefined) {
        if (entry.before && entry.before.expiresAt <= now) delete entry.before;
      } else {
        const held = entry.jtis?.get(next.jti);
        if (held && held.expiresAt <= now) entry.jtis?.delete(next.jti);
        if (entry.jtis?.size === 0) delete entry.jtis;
      }
      if (!entry.before && !entry.jtis) entries.delete(next.subject);
    }
  };

  return {
    get size() {
      prune(clock.now());
      return entries.size;
    },
    async add(revocation) {
      const { subject, issuedBefore, jti, reason, expiresAt } = checkRevocation(revocation);
      const now = clock.now();
      prune(now);
      if (expiresAt <= now) return;
      let entry = entries.get(subject);
      if (!entry) {
        entry = {};
        entries.set(subject, entry);
      }
      if (issuedBefore !== undefined) {
        const current = entry.before;
        const later = !current || issuedBefore >= current.at;
        entry.before = {
          at: later ? issuedBefore : current.at,
          reason: later ? reason : current.reason,
          expiresAt: Math.max(expiresAt, current?.expiresAt ?? 0),
        };
        expiries.push({ at: entry.before.expiresAt, subject });
      }
      if (jti !== undefined) {
        entry.jtis ??= new Map();
        const until = Math.max(expiresAt, entry.jtis.get(jti)?.expiresAt ?? 0);
        entry.jtis.set(jti, { reason, expiresAt: until });
        expiries.push({ at: until, subject, jti });
      }
    },
    async find(subject, token) {
      const now = clock.now();
      prune(now);
      const entry = entries.get(subject);
      if (!entry) return undefined;
      if (typeof token.jti === "string") {
        const held = entry.jtis?.get(token.jti);
        if (held && held.expiresAt > now) return held.reason;
      }
      const before = entry.before;
      if (before && before.expiresAt > now && issuedBeforeCovers(before.at, token.iat)) return before.reason;
      return undefined;
    },
  };
}

/** Validates a revocation handed to a store; the message names the field at fault. */
export function checkRevocation(revocation: Revocation): Revocation {
  if (typeof revocation !== "object" || revocation === null)
    throw new TypeError("revocation: must be an object");
  const { subject, issuedBefore, jti, reason, expiresAt } = revocation;
  if (typeof subject !== "string" || subject.length === 0)
    throw new TypeError("revocation: `subject` must be a non-empty string");
  if (issuedBefore !== undefined && !isInstant(issuedBefore))
    throw new TypeError(
      `revocation: \`issuedBefore\` must be epoch milliseconds (got ${String(issuedBefore)})`,
    );
  if (jti !== undefined && (typeof jti !== "string" || jti.length === 0))
    throw new TypeError("revocation: `jti` must be a non-empty string");
  if (issuedBefore === undefined && jti === undefined)
    throw new TypeError("revocation: give `issuedBefore` or `jti`");
  if (typeof reason !== "string" || reason.length === 0 || reason.length > 200)
    throw new TypeError("revocation: `reason` must be a string of 1 to 200 characters");
  if (!isInstant(expiresAt))
    throw new TypeError(`revocation: \`expiresAt\` must be epoch milliseconds (got ${String(expiresAt)})`);
  return revocation;
}

function isInstant(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0;
}

interface Expiry {
  at: number;
  subject: string;
  jti?: string;
}

/** A binary min-heap of expiry instants: pruning touches only what is due. */
class ExpiryHeap {
  private readonly items: Expiry[] = [];

  peek(): Expiry | undefined {
    return this.items[0];
  }

  push(item: Expiry): void {
    const items = this.items;
    items.push(item);
    let index = items.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if ((items[parent] as Expiry).at <= item.at) break;
      items[index] = items[parent] as Expiry;
      index = parent;
    }
    items[index] = item;
  }

  pop(): Expiry | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child =
        right < items.length && (items[right] as Expiry).at < (items[left] as Expiry).at ? right : left;
      if ((items[child] as Expiry).at >= last.at) break;
      items[index] = items[child] as Expiry;
      index = child;
    }
    items[index] = last;
    return top;
  }
}
