/**
 * AuthedSocketProvider against a real socket.io server with the companion and real JWTs: who owns the client, that
 * it is there from the first render, how many connections and refreshes StrictMode costs, and that re-renders never
 * recreate or reconnect the client.
 */
import { act, cleanup, render, waitFor } from "@testing-library/react";
import { Activity, Component, type ReactNode, StrictMode, useState } from "react";
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

/** What a Probe saw in one render: the client, and its state as the render read it. */
interface Seen {
  client: AuthedSocket;
  state: string;
}

/** Shows the state and records every client the provider hands out (in order, repeats included). */
function Probe({ seen, renders }: { seen: AuthedSocket[]; renders?: Seen[] }) {
  const client = useAuthedSocket();
  seen.push(client);
  // Read in render, not in an effect: what a component can use before anything committed.
  renders?.push({ client, state: client.state });
  const { state } = useAuthState();
  return <p data-testid="state">{state}</p>;
}

/** The distinct clients a Probe saw. */
const distinct = (seen: AuthedSocket[]) => [...new Set(seen)];

function onlyClient(seen: AuthedSocket[]): AuthedSocket {
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
  seen: AuthedSocket[];
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
  seen: AuthedSocket[];
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
  it("hands out its client in the very first render, connects it once at commit, and closes it on unmount", async () => {
    const server = await chatServer();
    const counted = countedOptions();
    const seen: AuthedSocket[] = [];
    const renders: Seen[] = [];
    const view = render(
      <AuthedSocketProvider url={server.url} options={counted.options}>
        <Probe seen={seen} renders={renders} />
      </AuthedSocketProvider>,
    );
    // The first render already has the client: created during render, idle, not connected (the commit connects it).
    expect(renders[0]?.client).toBeDefined();
    expect(renders[0]?.state).toBe("idle");
    await authenticated(view);
    const client = onlyClient(seen);
    expect(renders[0]?.client).toBe(client);
    await roundTrip(client);
    expect(counted.sockets()).toBe(1);
    expect(counted.opened()).toBe(1);
    expect(server.transports()).toBe(1);
    expect(server.handshakes()).toBe(1);
    expect(server.connected()).toBe(1);

    view.unmount();
    await waitFor(() => expect(client.state).toBe("closed"), { timeout: 5000 });
    await waitFor(() => expect(server.connected()).toBe(0), { timeout: 5000 });
  });

  it("StrictMode (double render, double effects): one client handed out, one connection, one handshake, one refresh", async () => {
    const server = await chatServer();
    const counted = countedOptions();
    const seen: AuthedSocket[] = [];
    const renders: Seen[] = [];
    const view = render(
      <StrictMode>
        <AuthedSocketProvider url={server.url} options={counted.options}>
          <Probe seen={seen} renders={renders} />
        </AuthedSocketProvider>
      </StrictMode>,
    );
    await authenticated(view);
    const client = onlyClient(seen);
    expect(renders[0]?.client).toBe(client);
    await roundTrip(client);
    // StrictMode calls the state initializer twice: the second client is discarded by React, never handed out,
    // never connected — the commit connects only the one it kept.
    expect(counted.sockets()).toBe(2);
    expect(counted.opened()).toBe(1);
    const discarded = counted.created.filter((socket) => socket !== client.socket);
    expect(discarded).toHaveLength(1);
    expect(discarded[0]?.connected).toBe(false);
    expect(discarded[0]?.io.engine).toBeUndefined();
    expect(counted.refreshes()).toBe(1);
    expect(server.transports()).toBe(1);
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
    const seen: AuthedSocket[] = [];
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
    expect(counted.opened()).toBe(1);
    expect(server.handshakes()).toBe(1);
    expect(server.connected()).toBe(1);
    expect(client.state).toBe("authenticated");
  });

  it("getToken and refresh changing identity: the latest ones are called next, without reconnecting", async () => {
    const server = await chatServer();
    const calls: string[] = [];
    const seen: AuthedSocket[] = [];
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

  it.each([
    ["", false],
    [" (StrictMode)", true],
  ])("a new url closes the old client and connects a new one to the new server%s", async (_, strict) => {
    const first = await chatServer();
    const second = await chatServer();
    const counted = countedOptions();
    const seen: AuthedSocket[] = [];
    const app = (url: string) => {
      const tree = (
        <AuthedSocketProvider url={url} options={counted.options}>
          <Probe seen={seen} />
        </AuthedSocketProvider>
      );
      return strict ? <StrictMode>{tree}</StrictMode> : tree;
    };
    const view = render(app(first.url));
    await authenticated(view);
    const old = onlyClient(seen);
    const before = seen.length;
    view.rerender(app(second.url));
    // Every render after the new url hands out the new client: the old one is never rendered with the new url.
    const after = distinct(seen.slice(before));
    expect(after).toHaveLength(1);
    const next = after[0] as AuthedSocket;
    expect(next).not.toBe(old);
    await authenticated(view);
    await roundTrip(next);
    await waitFor(() => expect(old.state).toBe("closed"), { timeout: 5000 });
    await waitFor(() => expect(first.connected()).toBe(0), { timeout: 5000 });
    expect(second.connected()).toBe(1);
    expect(first.handshakes()).toBe(1);
    expect(second.handshakes()).toBe(1);
    expect(second.transports()).toBe(1);
    // One client connected per url; any other a render created (StrictMode's discarded ones) never opened.
    expect(counted.opened()).toBe(2);
    expect(counted.created.filter((socket) => socket.io.engine !== undefined)).toEqual([
      old.socket,
      next.socket,
    ]);
    expect(distinct(seen)).toEqual([old, next]);
  });

  it("with the app's own socket.autoConnect: false, hands out the client and leaves connecting to the app", async () => {
    const server = await chatServer();
    const counted = countedOptions({ socket: { transports: ["websocket"], autoConnect: false } });
    const seen: AuthedSocket[] = [];
    const view = render(
      <StrictMode>
        <AuthedSocketProvider url={server.url} options={counted.options}>
          <Probe seen={seen} />
        </AuthedSocketProvider>
      </StrictMode>,
    );
    const client = onlyClient(seen);
    // Committed, and still idle: a round trip on another client proves the server had time to see a handshake.
    expect(view.getByTestId("state").textContent).toBe("idle");
    const other = createAuthedSocket(server.url, countedOptions().options);
    clients.push(other);
    await other.waitFor("authenticated", { timeoutMs: 5000 });
    await roundTrip(other);
    expect(counted.opened()).toBe(0);
    expect(server.handshakes()).toBe(1);

    act(() => client.connect());
    await authenticated(view);
    await roundTrip(client);
    expect(counted.opened()).toBe(1);
    expect(server.handshakes()).toBe(2);
    view.unmount();
    await waitFor(() => expect(client.state).toBe("closed"), { timeout: 5000 });
  });

  it("Activity hidden then visible: the hidden provider's client is closed, and a fresh one connects when shown", async () => {
    const server = await chatServer();
    const counted = countedOptions();
    const seen: AuthedSocket[] = [];
    const app = (mode: "visible" | "hidden") => (
      <Activity mode={mode}>
        <AuthedSocketProvider url={server.url} options={counted.options}>
          <Probe seen={seen} />
        </AuthedSocketProvider>
      </Activity>
    );
    const view = render(app("visible"));
    await authenticated(view);
    const first = onlyClient(seen);
    await roundTrip(first);

    view.rerender(app("hidden"));
    // Hiding runs the effects' cleanup, as an unmount does: the client is closed (a microtask later).
    await waitFor(() => expect(first.state).toBe("closed"), { timeout: 5000 });
    await waitFor(() => expect(server.connected()).toBe(0), { timeout: 5000 });

    view.rerender(app("visible"));
    await authenticated(view);
    const all = distinct(seen);
    expect(all).toHaveLength(2);
    const second = all[1] as AuthedSocket;
    expect(seen.at(-1)).toBe(second);
    await roundTrip(second);
    expect(second.state).toBe("authenticated");
    expect(server.handshakes()).toBe(2);
    expect(server.connected()).toBe(1);
    expect(counted.opened()).toBe(2);
  });
});

/** An error boundary that shows "failed" and records what it caught. */
class Boundary extends Component<{ caught: Error[]; children: ReactNode }, { failed: boolean }> {
  override state = { failed: false };
  static getDerivedStateFromError() {
    return { failed: true };
  }
  override componentDidCatch(error: Error) {
    this.props.caught.push(error);
  }
  override render() {
    return this.state.failed ? <p data-testid="state">failed</p> : this.props.children;
  }
}

describe("invalid options", () => {
  it("throw from the provider's render, so an error boundary above it catches them, and nothing connects", async () => {
    const server = await chatServer();
    const caught: Error[] = [];
    const quiet = console.error;
    console.error = () => {};
    try {
      const view = render(
        <Boundary caught={caught}>
          <AuthedSocketProvider
            url={server.url}
            options={{ refresh: 5 as unknown as AuthedSocketOptions["refresh"], logger: null }}
          >
            <Probe seen={[]} />
          </AuthedSocketProvider>
        </Boundary>,
      );
      expect(view.getByTestId("state").textContent).toBe("failed");
    } finally {
      console.error = quiet;
    }
    expect(caught[0]?.message).toMatch(/option "refresh" must be a function/);
  });
});

describe("a provider given a client", () => {
  it("hands out that client and never closes it, StrictMode and unmount included", async () => {
    const server = await chatServer();
    const counted = countedOptions();
    const client = createAuthedSocket(server.url, counted.options);
    clients.push(client);
    const seen: AuthedSocket[] = [];
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
