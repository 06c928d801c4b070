// @vitest-environment node
/**
 * Server rendering in plain Node, as Next.js or a hand-made SSR server does it: no window, no document. The provider
 * must render its children with a client, open no connection and leave nothing running: it creates the client in
 * render with `autoConnect: false` (inert until connected), and connects it in an effect, which the server never
 * runs.
 */
import { renderToString } from "react-dom/server";
import { afterEach, expect, it } from "vitest";
import type { AuthedSocket } from "../../src/index.js";
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

function Page({ seen }: { seen: AuthedSocket[] }) {
  const client = useAuthedSocket();
  seen.push(client);
  const { state, expiresAt } = useAuthState();
  useSocketEvent<ServerToClient, "message">("message", () => {});
  useLifecycleEvent("logged_out", () => {});
  return (
    <main>
      <p id="state">{state}</p>
      <p id="expires">{expiresAt ?? "none"}</p>
      <p id="client">{`client ${client.state}, socket ${client.socket.connected ? "connected" : "not connected"}`}</p>
    </main>
  );
}

/** Timers, sockets and other handles keeping the process alive, by kind. */
function handles(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) out[kind] = (out[kind] ?? 0) + 1;
  return out;
}

it("renderToString with no window: no throw, an idle client in render, no connection, no handshake, no timer or socket left", async () => {
  expect(typeof window).toBe("undefined");
  expect(typeof document).toBe("undefined");
  const server = await startChatServer();
  servers.push(server);
  const counted = countedOptions();
  const seen: AuthedSocket[] = [];
  const before = handles();

  const html = renderToString(
    <AuthedSocketProvider url={server.url} options={counted.options}>
      <Page seen={seen} />
    </AuthedSocketProvider>,
  );

  expect(html).toContain('<p id="state">idle</p>');
  expect(html).toContain('<p id="expires">none</p>');
  expect(html).toContain('<p id="client">client idle, socket not connected</p>');
  // One client, created in render; its socket.io socket exists and was never opened.
  expect(new Set(seen).size).toBe(1);
  expect(seen[0]?.state).toBe("idle");
  expect(counted.sockets()).toBe(1);
  expect(counted.opened()).toBe(0);
  expect(counted.created[0]?.io.engine).toBeUndefined();
  expect(counted.refreshes()).toBe(0);
  expect(handles()).toEqual(before);
  // Whatever a render might have scheduled has had its turn: still no handshake, nothing new alive.
  await new Promise<void>((resolve) => setImmediate(resolve));
  expect(server.transports()).toBe(0);
  expect(server.handshakes()).toBe(0);
  expect(server.connected()).toBe(0);
  expect(seen[0]?.state).toBe("idle");
  expect(handles()).toEqual(before);
});
