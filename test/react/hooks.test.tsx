/**
 * The hooks against a real socket.io server with the companion and real JWTs: useAuthState follows the lifecycle
 * without tearing, useSocketEvent and useLifecycleEvent subscribe once and call the latest handler, and every hook
 * outside a provider says so.
 */
import { act, cleanup, render, renderHook, waitFor } from "@testing-library/react";
import { Profiler, StrictMode, startTransition, useRef, useState } from "react";
import { afterEach, describe, expect, it } from "vitest";
import { type AuthedSocket, type AuthedSocketEvents, createAuthedSocket } from "../../src/index.js";
import {
  AuthedSocketProvider,
  type AuthState,
  useAuthedSocket,
  useAuthState,
  useLifecycleEvent,
  useSocketEvent,
} from "../../src/react/index.js";
import { signToken } from "../helpers/jwt.js";
import type { TestServer } from "../helpers/server.js";
import {
  type ChatServer,
  type ClientToServer,
  countedOptions,
  type ServerToClient,
  startChatServer,
} from "./support.js";

const servers: TestServer[] = [];
const clients: AuthedSocket[] = [];
afterEach(async () => {
  cleanup();
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
});

async function connectedClient(): Promise<{
  server: ChatServer;
  client: AuthedSocket<ServerToClient, ClientToServer>;
}> {
  const server = await startChatServer();
  servers.push(server);
  const client = createAuthedSocket<ServerToClient, ClientToServer>(server.url, countedOptions().options);
  clients.push(client as AuthedSocket);
  await client.waitFor("authenticated", { timeoutMs: 5000 });
  return { server, client };
}

/** A round trip on the socket: the server has sent everything it emitted before answering. */
async function roundTrip(client: AuthedSocket<ServerToClient, ClientToServer>): Promise<void> {
  expect(await client.socket.timeout(5000).emitWithAck("echo", "ping")).toBe("ping");
}

/** Renders useAuthState in a component, recording every value it rendered. */
function StateView({ seen }: { seen: AuthState[] }) {
  const auth = useAuthState();
  seen.push(auth);
  return <p data-testid="state">{`${auth.state} ${auth.expiresAt ?? "none"}`}</p>;
}

/** Burns a little time per render so a transition has to yield between readers. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

function Reader({ id, midRender }: { id: number; midRender: (() => void) | undefined }) {
  const { state } = useAuthState();
  busy(4);
  if (id === 3) midRender?.();
  return <span data-reader={id}>{state}</span>;
}

interface ReadersProps {
  count: number;
  onBump: (bump: () => void) => void;
  midRender: () => void;
}

/** `count` readers; after `bump()` (in a transition) the next render calls `midRender` once, in the middle. */
function Readers({ count, onBump, midRender }: ReadersProps) {
  const [round, setRound] = useState(0);
  onBump(() => setRound((n) => n + 1));
  const fired = useRef(false);
  const once =
    round === 1
      ? () => {
          if (fired.current) return;
          fired.current = true;
          midRender();
        }
      : undefined;
  return (
    <>
      {Array.from({ length: count }, (_, id) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: a fixed list of readers
        <Reader key={id} id={id} midRender={once} />
      ))}
    </>
  );
}

describe("useAuthState", () => {
  it("follows the client: connecting → authenticated with the token's expiry → a rotation moves expiresAt → logged_out with none", async () => {
    const server = await startChatServer();
    servers.push(server);
    let ttlSec = 60;
    const client = createAuthedSocket(server.url, {
      ...countedOptions().options,
      refresh: () => signToken({ subject: "state-user", ttlSec }),
      socket: { transports: ["websocket"], autoConnect: false },
    });
    clients.push(client);
    const seen: AuthState[] = [];
    const view = render(
      <AuthedSocketProvider client={client}>
        <StateView seen={seen} />
      </AuthedSocketProvider>,
    );
    expect(view.getByTestId("state").textContent).toBe("idle none");
    act(() => client.connect());
    await waitFor(() => expect(seen.at(-1)?.state).toBe("authenticated"), { timeout: 5000 });
    const first = seen.at(-1)?.expiresAt ?? 0;
    expect(first).toBe(client.expiresAt);
    expect(first).toBeGreaterThan(Date.now() + 50_000);
    expect(seen.map((s) => s.state)).toContain("connecting");

    ttlSec = 120;
    await act(() => client.refresh());
    await waitFor(() => expect(seen.at(-1)?.expiresAt).toBeGreaterThan(first + 50_000), { timeout: 5000 });
    expect(seen.at(-1)?.state).toBe("authenticated");

    act(() => client.logout());
    expect(view.getByTestId("state").textContent).toBe("logged_out none");
  });

  it("is tear-free: a store change in the middle of a concurrent render never commits readers that disagree", async () => {
    const { client } = await connectedClient();
    const commits: string[] = [];
    const onCommit = () => {
      const shown = Array.from(document.querySelectorAll("[data-reader]")).map((el) => el.textContent ?? "");
      commits.push([...new Set(shown)].join("|"));
    };
    let bump = () => {};
    render(
      <AuthedSocketProvider client={client}>
        <Profiler id="readers" onRender={onCommit}>
          <Readers
            count={12}
            onBump={(b) => {
              bump = b;
            }}
            // Half-way through the transition's render, the client logs out: readers rendered before it read
            // "authenticated", those after it "logged_out" — unless the hook makes React start over.
            midRender={() => setTimeout(() => client.logout(), 0)}
          />
        </Profiler>
      </AuthedSocketProvider>,
    );
    expect(commits.at(-1)).toBe("authenticated");
    const acting = (globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean | undefined })
      .IS_REACT_ACT_ENVIRONMENT;
    // A real concurrent render, which act() would flush in one go: React yields between readers.
    (globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean | undefined }).IS_REACT_ACT_ENVIRONMENT = false;
    try {
      startTransition(() => bump());
      await waitFor(() => expect(client.state).toBe("logged_out"), { timeout: 5000 });
      await waitFor(() => expect(commits.at(-1)).toBe("logged_out"), { timeout: 5000 });
    } finally {
      (globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean | undefined }).IS_REACT_ACT_ENVIRONMENT = acting;
    }
    expect(commits.filter((c) => c.includes("|"))).toEqual([]);
  });

  it("hands every reader the same snapshot object while nothing changes", async () => {
    const { client } = await connectedClient();
    const { result, rerender } = renderHook(() => useAuthState(), {
      wrapper: ({ children }) => <AuthedSocketProvider client={client}>{children}</AuthedSocketProvider>,
    });
    const first = result.current;
    for (let i = 0; i < 5; i++) rerender();
    expect(result.current).toBe(first);
    expect(first).toEqual({ state: "authenticated", expiresAt: client.expiresAt });
  });
});

/** Collects `message` texts (and the clients it was rendered with) and shows the state. */
function Messages({ got, seen }: { got: string[]; seen?: AuthedSocket<ServerToClient, ClientToServer>[] }) {
  seen?.push(useAuthedSocket<ServerToClient, ClientToServer>());
  useSocketEvent<ServerToClient, "message">("message", (text) => got.push(text));
  return <p data-testid="state">{useAuthState().state}</p>;
}

describe("useSocketEvent", () => {
  it("subscribes one listener, keeps it across re-renders with new handlers, calls the latest one, and removes it on unmount", async () => {
    const { server, client } = await connectedClient();
    const got: string[] = [];
    const { rerender, unmount } = renderHook(
      ({ tag }: { tag: string }) =>
        useSocketEvent<ServerToClient, "message">("message", (text, from) =>
          got.push(`${tag}:${from}:${text}`),
        ),
      {
        initialProps: { tag: "v1" },
        wrapper: ({ children }) => <AuthedSocketProvider client={client}>{children}</AuthedSocketProvider>,
      },
    );
    const listener = client.socket.listeners("message")[0];
    expect(client.socket.listeners("message")).toHaveLength(1);
    server.broadcast("one", "ann");
    await roundTrip(client);
    for (let i = 2; i <= 10; i++) rerender({ tag: `v${i}` });
    expect(client.socket.listeners("message")).toEqual([listener]);
    server.broadcast("two", "bob");
    await roundTrip(client);
    expect(got).toEqual(["v1:ann:one", "v10:bob:two"]);

    unmount();
    expect(client.socket.listeners("message")).toHaveLength(0);
    server.broadcast("three", "cy");
    await roundTrip(client);
    expect(got).toHaveLength(2);
  });

  it("StrictMode delivers every event exactly once", async () => {
    const { server, client } = await connectedClient();
    const got: string[] = [];
    render(
      <StrictMode>
        <AuthedSocketProvider client={client}>
          <Messages got={got} />
        </AuthedSocketProvider>
      </StrictMode>,
    );
    expect(client.socket.listeners("message")).toHaveLength(1);
    for (const text of ["a", "b", "c"]) server.broadcast(text);
    await roundTrip(client);
    expect(got).toEqual(["a", "b", "c"]);
  });

  it("with a provider that owns its client, listens from the first commit, before the provider connects", async () => {
    const server = await startChatServer();
    servers.push(server);
    const got: string[] = [];
    const seen: AuthedSocket<ServerToClient, ClientToServer>[] = [];
    const view = render(
      <StrictMode>
        <AuthedSocketProvider url={server.url} options={countedOptions().options}>
          <Messages got={got} seen={seen} />
        </AuthedSocketProvider>
      </StrictMode>,
    );
    // Committed: the child's listener is on the socket already (children's effects run before the provider's).
    const live = seen[0] as AuthedSocket<ServerToClient, ClientToServer>;
    expect(new Set(seen)).toEqual(new Set([live]));
    expect(live.socket.listeners("message")).toHaveLength(1);
    await waitFor(() => expect(view.getByTestId("state").textContent).toBe("authenticated"), {
      timeout: 5000,
    });
    server.broadcast("hello");
    await roundTrip(live);
    expect(got).toEqual(["hello"]);
  });
});

/** Records every state step as `from→to` and shows the state. */
function Steps({ steps }: { steps: string[] }) {
  useLifecycleEvent("state", ({ from, to }) => steps.push(`${from}→${to}`));
  return <p data-testid="state">{useAuthState().state}</p>;
}

describe("useLifecycleEvent", () => {
  it("delivers lifecycle events once each (StrictMode) to the latest handler, with their payloads", async () => {
    const { client } = await connectedClient();
    const got: string[] = [];
    const { rerender } = renderHook(
      ({ tag }: { tag: string }) =>
        useLifecycleEvent("logged_out", ({ reason }: AuthedSocketEvents["logged_out"]) =>
          got.push(`${tag}:${reason}`),
        ),
      {
        initialProps: { tag: "first" },
        wrapper: ({ children }) => (
          <StrictMode>
            <AuthedSocketProvider client={client}>{children}</AuthedSocketProvider>
          </StrictMode>
        ),
      },
    );
    rerender({ tag: "latest" });
    act(() => client.logout());
    expect(got).toEqual(["latest:logout"]);
  });

  it("with a provider that owns its client, sees the connect from its first step (idle → connecting)", async () => {
    const server = await startChatServer();
    servers.push(server);
    const steps: string[] = [];
    const view = render(
      <StrictMode>
        <AuthedSocketProvider url={server.url} options={countedOptions().options}>
          <Steps steps={steps} />
        </AuthedSocketProvider>
      </StrictMode>,
    );
    await waitFor(() => expect(view.getByTestId("state").textContent).toBe("authenticated"), {
      timeout: 5000,
    });
    expect(steps[0]).toBe("idle→connecting");
    expect(steps.at(-1)).toMatch(/→authenticated$/);
  });

  it("stops listening on unmount", async () => {
    const { client } = await connectedClient();
    const states: string[] = [];
    const { unmount } = renderHook(() => useLifecycleEvent("state", ({ to }) => states.push(to)), {
      wrapper: ({ children }) => <AuthedSocketProvider client={client}>{children}</AuthedSocketProvider>,
    });
    unmount();
    act(() => client.logout());
    expect(states).toEqual([]);
  });
});

describe("outside a provider", () => {
  it.each([
    ["useAuthedSocket", () => useAuthedSocket()],
    ["useAuthState", () => useAuthState()],
    ["useSocketEvent", () => useSocketEvent("message", () => {})],
    ["useLifecycleEvent", () => useLifecycleEvent("state", () => {})],
  ])("%s throws an error that names the hook and the missing provider", (name, hook) => {
    // React reports the render error on the console as well; the thrown error is what the app sees.
    const quiet = console.error;
    console.error = () => {};
    try {
      expect(() => renderHook(hook)).toThrow(
        `authed-socket/react: ${name}() must be used inside <AuthedSocketProvider>`,
      );
    } finally {
      console.error = quiet;
    }
  });
});
