import { afterEach, describe, expect, it } from "vitest";
import { type AuthedSocket, createAuthedSocket } from "../../src/index.js";
import { startAuthServer } from "../helpers/auth-server.js";
import { signToken } from "../helpers/jwt.js";
import { waitUntil } from "../helpers/wait.js";

const clients: AuthedSocket[] = [];
const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
});

/** Paths of every string containing `needle` reachable from `root` (own properties, Maps, Sets; cycles handled). */
function findReachable(root: unknown, needle: string, maxDepth = 14, maxNodes = 200_000): string[] {
  const seen = new WeakSet<object>();
  const found: string[] = [];
  let nodes = 0;
  const walk = (value: unknown, path: string, depth: number): void => {
    if (typeof value === "string") {
      if (value.includes(needle)) found.push(path);
      return;
    }
    if ((typeof value !== "object" && typeof value !== "function") || value === null) return;
    if (seen.has(value) || depth > maxDepth || ++nodes > maxNodes) return;
    seen.add(value);
    if (value instanceof Map)
      for (const [k, v] of value) {
        walk(k, `${path}<key>`, depth + 1);
        walk(v, `${path}.get(${String(k)})`, depth + 1);
      }
    if (value instanceof Set) for (const v of value) walk(v, `${path}<item>`, depth + 1);
    if (ArrayBuffer.isView(value)) return;
    for (const key of Reflect.ownKeys(value)) {
      let inner: unknown;
      try {
        inner = (value as Record<string | symbol, unknown>)[key];
      } catch {
        continue;
      }
      walk(inner, `${path}.${String(key)}`, depth + 1);
    }
  };
  walk(root, "client", 0);
  return found;
}

describe("no token string remains reachable after the session ends", () => {
  for (const tokenIn of ["auth", "header", "query"] as const)
    for (const end of ["logout", "close"] as const)
      it(`tokenIn "${tokenIn}", after ${end}()`, async () => {
        const s = await startAuthServer({ tokenFrom: tokenIn });
        servers.push(s);
        const token = await signToken();
        const client = createAuthedSocket(s.url, {
          getToken: () => token,
          refresh: () => signToken(),
          tokenIn,
          logger: null,
        });
        clients.push(client);
        await client.waitFor("authenticated", { timeoutMs: 5000 });
        // The walk does see it while connected (in "auth" mode it lives only in the auth function's closure).
        if (tokenIn !== "auth") expect(findReachable(client, token).length).toBeGreaterThan(0);
        client[end]();
        // The WebSocket (whose URL carries the query) is dropped once the engine has flushed and closed.
        await waitUntil(() => client.socket.io.engine?.readyState === "closed", {
          what: "the engine to close",
        });
        expect(findReachable(client, token)).toEqual([]);
      });
});
