import { RefreshError, UnauthorizedError } from "./errors.js";
import type { RefreshContext, TokenResult } from "./options.js";

type Awaitable<T> = T | Promise<T>;

// Derived from `RequestInit` (global in both the DOM lib and @types/node) so Node-only projects type-check too.
type HeadersInput = NonNullable<RequestInit["headers"]>;

/** A refresh request body: plain objects and arrays are sent as JSON, anything `fetch` accepts is sent as is. */
export type FetchRefreshBody =
  | NonNullable<RequestInit["body"]>
  | Record<string, unknown>
  | readonly unknown[];

/** Any fetch-compatible function: the global one, undici's, a wrapper that adds tracing. */
export type FetchFunction = (input: string | URL, init: RequestInit) => Promise<Response>;

export interface FetchRefreshOptions {
  /** The refresh endpoint. In a browser it may be relative to the page (`"/auth/refresh"`). */
  url: string | URL;

  /**
   * HTTP method. With `"GET"` or `"HEAD"` there can be no `body`.
   * @default "POST"
   */
  method?: string;

  /**
   * Whether cookies travel with the request. Use `"include"` when the refresh token is an HTTP-only cookie set by
   * another origin (e.g. `auth.example.com` for an app on `app.example.com`); the endpoint must then answer with
   * `Access-Control-Allow-Credentials: true` and an explicit `Access-Control-Allow-Origin`.
   * @default "same-origin"
   */
  credentials?: NonNullable<RequestInit["credentials"]>;

  /**
   * Request headers, or a function of the refresh context that returns them (possibly async, e.g. to read a
   * stored refresh token). `Accept: application/json` is added unless set here.
   * @default {}
   */
  headers?: HeadersInput | ((context: RefreshContext) => Awaitable<HeadersInput>);

  /**
   * Request body, or a function of the refresh context that returns it (possibly async). Plain objects and arrays
   * are JSON-encoded and sent with `Content-Type: application/json` (unless `headers` sets one); strings,
   * `URLSearchParams`, `FormData` and other fetch bodies are sent as is.
   * @default undefined (no body)
   */
  body?:
    | FetchRefreshBody
    | null
    | ((context: RefreshContext) => Awaitable<FetchRefreshBody | null | undefined>);

  /**
   * Turns the endpoint's JSON (from a 2xx answer) into a token. Return null to end the session. Throwing is treated
   * like any refresh failure (a `RefreshError` keeps its code; `UnauthorizedError` ends the session).
   * @default reads `accessToken`, `access_token` or `token`, and `expiresIn` or `expires_in` in **seconds**
   */
  parse?: (json: unknown, response: Response) => Awaitable<TokenResult>;

  /**
   * The fetch implementation. Pass one where there is no global `fetch`, or to add tracing.
   * @default globalThis.fetch, looked up at each call so instrumentation installed later still sees the request
   */
  fetch?: FetchFunction;
}

function fail(name: string, expected: string, value: unknown): never {
  const got = value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
  throw new TypeError(`authed-socket: refreshWithFetch option "${name}" must be ${expected} (got ${got})`);
}

/**
 * Builds a `refresh` for `createAuthedSocket` on `fetch`. How it maps the endpoint's answer:
 * - 2xx: `parse(json)`; not JSON, or no token field → `RefreshError("ERR_INVALID_TOKEN")` (retried).
 * - 401, 403, or 400 with OAuth's `{ "error": "invalid_grant" }` → `UnauthorizedError`: the session is over.
 * - 429, 503 → `RefreshError("ERR_REFRESH_FAILED")` with `retryAfterMs` when `Retry-After` is present.
 * - any other status, or a network failure → `RefreshError("ERR_REFRESH_FAILED")` (retried with backoff).
 * - the context's signal aborted (timeout, logout) → the abort is rethrown as is.
 *
 * Error messages never contain the response body: it may hold tokens.
 *
 * @example
 * ```ts
 * const client = createAuthedSocket(url, {
 *   refresh: refreshWithFetch({ url: "/auth/refresh", credentials: "include" }),
 * });
 * ```
 */
export function refreshWithFetch(
  options: FetchRefreshOptions,
): (context: RefreshContext) => Promise<TokenResult> {
  if (options === null || typeof options !== "object") fail("options", "an object", options);
  const { url, method = "POST", credentials = "same-origin", headers, body, parse = readToken } = options;
  if (!(url instanceof URL) && (typeof url !== "string" || url === ""))
    fail("url", "a non-empty string or a URL", url);
  if (typeof method !== "string" || method === "") fail("method", "a non-empty string", method);
  if (!["omit", "same-origin", "include"].includes(credentials))
    fail("credentials", '"omit", "same-origin" or "include"', credentials);
  if (
    headers !== undefined &&
    (headers === null || (typeof headers !== "object" && typeof headers !== "function"))
  )
    fail("headers", "an object or a function", headers);
  if (body != null && typeof body !== "string" && typeof body !== "object" && typeof body !== "function")
    fail("body", "a string, an object or a function", body);
  if (body != null && typeof body !== "function" && /^(GET|HEAD)$/i.test(method))
    fail("body", `absent with method ${method}`, body);
  if (typeof parse !== "function") fail("parse", "a function", parse);
  if (options.fetch === undefined && typeof globalThis.fetch !== "function")
    throw new TypeError(
      'authed-socket: refreshWithFetch option "fetch" is required here: this environment has no global fetch, pass one (e.g. undici\'s)',
    );
  if (options.fetch !== undefined && typeof options.fetch !== "function")
    fail("fetch", "a function", options.fetch);
  // Called as a plain function, never as `options.fetch(...)`: a browser's fetch throws "Illegal invocation" when
  // `this` is some other object.
  const send: FetchFunction = options.fetch ?? ((input, init) => globalThis.fetch(input, init));

  return async (context) => {
    const requestHeaders = new Headers(typeof headers === "function" ? await headers(context) : headers);
    if (!requestHeaders.has("accept")) requestHeaders.set("accept", "application/json");
    let payload = typeof body === "function" ? await body(context) : body;
    if (payload != null && (Array.isArray(payload) || isPlainObject(payload))) {
      payload = JSON.stringify(payload);
      if (!requestHeaders.has("content-type")) requestHeaders.set("content-type", "application/json");
    }
    const init: RequestInit = { method, credentials, headers: requestHeaders, signal: context.signal };
    if (payload != null) init.body = payload as NonNullable<RequestInit["body"]>;

    let response: Response;
    let text: string;
    try {
      response = await send(url, init);
      text = await response.text();
    } catch (error) {
      // A timeout or logout aborted the signal: the client owns that outcome, so it must see the abort itself.
      if (context.signal.aborted) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new RefreshError("ERR_REFRESH_FAILED", `the refresh request failed: ${reason}`, { cause: error });
    }

    const { status } = response;
    if (response.ok) {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        // No `cause`: a SyntaxError's message quotes the body, and the body may hold a token.
        const type = response.headers.get("content-type") ?? "none";
        throw new RefreshError(
          "ERR_INVALID_TOKEN",
          `the refresh endpoint did not return JSON (status ${status}, content-type ${type})`,
        );
      }
      return parse(json, response);
    }
    if (status === 401 || status === 403 || (status === 400 && oauthError(text) === "invalid_grant"))
      throw new UnauthorizedError(`the refresh endpoint answered ${status}: the session is over`);
    const retryAfterMs =
      status === 429 || status === 503 ? parseRetryAfter(response.headers.get("retry-after")) : null;
    throw new RefreshError(
      "ERR_REFRESH_FAILED",
      `the refresh endpoint answered ${status}`,
      retryAfterMs === null ? {} : { retryAfterMs },
    );
  };
}

function isPlainObject(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** The OAuth 2.0 `error` code of an error answer (RFC 6749 §5.2), or undefined. */
function oauthError(text: string): unknown {
  try {
    return (JSON.parse(text) as { error?: unknown } | null)?.error;
  } catch {
    return undefined;
  }
}

/** `Retry-After` as ms from now: delay-seconds or an HTTP date (RFC 9110 §10.2.3); null when absent or invalid. */
function parseRetryAfter(value: string | null): number | null {
  if (value === null) return null;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

const TOKEN_FIELDS = ["accessToken", "access_token", "token"] as const;

/** The default `parse`. Messages name fields and types, never values. */
function readToken(json: unknown): TokenResult {
  const fields = (json !== null && typeof json === "object" ? json : {}) as Record<string, unknown>;
  const token = TOKEN_FIELDS.map((name) => fields[name]).find(
    (value) => typeof value === "string" && value !== "",
  );
  if (typeof token !== "string")
    throw new RefreshError(
      "ERR_INVALID_TOKEN",
      `the refresh endpoint's JSON has no non-empty string field ${TOKEN_FIELDS.map((n) => `"${n}"`).join(", ")}`,
    );
  const name = fields.expiresIn !== undefined ? "expiresIn" : "expires_in";
  const seconds = fields[name];
  if (seconds === undefined || seconds === null) return token;
  // Some providers (Azure AD v1) send expires_in as a numeric string.
  const value = typeof seconds === "string" && seconds.trim() !== "" ? Number(seconds) : seconds;
  if (typeof value !== "number" || !Number.isFinite(value))
    throw new RefreshError(
      "ERR_INVALID_TOKEN",
      `the refresh endpoint's "${name}" must be a number of seconds`,
    );
  return { token, expiresIn: value * 1000 };
}
