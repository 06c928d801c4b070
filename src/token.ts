import { checkProviderResult, type ProviderResult, refreshThrew, ShapeErrorCounter } from "./diagnostics.js";
import { AuthedSocketError, RefreshError, UnauthorizedError } from "./errors.js";
import type { RefreshReason } from "./events.js";
import { anchorToken, type HeldToken, SkewEstimator, type TokenResult } from "./expiry.js";
import type { NormalizedOptions, RefreshContext } from "./options.js";
import { backoffDelay, refreshFloor, refreshInstantInWindow } from "./schedule.js";
import { keepLast } from "./util.js";

/** A held token plus the local instant at which it should be refreshed (a random pick in its refresh window). */
export interface KeptToken extends HeldToken {
  /** Local epoch ms; null for opaque tokens without expiry (refreshed on rejection only). */
  refreshAt: number | null;
  /** True when it came from `refresh` (not from storage through `getToken`). */
  fresh: boolean;
}

/** What the keeper tells its owner. Called as methods: a class instance may implement them (no closure each). */
export interface KeeperHooks {
  /**
   * The refresh to call instead of `options.refresh`, when the owner decides which one runs at each attempt (the
   * client: its own, or the cross-tab plugin's wrapper once attached).
   */
  refresh?(context: RefreshContext): ReturnType<NormalizedOptions["refresh"]>;
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
/** How many refresh round trips the floor remembers. */
const ROUND_TRIPS_KEPT = 4;

export class TokenKeeper {
  private held: KeptToken | null = null;
  private generation = 0;
  private flight: Promise<KeptToken> | null = null;
  private queued: Promise<KeptToken> | null = null;
  /** How to abandon the provider calls and retry waits in progress; null when there are none (most of the time). */
  private cancels: Set<() => void> | null = null;
  private readonly skew = new SkewEstimator();
  /** The last few refresh round trips (ms): the slowest sets the floor of the next refresh window. */
  private roundTrips: readonly number[] = [];
  /** The last token taken from another tab: the same token handed back by the coordinator is not news. */
  private adopted: KeptToken | null = null;
  /** Provider results that cannot be tokens, in a row: a programming error after a few, not a blip. */
  /** Made at the first such result (most clients never see one); null again once a good result came. */
  private shapes: ShapeErrorCounter | null = null;

  constructor(
    private readonly options: Options,
    private readonly hooks: KeeperHooks,
    private readonly random: () => number = Math.random,
  ) {}

  /** The token in hand, or null. */
  get current(): KeptToken | null {
    return this.held;
  }

  /** "ok", "stale" (inside the margin), "expired", or "none", judged on the local clock now. */
  status(token: KeptToken | null = this.held): "ok" | "stale" | "expired" | "none" {
    if (!token) return "none";
    const now = this.options.clock.now();
    if (token.expiresAt !== null && now >= token.expiresAt) return "expired";
    if (token.refreshAt !== null && now >= token.refreshAt) return "stale";
    return "ok";
  }

  /** Reads the stored token through `getToken` when none is held. Resolves null when there is none. */
  async load(): Promise<KeptToken | null> {
    if (this.held) return this.held;
    const gen = this.generation;
    const result = await this.call(() => this.options.getToken(), "getToken");
    this.check(gen);
    if (this.held) return this.held;
    if (result === null || result === undefined) return null;
    return this.accept(result, false, null, "getToken");
  }

  /**
   * Starts a refresh, or joins the one running. `forced` never joins a refresh that began earlier (it may produce
   * the very token the server just refused): it queues one fresh refresh behind it, shared by every forced caller
   * until it starts.
   */
  refresh(reason: RefreshReason, forced = false): Promise<KeptToken> {
    if (!this.flight) return this.start(reason);
    if (!forced) return this.queued ?? this.flight;
    if (!this.queued) {
      const gen = this.generation;
      const next: Promise<KeptToken> = this.flight
        .catch(() => undefined)
        .then(() => {
          if (this.queued === next) this.queued = null;
          this.check(gen);
          return this.flight ?? this.start(reason);
        });
      this.queued = next;
    }
    return this.queued;
  }

  /**
   * Takes a token obtained elsewhere (another tab's refresh) as if this keeper had refreshed: it becomes the held
   * token and `refreshed` fires. Returns null (with a warning) for a result that does not validate.
   */
  adopt(result: TokenResult): KeptToken | null {
    try {
      // Another tab's token may be minutes old: its iat only bounds the skew (as a stored token's does).
      const token = this.accept(result, true, null);
      this.adopted = token;
      this.hooks.refreshed(token);
      return token;
    } catch (error) {
      this.hooks.warn(`ignored a token shared by another tab: ${describeError(error)}`);
      return null;
    }
  }

  /** Forgets the token and abandons every refresh, retry wait and queued refresh. */
  reset(): void {
    this.generation++;
    this.held = null;
    this.adopted = null;
    this.shapes = null;
    this.flight = null;
    this.queued = null;
    const { cancels } = this;
    if (cancels) for (const cancel of [...cancels]) cancel();
    this.cancels = null;
  }

  private start(reason: RefreshReason): Promise<KeptToken> {
    const started: Promise<KeptToken> = this.run(reason, this.generation).finally(() => {
      if (this.flight === started) this.flight = null;
    });
    this.flight = started;
    return started;
  }

  private async run(reason: RefreshReason, gen: number): Promise<KeptToken> {
    const { retry } = this.options;
    for (let attempt = 1; ; attempt++) {
      this.hooks.attempt(reason, attempt);
      let failure: AuthedSocketError;
      let gaveUp: RefreshError | undefined;
      const askedAt = this.options.clock.now();
      try {
        const result = await this.call((signal) => {
          const context = { reason, signal, attempt };
          return this.hooks.refresh ? this.hooks.refresh(context) : this.options.refresh(context);
        }, "refresh");
        this.check(gen);
        if (result === null || result === undefined) throw new UnauthorizedError("refresh returned no token");
        if (
          this.held &&
          this.held === this.adopted &&
          this.held.value === (typeof result === "string" ? result : result.token)
        )
          return this.held;
        const checked = checkResult(result, "refresh");
        if (!checked.ok) {
          // A result that cannot be a token is a programming error: a few in a row end the session.
          this.shapes ??= new ShapeErrorCounter();
          gaveUp = this.shapes.record(checked);
          throw gaveUp ?? checked.error;
        }
        this.shapes = null;
        const token = this.accept(checked, true, this.options.clock.now() - askedAt);
        this.hooks.refreshed(token);
        return token;
      } catch (error) {
        this.check(gen);
        if (error instanceof UnauthorizedError) throw error;
        if (gaveUp) {
          this.hooks.failed(gaveUp, attempt, null);
          throw gaveUp;
        }
        failure = error instanceof AuthedSocketError ? error : refreshThrew(error);
      }
      const backoff = backoffDelay({ attempt, ...retry, random: this.random() });
      // A token service that said when to come back (Retry-After) is not asked sooner, within the configured cap.
      const asked = failure instanceof RefreshError ? (failure.retryAfterMs ?? 0) : 0;
      const retryInMs =
        attempt < retry.attempts ? Math.min(Math.max(backoff, asked), retry.maxDelayMs) : null;
      this.hooks.failed(failure, attempt, retryInMs);
      if (retryInMs === null) throw failure;
      await this.wait(retryInMs);
      this.check(gen);
    }
  }

  /** Calls a provider with a timeout; the signal is aborted on timeout and on reset. */
  private call<T>(invoke: (signal: AbortSignal) => T | Promise<T>, what: string): Promise<T> {
    const { timers, refreshTimeoutMs } = this.options;
    const controller = new AbortController();
    return new Promise<T>((resolve, reject) => {
      const settle = () => {
        timers.clearTimeout(timer);
        this.release(cancel);
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
      this.own(cancel);
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

  private wait(delayMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const cancel = () => {
        this.options.timers.clearTimeout(timer);
        reject(abandoned());
      };
      const timer = this.options.timers.setTimeout(() => {
        this.release(cancel);
        resolve();
      }, delayMs);
      this.own(cancel);
    });
  }

  /** The set is made at need and dropped once empty: an idle keeper holds no Set (~150 B with its table). */
  private own(cancel: () => void): void {
    this.cancels ??= new Set();
    this.cancels.add(cancel);
  }
  private release(cancel: () => void): void {
    const { cancels } = this;
    if (cancels?.delete(cancel) && cancels.size === 0) this.cancels = null;
  }

  private check(gen: number): void {
    if (gen !== this.generation) throw abandoned();
  }

  /**
   * When to refresh `token`: a uniform pick in its refresh window (schedule.ts: 25 % of the lifetime wide, 65–90 % by
   * default, never closer to expiry than the floor), so a fleet sharing one `exp` does not refresh together. An app's
   * `refreshMarginMs` sets where the window ends. Two floors stop refresh storms with very short tokens (JWT times are
   * whole seconds, so a "1-second" token issued late in a second may have 50 ms to live): a fresh token is kept for
   * at least half of the life it actually has left, and when a refresh brought the same expiry as the token before
   * it, the next refresh waits for that expiry, since until then the issuer would answer the same.
   */
  private refreshAtFor(token: HeldToken, fresh: boolean): number | null {
    const { expiresAt, lifetimeMs, receivedAt } = token;
    if (expiresAt === null || lifetimeMs === null) return null;
    let marginMs: number | undefined;
    const { marginFor } = this.options;
    if (marginFor) {
      const chosen = marginFor(lifetimeMs);
      // A margin function that returns NaN, a negative number or nothing must not disable the proactive refresh.
      if (Number.isFinite(chosen) && chosen >= 0) marginMs = chosen;
    }
    // A fresh token's window is a share of the life it has on arrival, not of `exp − iat`: `iat` is whole seconds
    // and errs early here, so a 3-s token arrives with 2–3 s to live. A stored token keeps `exp − iat`: one found
    // late in its life is refreshed before it is used.
    const usable = fresh ? Math.max(0, Math.min(lifetimeMs, expiresAt - receivedAt)) : lifetimeMs;
    const instant = refreshInstantInWindow({
      expiresAt,
      lifetimeMs: usable,
      floorMs: refreshFloor(this.roundTrips.length ? Math.max(...this.roundTrips) : null),
      ...(marginMs === undefined ? {} : { marginMs }),
      random: this.random(),
    });
    if (!fresh) return instant;
    const previous = this.held?.expiresAt ?? null;
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
  private accept(
    result: Exclude<TokenResult, null | undefined> | ProviderResult | unknown,
    fresh: boolean,
    roundTripMs: number | null = null,
    which: "refresh" | "getToken" = "refresh",
  ): KeptToken {
    const checked = isChecked(result) ? result : checkResult(result, which);
    if (!checked.ok) throw checked.error;
    const { value, extra } = checked;
    const now = this.options.clock.now();
    const mono = this.options.clock.monotonic?.();
    if (roundTripMs !== null && roundTripMs >= 0) {
      this.roundTrips = keepLast([...this.roundTrips, roundTripMs], ROUND_TRIPS_KEPT);
    }
    const { token, badExp } = anchorToken(value, extra, {
      now,
      fresh: roundTripMs !== null,
      ...(roundTripMs === null ? {} : { roundTripMs: Math.max(0, roundTripMs) }),
      skew: this.skew,
      ...(mono === undefined || Number.isNaN(mono) ? {} : { wallMinusMonotonic: now - mono }),
    });
    if (badExp) this.hooks.warn("the token's exp claim is not a number; it is treated as opaque");
    if (fresh && token.expiresAt !== null && token.expiresAt <= now)
      throw new RefreshError("ERR_INVALID_TOKEN", "refresh returned a token that has already expired");
    // One literal with every field, rather than a spread: all kept tokens share one hidden class (spread copies
    // grew a shape of their own per client, ~300 B each).
    const kept: KeptToken = {
      value: token.value,
      expiresAt: token.expiresAt,
      lifetimeMs: token.lifetimeMs,
      receivedAt: token.receivedAt,
      subject: token.subject,
      fresh,
      refreshAt: this.refreshAtFor(token, fresh),
    };
    this.held = kept;
    return kept;
  }
}

export function createTokenKeeper(
  options: Options,
  hooks: KeeperHooks,
  random: () => number = Math.random,
): TokenKeeper {
  return new TokenKeeper(options, hooks, random);
}

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
