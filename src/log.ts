/** A sink for diagnostics. Every message is redacted (no token ever reaches it). */
export interface Logger {
  debug?(message: string, ...details: unknown[]): void;
  info?(message: string, ...details: unknown[]): void;
  warn?(message: string, ...details: unknown[]): void;
  error?(message: string, ...details: unknown[]): void;
}

const REDACTED = "[redacted]";
/** Longest text handed to the logger per string; server text can be arbitrarily long. */
export const MAX_LOGGED_LENGTH = 2048;

const isTokenChar = (c: number) =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 95;

/** End of the run of base64url characters starting at `from`. */
function runEnd(text: string, from: number): number {
  let i = from;
  while (i < text.length && isTokenChar(text.charCodeAt(i))) i++;
  return i;
}

/**
 * Replaces anything shaped like a JWT (`eyJ` then three dot-separated base64url segments) in one left-to-right pass.
 * A regular expression here backtracks from every `eyJ` (quadratic on hostile server text); this never revisits a
 * character: a failed candidate's run contains no other start that could succeed.
 */
function redactJwtShapes(text: string): string {
  let out = "";
  let copied = 0;
  let at = text.indexOf("eyJ");
  while (at !== -1) {
    const first = runEnd(text, at);
    let end = -1;
    if (text.charCodeAt(first) === 46) {
      const second = runEnd(text, first + 1);
      if (text.charCodeAt(second) === 46) end = runEnd(text, second + 1);
    }
    if (end === -1) {
      at = text.indexOf("eyJ", Math.max(first, at + 1));
      continue;
    }
    out += text.slice(copied, at) + REDACTED;
    copied = end;
    at = text.indexOf("eyJ", end);
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/** Replaces every known secret and anything JWT-shaped in a string, then bounds its length. Linear time. */
export function redactText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 8) out = out.split(secret).join(REDACTED);
  out = redactJwtShapes(out);
  return out.length > MAX_LOGGED_LENGTH ? `${out.slice(0, MAX_LOGGED_LENGTH)}… [${out.length} chars]` : out;
}

function redactValue(value: unknown, secrets: readonly string[], depth = 0): unknown {
  if (typeof value === "string") return redactText(value, secrets);
  if (value instanceof Error) {
    const copy = new Error(redactText(value.message, secrets));
    copy.name = value.name;
    return copy;
  }
  if (value === null || typeof value !== "object") return value;
  // Deeper than this is not worth walking, and must not reach the logger unredacted.
  if (depth > 3) return "[nested]";
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) out[key] = redactValue(inner, secrets, depth + 1);
  return out;
}

export type Log = Required<{ [K in keyof Logger]: (message: string, ...details: unknown[]) => void }>;

/** Where a log reads the tokens to redact, at every line. */
interface SecretSource {
  secrets(): readonly string[];
}

/** Hands one line to the logger's `name` method, if it has one, with the message and the details redacted. */
function write(
  logger: Logger,
  name: keyof Logger,
  source: SecretSource,
  message: string,
  details: unknown[],
) {
  const sink = logger[name];
  if (!sink) return;
  const known = source.secrets();
  sink.call(
    logger,
    `authed-socket: ${redactText(message, known)}`,
    ...details.map((d) => redactValue(d, known)),
  );
}

/**
 * Wraps the user's logger so that nothing it receives contains a token: the current tokens are replaced
 * literally, and any JWT-shaped string by pattern, in messages and in details (errors, nested objects). Its methods
 * may be called detached (`const warn = createLog(…).warn`).
 */
export function createLog(logger: Logger, secrets: () => readonly string[]): Log {
  const source = { secrets };
  const level =
    (name: keyof Logger) =>
    (message: string, ...details: unknown[]) =>
      write(logger, name, source, message, details);
  return { debug: level("debug"), info: level("info"), warn: level("warn"), error: level("error") };
}

/**
 * `createLog` as a class, for the client: one object per client and no closure, its methods on the prototype (call
 * them on the log, not detached). `source.secrets()` names the tokens to redact.
 */
export class RedactingLog implements Log {
  constructor(
    private readonly logger: Logger,
    private readonly source: SecretSource,
  ) {}
  debug(message: string, ...details: unknown[]): void {
    write(this.logger, "debug", this.source, message, details);
  }
  info(message: string, ...details: unknown[]): void {
    write(this.logger, "info", this.source, message, details);
  }
  warn(message: string, ...details: unknown[]): void {
    write(this.logger, "warn", this.source, message, details);
  }
  error(message: string, ...details: unknown[]): void {
    write(this.logger, "error", this.source, message, details);
  }
}

/** Strings up to this long are quoted in error messages; longer ones are described by their length only. */
const MAX_SHOWN_STRING = 32;

/**
 * A value as an error message may show it: numbers, booleans and short strings as they are (JWT-shaped text
 * redacted), everything else by its kind. A function's body, an object's contents and a long string (which may be an
 * opaque token) are never printed.
 */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  switch (typeof value) {
    case "number":
    case "boolean":
    case "undefined":
      return String(value);
    case "bigint":
      return `${value}n`;
    case "string": {
      if (value.length > MAX_SHOWN_STRING) return `a string of ${value.length} characters`;
      return JSON.stringify(redactText(value, []));
    }
    case "function":
      return "a function";
    case "symbol":
      return "a symbol";
    default:
      return "an object";
  }
}

/** The kind of a value alone ("a number", "an object", "null"), for values that may themselves be secrets. */
export function describeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  const type = typeof value;
  return type === "undefined" ? "undefined" : /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/** An error as socket.io-client reports it (`connect_error`): a transport failure or a server refusal. */
export type SocketError = Error & { data?: unknown; description?: unknown; type?: unknown };

/** "xhr poll error (no HTTP response)", "websocket error (connect ECONNREFUSED 127.0.0.1:1)". */
export function describeTransportError(error: SocketError): string {
  const d = error.description;
  let detail = "";
  if (typeof d === "number") detail = d === 0 ? "no HTTP response" : `HTTP ${d}`;
  else if (d instanceof Error || (isObject(d) && typeof d.message === "string"))
    detail = String((d as { message: string }).message);
  else if (isObject(d) && isObject(d.error) && typeof d.error.message === "string") detail = d.error.message;
  return detail && !error.message.includes(detail) ? `${error.message} (${detail})` : error.message;
}

/** A refusal as the server said it: its message and, when present, its `data.code`. */
export function describeRefusal(error: SocketError): string {
  const code = isObject(error.data) && typeof error.data.code === "string" ? error.data.code : undefined;
  const message = JSON.stringify(error.message);
  return code && !error.message.includes(code) ? `${message} (code ${code})` : message;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object";
}
