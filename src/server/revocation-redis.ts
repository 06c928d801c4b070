/**
 * A revocation store in Redis, shared by every node of a cluster. Two kinds of key per subject, each with a TTL
 * set to when the tokens it covers expire, so Redis forgets them by itself:
 * `<prefix>b:<subject>` = `"<issuedBefore ms>|<reason>"` and `<prefix>j:<subject length>:<subject>:<jti>` = reason.
 * A check is one `MGET`; a revocation one `EVAL` (keep the later instant and the longer TTL, atomically).
 */
import { type ServerClock, systemClock } from "./clock.js";
import { checkRevocation, issuedBeforeCovers, type RevocationStore } from "./revocation.js";

/**
 * The one call the store needs from a Redis client: a raw command. node-redis v4 clients have it as is
 * (`createClient()`); for ioredis pass `{ sendCommand: (args) => redis.call(args[0], ...args.slice(1)) }`.
 */
export interface RedisCommandClient {
  sendCommand(args: string[]): Promise<unknown>;
}

/** Options of {@link redisRevocationStore}. */
export interface RedisRevocationStoreOptions {
  /** A connected client (node-redis v4, or anything with `sendCommand`). The store never closes it. */
  client: RedisCommandClient;
  /**
   * Prefix of every key, so several apps can share one Redis.
   * @default "authed-socket:revoked:"
   */
  prefix?: string;
  /** Clock that turns expiry instants into TTLs. @default the system clock */
  clock?: ServerClock;
}

/** Keeps the later "issued before" instant (and its reason) and the longer TTL; a jti entry keeps the longer TTL. */
const ADD_SCRIPT = `
local value = ARGV[1]
local current = redis.call('GET', KEYS[1])
if current and ARGV[3] == 'before' then
  local at = tonumber(string.match(current, '^(%d+)|'))
  if at and at > tonumber(string.match(value, '^(%d+)|')) then value = current end
end
local ttl = tonumber(ARGV[2])
local left = redis.call('PTTL', KEYS[1])
if left > ttl then ttl = left end
redis.call('SET', KEYS[1], value, 'PX', ttl)
return 1
`;

/**
 * Revocations kept in Redis for a cluster: a revocation made on one node covers handshakes, in-band refreshes and
 * restored sessions on every node at once. About 210 bytes of Redis memory per revoked user (see bench
 * `revocation`). A Redis that does not answer refuses the check with `UNAVAILABLE` (fail closed).
 *
 * @example
 * ```ts
 * import { createClient } from "redis";
 * const redis = createClient({ url: process.env.REDIS_URL });
 * await redis.connect();
 * const auth = authenticate({ verify, revocations: redisRevocationStore({ client: redis }) });
 * ```
 */
export function redisRevocationStore(options: RedisRevocationStoreOptions): RevocationStore {
  if (typeof options !== "object" || options === null)
    throw new TypeError("redisRevocationStore: options must be an object with a `client`");
  const { client, prefix = "authed-socket:revoked:", clock = systemClock } = options;
  if (typeof client?.sendCommand !== "function")
    throw new TypeError(
      "redisRevocationStore: `client` must have sendCommand(args) (a node-redis v4 client, connected)",
    );
  if (typeof prefix !== "string") throw new TypeError("redisRevocationStore: `prefix` must be a string");
  const beforeKey = (subject: string) => `${prefix}b:${subject}`;
  const jtiKey = (subject: string, jti: string) => `${prefix}j:${subject.length}:${subject}:${jti}`;

  return {
    async add(revocation) {
      const { subject, issuedBefore, jti, reason, expiresAt } = checkRevocation(revocation);
      const ttl = Math.ceil(expiresAt - clock.now());
      if (ttl <= 0) return;
      const writes: Array<Promise<unknown>> = [];
      if (issuedBefore !== undefined)
        // Rounded up: coverage is `iat * 1000 < issuedBefore`, and rounding must never uncover a token.
        writes.push(
          client.sendCommand([
            "EVAL",
            ADD_SCRIPT,
            "1",
            beforeKey(subject),
            `${Math.ceil(issuedBefore)}|${reason}`,
            String(ttl),
            "before",
          ]),
        );
      if (jti !== undefined)
        writes.push(
          client.sendCommand(["EVAL", ADD_SCRIPT, "1", jtiKey(subject, jti), reason, String(ttl), "jti"]),
        );
      await Promise.all(writes);
    },
    async find(subject, token) {
      const jti = typeof token.jti === "string" && token.jti.length > 0 ? token.jti : undefined;
      const keys = jti === undefined ? [beforeKey(subject)] : [beforeKey(subject), jtiKey(subject, jti)];
      const values = await client.sendCommand(["MGET", ...keys]);
      if (!Array.isArray(values)) throw new Error("redisRevocationStore: MGET did not return an array");
      const [before, byJti] = values as unknown[];
      if (typeof byJti === "string") return byJti;
      if (typeof before === "string") {
        const bar = before.indexOf("|");
        const at = Number(before.slice(0, bar));
        if (bar > 0 && issuedBeforeCovers(at, token.iat)) return before.slice(bar + 1);
      }
      return undefined;
    },
  };
}
