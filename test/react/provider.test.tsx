/**
 * AuthedSocketProvider against a real socket.io server with the companion and real JWTs: who owns the client, how
 * many connections and refreshes StrictMode costs, and that re-renders never recreate or reconnect the client.
 */
import { act, cleanup, render, waitFor } from "@testing-library/react";
import { StrictMode, useState } from "react";
import { afterEach, describe, expect, it } from "vitest";
import {
  type AuthedSocket,
  type AuthedSocketOptions,
  createAuthedSocket,
  type SocketIoOptions,
} from "../../src/index.js";
import { AuthedSocketProvider, useAuthedSocket, useAuthState } from "../../src/react/index.js";
import { signToken } from "../helpers/jwt.js";
import type { TestServer } from "../helpers/server.js";
import { type ChatServer, countedOptions, startChatServer } from "./support.js";

const servers: TestServer[] = [];
const clients: AuthedSocket[] = [];
afterEach(async () => {
  cleanup();
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
});

async function chatServer(): Promise<ChatServer> {
  const server = await startChatServer();
  servers.push(server);
  return server;
}

/** Shows the state and records every client the provider hands out (in order, repeats included). */
function Probe({ seen }: { seen: (AuthedSocket | null)[] }) {
  seen.push(useAuthedSocket());
  const { state } = useAuthState();
  return <p data-testid="state">{state}</p>;
}

/** The distinct clients a Probe saw, nulls left out. */
const distinct = (seen: (AuthedSocket | null)[]) => [...new Set(seen.filter((c) => c !== null))];

function onlyClient(seen: (AuthedSocket | null)[]): AuthedSocket {
  const all = distinct(seen);
  expect(all).toHaveLength(1);
  return all[0] as AuthedSocket;
}

const authenticated = (view: ReturnType<typeof render>) =>
  waitFor(() => expect(view.getByTestId("state").textContent).toBe("authenticated"), { timeout: 5000 });

/** A round trip on the client's socket: once it returns, the server has processed everything sent before it. */
async function roundTrip(client: AuthedSocket): Promise<void> {
  expect(await client.socket.timeout(5000).emitWithAck("echo", "ping")).toBe("ping");
}

interface InlineProps {
  url: string;
  seen: (AuthedSocket | null)[];
  io: NonNullable<AuthedSocketOptions["io"]>;
  onRender: (rerender: () => void) => void;
}

/** Passes a fresh options object, with fresh functions, on every render — as apps write it inline. */
function InlineOptionsApp({ url, seen, io, onRender }: InlineProps) {
  const [n, setN] = useState(0);
  onRender(() => setN((x) => x + 1));
  return (
    <AuthedSocketProvider
      url={url}
      options={{
        refresh: () => signToken({ subject: "inline-user", claims: { render: n }, ttlSec: 60 }),
        logger: null,
        socket: { transports: ["websocket"] },
        io: (target: string, options: SocketIoOptions) => io(target, options),
      }}
    >
      <Probe seen={seen} />
    </AuthedSocketProvider>
  );
}

interface VersionedProps {
  url: string;
  seen: (AuthedSocket | null)[];
  calls: string[];
  onRender: (setVersion: (version: number) => void) => void;
}

/** getToken and refresh are new closures every render and record which render's version ran. */
function VersionedCallbacksApp({ url, seen, calls, onRender }: VersionedProps) {
  const [version, setVersion] = useState(1);
  onRender(setVersion);
  const options: AuthedSocketOptions = {
    getToken: () => {
      calls.push(`getToken v${version}`);
      return null;
    },
    refresh: () => {
      calls.push(`refresh v${version}`);
      return signToken({ subject: "rotating-user", ttlSec: 60 });
    },
    logger: null,
    socket: { transports: ["websocket"] },
  };
  return (
    <AuthedSocketProvider url={url} options={options}>
      <Probe seen={seen} />
    </AuthedSocketProvider>
  );
}

describe("a provider that owns its client", () => {
  it("creates one client after the first render, connects once, and closes it on unmount", async () => {
    const server = await chatServer();
    const counted = countedOptions();
    const seen: (AuthedSocket | null)[] = [];
    const view = render(
      <AuthedSocketProvider url={server.url} options={counted.options}>
        <Probe seen={seen} />
      </AuthedSocketProvider>,
    );
    // The first render has no client yet: it is created in the commit, never during render.
    expect(seen[0]).toBeNull();
    await authenticated(view);
    const client = onlyClient(seen);
    await roundTrip(client);
    expect(counted.sockets()).toBe(1);
    expect(server.handshakes()).toBe(1);
    expect(server.connected()).toBe(1);

    view.unmount();
    await waitFor(() => expect(client.state).toBe("closed"), { timeout: 5000 });
    await waitFor(() => expect(server.connected()).toBe(0), { timeout: 5000 });
  });

  it("StrictMode (double render, double effects): one client, one handshake, one refresh, one connection", async () => {
    const server = await chatServer();
    const counted = countedOptions();
    const seen: (AuthedSocket | null)[] = [];
    const view = render(
      <StrictMode>
        <AuthedSocketProvider url={server.url} options={counted.options}>
          <Probe seen={seen} />
        </AuthedSocketProvider>
      </StrictMode>,
    );
    await authenticated(view);
    const client = onlyClient(seen);
    await roundTrip(client);
    expect(counted.sockets()).toBe(1);
    expect(counted.refreshes()).toBe(1);
    expect(server.handshakes()).toBe(1);
    expect(server.connected()).toBe(1);
    expect(client.state).toBe("authenticated");

    view.unmount();
    await waitFor(() => expect(client.state).toBe("closed"), { timeout: 5000 });
    await waitFor(() => expect(server.connected()).toBe(0), { timeout: 5000 });
  });

  it("a new inline options object on every render neither recreates nor reconnects the client", async () => {
    const server = await chatServer();
    const counted = countedOptions();
    const seen: (AuthedSocket | null)[] = [];
    let rerender = () => {};
    const view = render(
      <InlineOptionsApp
        url={server.url}
        seen={seen}
        io={counted.options.io!}
        onRender={(r) => {
          rerender = r;
        }}
      />,
    );
    await authenticated(view);
    for (let i = 0; i < 20; i++) act(() => rerender());
    expect(seen.length).toBeGreaterThan(20);
    const client = onlyClient(seen);
    await roundTrip(client);
    expect(counted.sockets()).toBe(1);
    expect(server.handshakes()).toBe(1);
    expect(server.connected()).toBe(1);
    expect(client.state).toBe("authenticated");
  });

  it("getToken and refresh changing identity: the latest ones are called next, without reconnecting", async () => {
    const server = await chatServer();
    const calls: string[] = [];
    const seen: (AuthedSocket | null)[] = [];
    let setVersion: (version: number) => void = () => {};
    const view = render(
      <VersionedCallbacksApp
        url={server.url}
        seen={seen}
        calls={calls}
        onRender={(set) => {
          setVersion = set;
        }}
      />,
    );
    await authenticated(view);
    const client = onlyClient(seen);
    expect(calls).toEqual(["getToken v1", "refresh v1"]);
    const vias: string[] = [];
    client.on("authenticated", ({ via }) => void vias.push(via));

    act(() => setVersion(2));
    await act(() => client.refresh());
    await waitFor(() => expect(vias).toEqual(["in-band"]), { timeout: 5000 });
    expect(calls.at(-1)).toBe("refresh v2");

    act(() => setVersion(3));
    await act(() => client.refresh());
    await waitFor(() => expect(vias).toEqual(["in-band", "in-band"]), { timeout: 5000 });
    expect(calls.filter((c) => c.startsWith("refresh"))).toEqual(["refresh v1", "refresh v2", "refresh v3"]);
    await roundTrip(client);
    expect(server.handshakes()).toBe(1);
    expect(client.state).toBe("authenticated");
  });

  it("a new url closes the old client and connects a new one to the new server", async () => {
    const first = await chatServer();
    const second = await chatServer();
    const counted = countedOptions();
    const seen: (AuthedSocket | null)[] = [];
    const view = render(
      <AuthedSocketProvider url={first.url} options={counted.options}>
        <Probe seen={seen} />
      </AuthedSocketProvider>,
    );
    await authenticated(view);
    const old = onlyClient(seen);
    view.rerender(
      <AuthedSocketProvider url={second.url} options={counted.options}>
        <Probe seen={seen} />
      </AuthedSocketProvider>,
    );
    await waitFor(() => expect(second.connected()).toBe(1), { timeout: 5000 });
    await waitFor(() => expect(old.state).toBe("closed"), { timeout: 5000 });
    await waitFor(() => expect(first.connected()).toBe(0), { timeout: 5000 });
    expect(distinct(seen)).toHaveLength(2);
    expect(seen.at(-1)).not.toBe(old);
  });
});

describe("a provider given a client", () => {
  it("hands out that client and never closes it, StrictMode and unmount included", async () => {
    const server = await chatServer();
    const counted = countedOptions();
    const client = createAuthedSocket(server.url, counted.options);
    clients.push(client);
    const seen: (AuthedSocket | null)[] = [];
    const view = render(
      <StrictMode>
        <AuthedSocketProvider client={client}>
          <Probe seen={seen} />
        </AuthedSocketProvider>
      </StrictMode>,
    );
    expect(seen[0]).toBe(client);
    await authenticated(view);
    expect(onlyClient(seen)).toBe(client);
    view.unmount();
    // Still usable after the provider is gone: a round trip proves the connection was left open.
    await roundTrip(client);
    expect(client.state).toBe("authenticated");
    expect(server.handshakes()).toBe(1);
    expect(counted.sockets()).toBe(1);
  });
});
