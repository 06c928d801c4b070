import { AuthedSocketError, RefreshError, UnauthorizedError } from "./errors.js";
import type { RefreshReason } from "./events.js";
import { anchorToken, type HeldToken, SkewEstimator, type TokenResult } from "./expiry.js";
import { defaultMargin, type NormalizedOptions } from "./options.js";
import { backoffDelay, refreshInstant } from "./schedule.js";

/** A held token plus the local instant at which it should be refreshed (margin and jitter applied). */
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
export class TokenKeeper {
  private held: KeptToken | null = null;
  private generation = 0;
  private flight: Promise<KeptToken> | null = null;
  private queued: Promise<KeptToken> | null = null;
  private readonly cancels = new Set<() => void>();
  private readonly skew = new SkewEstimator();

  constructor(
    private readonly options: Options,
    private readonly hooks: KeeperHooks,
    private readonly random: () => number = Math.random,
  ) {}

  /** The token in hand, or null. */
  get current(): KeptToken | null {
    return this.held;
  }

  /** True while a refresh (or a forced one queued behind it) is pending. */
  get refreshing(): boolean {
    return this.flight !== null || this.queued !== null;
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
    return this.accept(result, false);
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
      const queued = this.flight
        .catch(() => undefined)
        .then(() => {
          if (this.queued === queued) this.queued = null;
          this.check(gen);
          return this.flight ?? this.start(reason);
        });
      this.queued = queued;
    }
    return this.queued;
  }

  /**
   * Takes a token obtained elsewhere (another tab's refresh) as if this keeper had refreshed: it becomes the held
   * token and `refreshed` fires. Returns null (with a warning) for a result that does not validate.
   */
  adopt(result: TokenResult): KeptToken | null {
    try {
      const token = this.accept(result, true);
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
    this.flight = null;
    this.queued = null;
    for (const cancel of [...this.cancels]) cancel();
    this.cancels.clear();
  }

  private start(reason: RefreshReason): Promise<KeptToken> {
    const flight = this.run(reason, this.generation).finally(() => {
      if (this.flight === flight) this.flight = null;
    });
    this.flight = flight;
    return flight;
  }

  private async run(reason: RefreshReason, gen: number): Promise<KeptToken> {
    const { retry } = this.options;
    for (let attempt = 1; ; attempt++) {
      this.hooks.attempt(reason, attempt);
      let failure: AuthedSocketError;
      try {
        const result = await this.call(
          (signal) => this.options.refresh({ reason, signal, attempt }),
          "refresh",
        );
        this.check(gen);
        if (result === null || result === undefined) throw new UnauthorizedError("refresh returned no token");
        const token = this.accept(result, true);
        this.hooks.refreshed(token);
        return token;
      } catch (error) {
        this.check(gen);
        if (error instanceof UnauthorizedError) throw error;
        failure =
          error instanceof AuthedSocketError
            ? error
            : new RefreshError("ERR_REFRESH_FAILED", `refresh failed: ${describeError(error)}`, {
                cause: error,
              });
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
        this.cancels.delete(cancel);
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
      this.cancels.add(cancel);
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
        this.cancels.delete(cancel);
        resolve();
      }, delayMs);
      this.cancels.add(cancel);
    });
  }

  private check(gen: number): void {
    if (gen !== this.generation) throw abandoned();
  }

  /**
   * When to refresh `token`. Besides margin and jitter, two floors stop refresh storms with very short tokens (JWT
   * times are whole seconds, so a "1-second" token issued late in a second may have 50 ms to live): a fresh token
   * is kept for at least half of the life it actually has left, and when a refresh brought no later expiry than the
   * token before it, the next refresh waits for that expiry, since until then the issuer would answer the same.
   */
  private refreshAtFor(token: HeldToken, fresh: boolean): number | null {
    const { expiresAt, lifetimeMs, receivedAt } = token;
    if (expiresAt === null || lifetimeMs === null) return null;
    const chosen = this.options.marginFor(lifetimeMs);
    // A margin function that returns NaN, a negative number or nothing must not disable the proactive refresh.
    const marginMs = Number.isFinite(chosen) && chosen >= 0 ? chosen : defaultMargin(lifetimeMs);
    const instant = refreshInstant({
      expiresAt,
      lifetimeMs,
      marginMs,
      jitter: this.options.jitter,
      random: this.random(),
    });
    if (!fresh) return instant;
    const previous = this.held?.expiresAt ?? null;
    if (previous !== null && expiresAt <= previous) return expiresAt;
    return Math.max(instant, receivedAt + (expiresAt - receivedAt) / 2);
  }

  /** Validates a provider result and makes it the held token. */
  private accept(result: Exclude<TokenResult, null | undefined> | unknown, fresh: boolean): KeptToken {
    const { value, extra } = parseResult(result);
    const now = this.options.clock.now();
    const mono = this.options.clock.monotonic?.();
    const { token, badExp } = anchorToken(value, extra, {
      now,
      fresh,
      skew: this.skew,
      ...(mono === undefined || Number.isNaN(mono) ? {} : { wallMinusMonotonic: now - mono }),
    });
    if (badExp) this.hooks.warn("the token's exp claim is not a number; it is treated as opaque");
    if (fresh && token.expiresAt !== null && token.expiresAt <= now)
      throw new RefreshError("ERR_INVALID_TOKEN", "refresh returned a token that has already expired");
    const kept: KeptToken = { ...token, fresh, refreshAt: this.refreshAtFor(token, fresh) };
    this.held = kept;
    return kept;
  }
}

function describeType(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
}

function finite(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value))
    throw new RefreshError(
      "ERR_INVALID_TOKEN",
      `the token's ${name} must be a finite number (got ${describeType(value)})`,
    );
  return value;
}

/** Never puts the value itself in a message: a malformed result may still contain a secret. */
function parseResult(result: unknown): { value: string; extra: { expiresAt?: number; expiresIn?: number } } {
  if (typeof result === "string" && result !== "") return { value: result, extra: {} };
  if (
    result !== null &&
    typeof result === "object" &&
    typeof (result as { token?: unknown }).token === "string"
  ) {
    const r = result as { token: string; expiresAt?: unknown; expiresIn?: unknown };
    const extra: { expiresAt?: number; expiresIn?: number } = {};
    const expiresAt = finite(r.expiresAt, "expiresAt");
    const expiresIn = finite(r.expiresIn, "expiresIn");
    if (expiresAt !== undefined) extra.expiresAt = expiresAt;
    if (expiresIn !== undefined) extra.expiresIn = expiresIn;
    if (r.token !== "") return { value: r.token, extra };
  }
  throw new RefreshError(
    "ERR_INVALID_TOKEN",
    `expected a non-empty string, { token, expiresAt?, expiresIn? } or null from the token provider (got ${describeType(result)})`,
  );
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
