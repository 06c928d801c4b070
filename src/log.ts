import type { Logger } from "./options.js";

/** Anything shaped like a JWT (three base64url segments, the first a JSON header). */
const JWT_PATTERN = /eyJ[\w-]*\.[\w-]*\.[\w-]*/g;
const REDACTED = "[redacted]";

/** Replaces every known secret and anything JWT-shaped in a string. */
export function redactText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 8) out = out.split(secret).join(REDACTED);
  return out.replace(JWT_PATTERN, REDACTED);
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

/**
 * Wraps the user's logger so that nothing it receives contains a token: the current tokens are replaced
 * literally, and any JWT-shaped string by pattern, in messages and in details (errors, nested objects).
 */
export function createLog(logger: Logger, secrets: () => readonly string[]): Log {
  const level =
    (name: keyof Logger) =>
    (message: string, ...details: unknown[]) => {
      const sink = logger[name];
      if (!sink) return;
      const known = secrets();
      sink.call(
        logger,
        `authed-socket: ${redactText(message, known)}`,
        ...details.map((d) => redactValue(d, known)),
      );
    };
  return { debug: level("debug"), info: level("info"), warn: level("warn"), error: level("error") };
}
