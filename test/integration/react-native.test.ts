import { afterEach, expect, it } from "vitest";
import {
  type AppStateLike,
  type AuthedSocket,
  createAuthedSocket,
  reactNativeEnvironment,
} from "../../src/index.js";
import { startAuthServer } from "../helpers/auth-server.js";
import { signToken } from "../helpers/jwt.js";

/** React Native's AppState, reduced to what the adapter uses. */
function fakeAppState() {
  const listeners = new Set<(state: string) => void>();
  const appState: AppStateLike & { set(state: string): void; count(): number } = {
    addEventListener(_type, listener) {
      listeners.add(listener);
      return { remove: () => listeners.delete(listener) };
    },
    set(state) {
      for (const listener of [...listeners]) listener(state);
    },
    count: () => listeners.size,
  };
  return appState;
}

const clients: AuthedSocket[] = [];
const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
});

it("runs without window, document or navigator and re-checks the token when AppState turns active", async () => {
  const g = globalThis as Record<string, unknown>;
  expect([g.window, g.document, g.navigator]).toEqual([undefined, undefined, undefined]);

  const server = await startAuthServer();
  servers.push(server);
  const appState = fakeAppState();
  // "The phone slept in a pocket for ten minutes": the app's clock and the token issuer's both move forward, while
  // no timer of the app ran (its timers would fire late, if at all).
  let slept = 0;
  let refreshes = 0;
  const client = createAuthedSocket(server.url, {
    refresh: () => {
      refreshes++;
      return signToken({ ttlSec: 300, iat: Math.floor((Date.now() + slept) / 1000) });
    },
    environment: reactNativeEnvironment(appState),
    clock: { now: () => Date.now() + slept },
    logger: null,
  });
  clients.push(client);
  await client.waitFor("authenticated", { timeoutMs: 5000 });
  expect(refreshes).toBe(1);

  slept = 10 * 60_000;
  appState.set("background");
  appState.set("inactive");
  expect(refreshes).toBe(1); // only "active" means the app is back

  // Well inside the 30 s step of the refresh timer: only the resume signal can explain a refresh this soon.
  const refreshing = client.waitFor("refreshing", { timeoutMs: 1000 });
  appState.set("active");
  expect((await refreshing).reason).toBe("expiring");
  await client.waitFor("refreshed", { timeoutMs: 5000 });
  expect(refreshes).toBe(2);

  client.close();
  expect(appState.count()).toBe(0); // close() removed the AppState subscription
});

it("reactNativeEnvironment rejects something that is not AppState with a clear error", () => {
  expect(() => reactNativeEnvironment({} as AppStateLike)).toThrow(/AppState/);
});
