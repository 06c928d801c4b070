// @vitest-environment node
/**
 * Server rendering in plain Node, as Next.js or a hand-made SSR server does it: no window, no document. The provider
 * must render its children, open no connection and leave nothing running (the client is created only in an
 * effect, and effects do not run on the server).
 */
import { renderToString } from "react-dom/server";
import { afterEach, expect, it } from "vitest";
import {
  AuthedSocketProvider,
  useAuthedSocket,
  useAuthState,
  useLifecycleEvent,
  useSocketEvent,
} from "../../src/react/index.js";
import type { TestServer } from "../helpers/server.js";
import { countedOptions, type ServerToClient, startChatServer } from "./support.js";

const servers: TestServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

function Page() {
  const client = useAuthedSocket();
  const { state, expiresAt } = useAuthState();
  useSocketEvent<ServerToClient, "message">("message", () => {});
  useLifecycleEvent("logged_out", () => {});
  return (
    <main>
      <p id="state">{state}</p>
      <p id="expires">{expiresAt ?? "none"}</p>
      <p id="client">{client === null ? "no client on the server" : "client"}</p>
    </main>
  );
}

/** Timers, sockets and other handles keeping the process alive, by kind. */
function handles(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) out[kind] = (out[kind] ?? 0) + 1;
  return out;
}

it("renderToString with no window: no throw, idle state, no socket created, no handshake, no timer or socket left", async () => {
  expect(typeof window).toBe("undefined");
  expect(typeof document).toBe("undefined");
  const server = await startChatServer();
  servers.push(server);
  const counted = countedOptions();
  const before = handles();

  const html = renderToString(
    <AuthedSocketProvider url={server.url} options={counted.options}>
      <Page />
    </AuthedSocketProvider>,
  );

  expect(html).toContain('<p id="state">idle</p>');
  expect(html).toContain('<p id="expires">none</p>');
  expect(html).toContain("no client on the server");
  expect(counted.sockets()).toBe(0);
  expect(counted.refreshes()).toBe(0);
  expect(handles()).toEqual(before);
  // Whatever a render might have scheduled has had its turn: still no handshake, nothing new alive.
  await new Promise<void>((resolve) => setImmediate(resolve));
  expect(server.handshakes()).toBe(0);
  expect(server.connected()).toBe(0);
  expect(handles()).toEqual(before);
});
