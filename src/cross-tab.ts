import type { TokenResult } from "./expiry.js";

/** What a wrapped refresh receives: the client's RefreshContext (only its signal matters here). */
interface RefreshCall {
  signal: AbortSignal;
}

/**
 * Several tabs of one origin, one refresh. Without coordination every tab refreshes on its own; with rotating
 * refresh tokens and reuse detection the second tab presents a refresh token the first already spent, and the
 * identity provider ends the session for all of them.
 *
 * A refresh takes a Web Lock (bounded wait, so a frozen holder cannot block forever). Inside it, a tab first
 * checks whether another tab published a newer token while it waited, and adopts that instead of refreshing. A tab
 * that does refresh publishes the result on a BroadcastChannel, tagged with a version (the device clock at which it
 * was obtained: tabs share that clock), and holds the lock a moment longer so the message lands before the next tab
 * is granted the lock. Storage is not used to hand the token over: a write reaches other tabs late, so a tab granted
 * the lock right after could still read the old token.
 */
export interface CrossTabOptions {
  /**
   * Name of the lock and the channel; tabs with the same name share tokens.
   * @default "authed-socket:" + the url
   */
  name?: string;
  /**
   * Longest wait for the lock, in ms; past it the tab refreshes on its own rather than wait behind a stuck tab.
   * @default half of refreshTimeoutMs
   */
  lockTimeoutMs?: number;
  /**
   * How long a tab that refreshed keeps the lock after publishing, in ms, so its message reaches the other tabs
   * before one of them is granted the lock.
   * @default 50
   */
  handoffMs?: number;
}

/** How far ahead of this tab's clock a version may be: tabs share the clock, so only same-millisecond bumps. */
const MAX_VERSION_AHEAD_MS = 1000;
/** Longest token accepted from the channel; anything longer is not a token another tab obtained. */
const MAX_TOKEN_LENGTH = 16_384;
/** Printable ASCII without spaces: what JWTs and opaque bearer tokens are made of. Linear-time. */
const TOKEN_CHARS = /^[\x21-\x7e]+$/;

interface Message {
  type: "token" | "sync";
  version?: number;
  token?: string;
  expiresIn?: number | undefined;
}

interface LockManagerLike {
  request(
    name: string,
    options: { signal?: AbortSignal },
    callback: () => Promise<unknown>,
  ): Promise<unknown>;
}

interface ChannelLike {
  postMessage(message: unknown): void;
  close(): void;
  onmessage: ((event: { data: unknown }) => void) | null;
}

export interface CrossTab {
  /** Wraps a refresh so that one tab at a time refreshes and the others adopt its result. */
  wrap<C extends RefreshCall>(
    refresh: (context: C) => TokenResult | Promise<TokenResult>,
  ): (context: C) => Promise<TokenResult>;
  /** Asks the other tabs for their newest token (after a resume: a frozen tab misses messages). */
  sync(): void;
  /** Forgets what this tab held and saw (logout): a later session starts from nothing. */
  reset(): void;
  close(): void;
}

export interface CrossTabEnvironment {
  locks: LockManagerLike;
  openChannel(name: string): ChannelLike;
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** What the client gives a cross-tab plugin when it is created. @internal */
export interface CrossTabHost {
  url: string;
  refreshTimeoutMs: number;
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** A newer token another tab published: the client hands it to the connection as if it had refreshed. */
  adopt(result: { token: string; expiresIn?: number }): void;
  /** Whether a token posted on the channel may be adopted at all (unexpired, same subject). */
  accept(result: { token: string; expiresIn?: number }): boolean;
}

/** The value of the `crossTab` option, made by {@link crossTab}. */
export interface CrossTabPlugin {
  /** @internal Called once by the client; null where Web Locks or BroadcastChannel are missing. */
  attach(host: CrossTabHost): CrossTab | null;
}

/**
 * Makes tabs of one origin share refreshes (pass it as the `crossTab` option): exactly one tab calls `refresh` when
 * the token is about to expire and the others adopt its result. A separate import, so bundles without it do not
 * carry it.
 *
 * @example
 * ```ts
 * import { createAuthedSocket, crossTab } from "authed-socket";
 * const client = createAuthedSocket(url, { refresh, crossTab: crossTab() });
 * ```
 */
export function crossTab(options: CrossTabOptions = {}): CrossTabPlugin {
  if (options === null || typeof options !== "object")
    throw new TypeError(`authed-socket: crossTab(options) takes an object (got ${kind(options)})`);
  const { name, lockTimeoutMs, handoffMs } = options;
  if (name !== undefined && (typeof name !== "string" || name === ""))
    throw new TypeError(
      `authed-socket: crossTab option "name" must be a non-empty string (got ${kind(name)})`,
    );
  const positive = (key: string, value: unknown, min: number) => {
    if (value !== undefined && !(typeof value === "number" && value >= min && !Number.isNaN(value)))
      throw new TypeError(
        `authed-socket: crossTab option "${key}" must be a number ≥ ${min} (got ${typeof value === "number" ? value : kind(value)})`,
      );
  };
  positive("lockTimeoutMs", lockTimeoutMs, 1);
  positive("handoffMs", handoffMs, 0);
  return {
    attach(host) {
      const env = browserCrossTabEnvironment(host.now, host.setTimeout, host.clearTimeout);
      if (!env) return null;
      return createCrossTab(
        env,
        {
          name: name ?? `authed-socket:${host.url}`,
          lockTimeoutMs: lockTimeoutMs ?? host.refreshTimeoutMs / 2,
          handoffMs: handoffMs ?? 50,
        },
        host.adopt,
        host.accept,
      );
    },
  };
}

function kind(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
}

/** The browser's Web Locks and BroadcastChannel, or null where either is missing (Node, React Native, old browsers). */
export function browserCrossTabEnvironment(
  now: () => number,
  setTimer: (cb: () => void, ms: number) => unknown,
  clearTimer: (handle: unknown) => void,
): CrossTabEnvironment | null {
  const g = globalThis as {
    navigator?: { locks?: LockManagerLike };
    BroadcastChannel?: new (name: string) => ChannelLike;
  };
  const locks = g.navigator?.locks;
  const Channel = g.BroadcastChannel;
  if (!locks || typeof locks.request !== "function" || typeof Channel !== "function") return null;
  return {
    locks,
    openChannel: (name: string) => new Channel(name),
    now,
    setTimeout: setTimer,
    clearTimeout: clearTimer,
  };
}

/**
 * Creates the coordinator. `adopt` receives a newer token published by another tab (the client hands it to the
 * connection as if it had refreshed itself).
 */
export function createCrossTab(
  env: CrossTabEnvironment,
  options: { name: string; lockTimeoutMs: number; handoffMs: number },
  adopt: (result: { token: string; expiresIn?: number }, version: number) => void,
  accept: (result: { token: string; expiresIn?: number }) => boolean = () => true,
): CrossTab {
  const channel = env.openChannel(options.name);
  /** Version of the token this tab holds; 0 for none. */
  let mine = 0;
  /** The newest token any tab published that this tab has seen. */
  let latest: { version: number; token: string; expiresAt: number | null } | null = null;

  const message = (version: number, token: string, expiresAt: number | null): Message => ({
    type: "token",
    version,
    token,
    expiresIn: expiresAt === null ? undefined : expiresAt - env.now(),
  });
  const asResult = (m: { token: string; expiresAt: number | null }) =>
    m.expiresAt === null ? { token: m.token } : { token: m.token, expiresIn: m.expiresAt - env.now() };

  channel.onmessage = (event) => {
    const data = event.data as Message | null;
    if (data === null || typeof data !== "object") return;
    if (data.type === "sync") {
      if (latest && latest.version === mine)
        channel.postMessage(message(latest.version, latest.token, latest.expiresAt));
      return;
    }
    const { version, token, expiresIn } = data;
    // Any same-origin script can post here: everything is checked before it changes any state. A version is the
    // shared clock at a real refresh, so one far ahead (or Infinity) would only block every later real token.
    if (
      data.type !== "token" ||
      typeof version !== "number" ||
      !Number.isSafeInteger(version) ||
      version <= 0
    )
      return;
    if (version > env.now() + MAX_VERSION_AHEAD_MS) return;
    if (typeof token !== "string" || token.length > MAX_TOKEN_LENGTH || !TOKEN_CHARS.test(token)) return;
    if (
      expiresIn !== undefined &&
      (typeof expiresIn !== "number" || !Number.isFinite(expiresIn) || expiresIn <= 0)
    )
      return;
    if (latest && version <= latest.version) return;
    if (!accept(expiresIn === undefined ? { token } : { token, expiresIn })) return;
    latest = { version, token, expiresAt: expiresIn === undefined ? null : env.now() + expiresIn };
    if (version > mine) {
      mine = version;
      adopt(asResult(latest), version);
    }
  };

  return {
    wrap(refresh) {
      return async (context) => {
        const before = mine;
        // The lock wait ends when it takes too long, or when the refresh is abandoned (logout, timeout).
        const controller = new AbortController();
        const { signal } = controller;
        const timer = env.setTimeout(() => controller.abort(), options.lockTimeoutMs);
        const abandon = () => controller.abort();
        context.signal.addEventListener("abort", abandon, { once: true });
        let outcome: TokenResult | undefined;
        let entered = false;
        const inside = async () => {
          entered = true;
          // Abandoned while waiting: never spend a refresh token for a session that has ended.
          if (context.signal.aborted) throw context.signal.reason;
          // Another tab refreshed while this one waited for the lock: take its token, do not spend ours.
          if (latest && latest.version > before) {
            outcome = asResult(latest);
            return;
          }
          outcome = await refresh(context);
          if (outcome !== null && outcome !== undefined) {
            const token = typeof outcome === "string" ? outcome : outcome.token;
            const expiresIn = typeof outcome === "string" ? undefined : outcome.expiresIn;
            const version = Math.max(env.now(), (latest?.version ?? 0) + 1);
            // Without an explicit lifetime the receiving tabs read the JWT's exp themselves.
            channel.postMessage({ type: "token", version, token, expiresIn } satisfies Message);
            latest = { version, token, expiresAt: expiresIn === undefined ? null : env.now() + expiresIn };
            mine = version;
            await new Promise((resolve) => env.setTimeout(() => resolve(undefined), options.handoffMs));
          }
        };
        try {
          await env.locks.request(options.name, { signal }, inside);
        } catch (error) {
          // Waited too long for the lock (a stuck or frozen holder): refresh without it rather than hang.
          if (context.signal.aborted || !signal.aborted || entered) throw error;
          await inside();
        } finally {
          env.clearTimeout(timer);
          context.signal.removeEventListener("abort", abandon);
        }
        return outcome;
      };
    },
    sync() {
      channel.postMessage({ type: "sync" } satisfies Message);
    },
    reset() {
      mine = 0;
      latest = null;
    },
    close() {
      channel.onmessage = null;
      channel.close();
    },
  };
}
