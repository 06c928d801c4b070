import {
  checkProviderResult,
  createShapeErrorCounter,
  type ProviderResult,
  refreshThrew,
} from "./diagnostics.js";
import { AuthedSocketError, RefreshError, UnauthorizedError } from "./errors.js";
import type { RefreshReason } from "./events.js";
import { anchorToken, type HeldToken, SkewEstimator, type TokenResult } from "./expiry.js";
import { defaultMargin, type NormalizedOptions } from "./options.js";
import { backoffDelay, refreshInstantInWindow } from "./schedule.js";

/** A held token plus the local instant at which it should be refreshed (a random pick in its refresh window). */
export interface KeptToken extends HeldToken {
  /** Local epoch ms; null for opaque tokens without expiry (refreshed on rejection only). */
  refreshAt: number | null;
  /** True when it came from `refresh` (not from storage through `getToken`). */
  fresh: boolean;
}

export interface KeeperHooks {
  attempt(reason: RefreshReason, attempt: number): void;
  failed(error: AuthedSocketError, attempt: number, retryInMs: number | null): void;
  refreshed(token: KeptToken): void;
  warn(message: string): void;
}

/** Thrown into awaiting callers when `reset()` (logout, close) abandons a refresh. */
export const abandoned = () =>
  new AuthedSocketError("ERR_ABORTED", "The refresh was abandoned by logout() or close()");

type Options = Pick<
  NormalizedOptions,
  "getToken" | "refresh" | "marginFor" | "jitter" | "refreshTimeoutMs" | "retry" | "clock" | "timers"
>;

/**
 * Holds the current token and runs refreshes: one at a time, each attempt bounded by a timeout and aborted through
 * its signal, transient failures retried with backoff. A generation number makes every result that arrives after
 * `reset()` a no-op, so a refresh that resolves after logout cannot bring a token back.
 */
export function createTokenKeeper(options: Options, hooks: KeeperHooks, random: () => number = Math.random) {
  let held: KeptToken | null = null;
  let generation = 0;
  let flight: Promise<KeptToken> | null = null;
  let queued: Promise<KeptToken> | null = null;
  const cancels = new Set<() => void>();
  const skew = new SkewEstimator();
  /** The last token taken from another tab: the same token handed back by the coordinator is not news. */
  let adopted: KeptToken | null = null;
  /** Provider results that cannot be tokens, in a row: a programming error after a few, not a blip. */
  const shapes = createShapeErrorCounter();

  /** "ok", "stale" (inside the margin), "expired", or "none", judged on the local clock now. */
  function status(token: KeptToken | null = held): "ok" | "stale" | "expired" | "none" {
    if (!token) return "none";
    const now = options.clock.now();
    if (token.expiresAt !== null && now >= token.expiresAt) return "expired";
    if (token.refreshAt !== null && now >= token.refreshAt) return "stale";
    return "ok";
  }

  /** Reads the stored token through `getToken` when none is held. Resolves null when there is none. */
  async function load(): Promise<KeptToken | null> {
    if (held) return held;
    const gen = generation;
    const result = await call(() => options.getToken(), "getToken");
    check(gen);
    if (held) return held;
    if (result === null || result === undefined) return null;
    return accept(result, false, null, "getToken");
  }

  /**
   * Starts a refresh, or joins the one running. `forced` never joins a refresh that began earlier (it may produce
   * the very token the server just refused): it queues one fresh refresh behind it, shared by every forced caller
   * until it starts.
   */
  function refresh(reason: RefreshReason, forced = false): Promise<KeptToken> {
    if (!flight) return start(reason);
    if (!forced) return queued ?? flight;
    if (!queued) {
      const gen = generation;
      const next: Promise<KeptToken> = flight
        .catch(() => undefined)
        .then(() => {
          if (queued === next) queued = null;
          check(gen);
          return flight ?? start(reason);
        });
      queued = next;
    }
    return queued;
  }

  /**
   * Takes a token obtained elsewhere (another tab's refresh) as if this keeper had refreshed: it becomes the held
   * token and `refreshed` fires. Returns null (with a warning) for a result that does not validate.
   */
  function adopt(result: TokenResult): KeptToken | null {
    try {
      // Another tab's token may be minutes old: its iat only bounds the skew (as a stored token's does).
      const token = accept(result, true, null);
      adopted = token;
      hooks.refreshed(token);
      return token;
    } catch (error) {
      hooks.warn(`ignored a token shared by another tab: ${describeError(error)}`);
      return null;
    }
  }

  /** Forgets the token and abandons every refresh, retry wait and queued refresh. */
  function reset(): void {
    generation++;
    held = null;
    adopted = null;
    shapes.reset();
    flight = null;
    queued = null;
    for (const cancel of [...cancels]) cancel();
    cancels.clear();
  }

  function start(reason: RefreshReason): Promise<KeptToken> {
    const started: Promise<KeptToken> = run(reason, generation).finally(() => {
      if (flight === started) flight = null;
    });
    flight = started;
    return started;
  }

  async function run(reason: RefreshReason, gen: number): Promise<KeptToken> {
    const { retry } = options;
    for (let attempt = 1; ; attempt++) {
      hooks.attempt(reason, attempt);
      let failure: AuthedSocketError;
      let gaveUp: RefreshError | undefined;
      const askedAt = options.clock.now();
      try {
        const result = await call((signal) => options.refresh({ reason, signal, attempt }), "refresh");
        check(gen);
        if (result === null || result === undefined) throw new UnauthorizedError("refresh returned no token");
        if (held && held === adopted && held.value === (typeof result === "string" ? result : result.token))
          return held;
        const checked = checkResult(result, "refresh");
        if (!checked.ok) {
          // A result that cannot be a token is a programming error: a few in a row end the session.
          gaveUp = shapes.record(checked);
          throw gaveUp ?? checked.error;
        }
        shapes.record(null);
        const token = accept(checked, true, options.clock.now() - askedAt);
        hooks.refreshed(token);
        return token;
      } catch (error) {
        check(gen);
        if (error instanceof UnauthorizedError) throw error;
        if (gaveUp) {
          hooks.failed(gaveUp, attempt, null);
          throw gaveUp;
        }
        failure = error instanceof AuthedSocketError ? error : refreshThrew(error);
      }
      const backoff = backoffDelay({ attempt, ...retry, random: random() });
      // A token service that said when to come back (Retry-After) is not asked sooner, within the configured cap.
      const asked = failure instanceof RefreshError ? (failure.retryAfterMs ?? 0) : 0;
      const retryInMs =
        attempt < retry.attempts ? Math.min(Math.max(backoff, asked), retry.maxDelayMs) : null;
      hooks.failed(failure, attempt, retryInMs);
      if (retryInMs === null) throw failure;
      await wait(retryInMs);
      check(gen);
    }
  }

  /** Calls a provider with a timeout; the signal is aborted on timeout and on reset. */
  function call<T>(invoke: (signal: AbortSignal) => T | Promise<T>, what: string): Promise<T> {
    const { timers, refreshTimeoutMs } = options;
    const controller = new AbortController();
    return new Promise<T>((resolve, reject) => {
      const settle = () => {
        timers.clearTimeout(timer);
        cancels.delete(cancel);
      };
      const cancel = () => {
        settle();
        controller.abort(abandoned());
        reject(abandoned());
      };
      const timer = timers.setTimeout(() => {
        settle();
        const error = new RefreshError(
          "ERR_REFRESH_TIMEOUT",
          `${what} did not settle within ${refreshTimeoutMs} ms`,
        );
        controller.abort(error);
        reject(error);
      }, refreshTimeoutMs);
      cancels.add(cancel);
      Promise.resolve()
        .then(() => invoke(controller.signal))
        .then(
          (value) => {
            settle();
            resolve(value);
          },
          (error: unknown) => {
            settle();
            reject(error);
          },
        );
    });
  }

  function wait(delayMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const cancel = () => {
        options.timers.clearTimeout(timer);
        reject(abandoned());
      };
      const timer = options.timers.setTimeout(() => {
        cancels.delete(cancel);
        resolve();
      }, delayMs);
      cancels.add(cancel);
    });
  }

  function check(gen: number): void {
    if (gen !== generation) throw abandoned();
  }

  /**
   * When to refresh `token`: a uniform pick in its refresh window (schedule.ts: 25 % of the lifetime wide, 65–90 % by
   * default, never closer to expiry than the floor), so a fleet sharing one `exp` does not refresh together. An app's
   * `refreshMarginMs` sets where the window ends. Two floors stop refresh storms with very short tokens (JWT times are
   * whole seconds, so a "1-second" token issued late in a second may have 50 ms to live): a fresh token is kept for
   * at least half of the life it actually has left, and when a refresh brought the same expiry as the token before
   * it, the next refresh waits for that expiry, since until then the issuer would answer the same.
   */
  function refreshAtFor(token: HeldToken, fresh: boolean): number | null {
    const { expiresAt, lifetimeMs, receivedAt } = token;
    if (expiresAt === null || lifetimeMs === null) return null;
    let marginMs: number | undefined;
    if (options.marginFor !== defaultMargin) {
      const chosen = options.marginFor(lifetimeMs);
      // A margin function that returns NaN, a negative number or nothing must not disable the proactive refresh.
      if (Number.isFinite(chosen) && chosen >= 0) marginMs = chosen;
    }
    const instant = refreshInstantInWindow({
      expiresAt,
      lifetimeMs,
      ...(marginMs === undefined ? {} : { marginMs }),
      random: random(),
    });
    if (!fresh) return instant;
    const previous = held?.expiresAt ?? null;
    // Same expiry, to the second: the issuer answered within the same second. (A shorter-lived token than the one
    // before, e.g. after a long-lived login token, is progress of another kind and keeps its margin.)
    if (previous !== null && expiresAt <= previous && expiresAt > previous - 1000) return expiresAt;
    return Math.max(instant, receivedAt + (expiresAt - receivedAt) / 2);
  }

  /**
   * Validates a provider result and makes it the held token. `roundTripMs` is how long the refresh took (the token's
   * `iat` is then "now" within it); null when the token's age is unknown (stored, adopted), so its `iat` only bounds
   * the clock skew.
   */
  function accept(
    result: Exclude<TokenResult, null | undefined> | ProviderResult | unknown,
    fresh: boolean,
    roundTripMs: number | null = null,
    which: "refresh" | "getToken" = "refresh",
  ): KeptToken {
    const checked = isChecked(result) ? result : checkResult(result, which);
    if (!checked.ok) throw checked.error;
    const { value, extra } = checked;
    const now = options.clock.now();
    const mono = options.clock.monotonic?.();
    const { token, badExp } = anchorToken(value, extra, {
      now,
      fresh: roundTripMs !== null,
      ...(roundTripMs === null ? {} : { roundTripMs: Math.max(0, roundTripMs) }),
      skew,
      ...(mono === undefined || Number.isNaN(mono) ? {} : { wallMinusMonotonic: now - mono }),
    });
    if (badExp) hooks.warn("the token's exp claim is not a number; it is treated as opaque");
    if (fresh && token.expiresAt !== null && token.expiresAt <= now)
      throw new RefreshError("ERR_INVALID_TOKEN", "refresh returned a token that has already expired");
    const kept: KeptToken = { ...token, fresh, refreshAt: refreshAtFor(token, fresh) };
    held = kept;
    return kept;
  }
  return {
    /** The token in hand, or null. */
    get current(): KeptToken | null {
      return held;
    },
    status,
    load,
    refresh,
    adopt,
    reset,
  };
}

export type TokenKeeper = ReturnType<typeof createTokenKeeper>;

function isChecked(value: unknown): value is ProviderResult {
  return value !== null && typeof value === "object" && checkedResults.has(value);
}
/** Results that went through checkProviderResult in this module (a provider's own object never counts as one). */
const checkedResults = new WeakSet<object>();
function checkResult(result: unknown, which: "refresh" | "getToken"): ProviderResult {
  const outcome = checkProviderResult(result, which);
  checkedResults.add(outcome);
  return outcome;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
