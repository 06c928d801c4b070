/**
 * The React example: a small chat on the demo server. The login screen posts to `/login`; the chat screen lives
 * inside <AuthedSocketProvider>, which owns the client: it shows the state, the access token's remaining life
 * (counting down and jumping back on every rotation), acknowledged messages and what the client did. Logging out —
 * or being logged out by the server — unmounts the provider, which closes the client, and shows the login screen.
 *
 * In your own app, import from "authed-socket" and "authed-socket/react" instead of the source paths.
 */
import { type FormEvent, useEffect, useRef, useState } from "react";
import { UnauthorizedError } from "../../src/index.js";
import {
  AuthedSocketProvider,
  useAuthedSocket,
  useAuthState,
  useLifecycleEvent,
  useSocketEvent,
} from "../../src/react/index.js";

interface ServerToClient {
  chat: (message: { from: string; text: string }) => void;
}
interface ClientToServer {
  chat: (text: string, ack: (reply: { ok: boolean; seq: number }) => void) => void;
}

interface Session {
  user: string;
  accessToken: string;
  refreshToken: string;
  expiresInSec: number;
}

async function post(path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  const init: RequestInit = {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  };
  if (signal) init.signal = signal;
  return fetch(path, init);
}

export function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [ended, setEnded] = useState<string | null>(null);
  // The refresh token rotates on every use; the latest one lives here, outside React's render cycle.
  const refreshToken = useRef("");

  if (!session) {
    return (
      <Login
        ended={ended}
        onLogin={(s) => {
          refreshToken.current = s.refreshToken;
          setEnded(null);
          setSession(s);
        }}
      />
    );
  }
  return (
    <AuthedSocketProvider
      url={location.origin}
      // Inline on purpose: a new object every render neither recreates nor reconnects the client.
      options={{
        // The token /login returned is used for the first handshake; refresh supplies every later one.
        getToken: () => ({ token: session.accessToken, expiresIn: session.expiresInSec * 1000 }),
        refresh: async ({ signal }) => {
          const res = await post("/refresh", { refreshToken: refreshToken.current }, signal);
          if (res.status === 401) throw new UnauthorizedError("the refresh token was refused");
          if (!res.ok) throw new Error(`refresh failed with ${res.status}`);
          const body = (await res.json()) as { accessToken: string; refreshToken: string; expiresIn: number };
          refreshToken.current = body.refreshToken;
          return { token: body.accessToken, expiresIn: body.expiresIn * 1000 };
        },
        socket: { transports: ["websocket"] },
      }}
    >
      <Chat
        user={session.user}
        onEnd={(reason) => {
          setEnded(reason);
          setSession(null);
        }}
      />
    </AuthedSocketProvider>
  );
}

function Login({ ended, onLogin }: { ended: string | null; onLogin: (session: Session) => void }) {
  const [error, setError] = useState<string | null>(null);
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const user = String(form.get("user"));
    const res = await post("/login", { user, password: String(form.get("password")), device: "react" });
    if (!res.ok) return setError(`login failed (${res.status})`);
    const body = (await res.json()) as { accessToken: string; refreshToken: string; expiresIn: number };
    onLogin({
      user,
      accessToken: body.accessToken,
      refreshToken: body.refreshToken,
      expiresInSec: body.expiresIn,
    });
  }
  return (
    <section data-screen="login">
      <h1>authed-socket · React</h1>
      {ended && <p id="ended">Logged out ({ended}).</p>}
      <form id="login-form" onSubmit={submit}>
        <input id="user" name="user" defaultValue="alice" aria-label="user" />
        <input id="password" name="password" type="password" defaultValue="alice-pw" aria-label="password" />
        <button id="login" type="submit">
          Log in
        </button>
      </form>
      {error && <p className="error">{error}</p>}
    </section>
  );
}

/** Re-renders every `ms` with the current time. */
function useNow(ms: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

function Countdown() {
  const { expiresAt } = useAuthState();
  const now = useNow(100);
  const lifetime = useRef(1);
  useLifecycleEvent("authenticated", ({ expiresAt: at }) => {
    if (at !== null) lifetime.current = Math.max(1, at - Date.now());
  });
  if (expiresAt === null) return <p id="countdown">no token</p>;
  const left = Math.max(0, expiresAt - now);
  return (
    <div>
      <div className="bar">
        <div className="fill" style={{ width: `${Math.min(100, (left / lifetime.current) * 100)}%` }} />
      </div>
      <p id="countdown">{(left / 1000).toFixed(1)} s left</p>
    </div>
  );
}

interface Sent {
  id: number;
  text: string;
  status: "sending" | "delivered" | "failed";
  detail: string;
}

function Chat({ user, onEnd }: { user: string; onEnd: (reason: string) => void }) {
  const client = useAuthedSocket<ServerToClient, ClientToServer>();
  const { state } = useAuthState();
  const [counts, setCounts] = useState({ handshakes: 0, inband: 0, refreshes: 0, disconnects: 0 });
  const [sent, setSent] = useState<Sent[]>([]);
  const [incoming, setIncoming] = useState<string[]>([]);
  const [timeline, setTimeline] = useState<string[]>([]);
  const nextId = useRef(1);
  const log = (line: string) => setTimeline((t) => [line, ...t].slice(0, 50));
  const bump = (key: keyof typeof counts) => setCounts((c) => ({ ...c, [key]: c[key] + 1 }));

  useLifecycleEvent("authenticated", ({ via }) => {
    bump(via === "handshake" ? "handshakes" : "inband");
    log(`authenticated via ${via}`);
  });
  useLifecycleEvent("refreshed", () => bump("refreshes"));
  useLifecycleEvent("refresh_failed", ({ error }) => log(`refresh failed: ${error.message}`));
  useLifecycleEvent("logged_out", ({ reason }) => onEnd(reason));
  useSocketEvent("disconnect", (reason) => {
    bump("disconnects");
    log(`disconnect: ${reason}`);
  });
  useSocketEvent<ServerToClient, "chat">("chat", ({ from, text }) =>
    setIncoming((list) => [`${from}: ${text}`, ...list].slice(0, 50)),
  );

  function send(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const input = event.currentTarget.elements.namedItem("message") as HTMLInputElement;
    const text = input.value.trim() || `hello #${nextId.current}`;
    input.value = "";
    const id = nextId.current++;
    const settle = (status: Sent["status"], detail: string) =>
      setSent((list) => list.map((m) => (m.id === id ? { ...m, status, detail } : m)));
    setSent((list) => [{ id, text, status: "sending", detail: "sending…" }, ...list]);
    client.socket
      .timeout(10_000)
      .emitWithAck("chat", text)
      .then(
        (reply) =>
          settle(reply.ok ? "delivered" : "failed", reply.ok ? `delivered ✓ #${reply.seq}` : "refused"),
        (error: Error) => settle("failed", `failed: ${error.message}`),
      );
  }

  const live = state === "authenticated" || state === "refreshing";
  return (
    <section data-screen="chat">
      <h1>authed-socket · React</h1>
      <p>
        Logged in as <b id="who">{user}</b> — state{" "}
        <b id="state" data-state={state}>
          {state.replace("_", " ")}
        </b>
      </p>
      <Countdown />
      <dl className="counts">
        {(Object.keys(counts) as (keyof typeof counts)[]).map((key) => (
          <div key={key}>
            <dt>{key}</dt>
            <dd id={key}>{counts[key]}</dd>
          </div>
        ))}
      </dl>
      <form id="send-form" onSubmit={send}>
        <input id="message" name="message" placeholder="message" aria-label="message" disabled={!live} />
        <button id="send" type="submit" disabled={!live}>
          Send
        </button>
      </form>
      <div className="controls">
        <button id="drop" type="button" onClick={() => client.socket.io.engine?.close()}>
          Drop network
        </button>
        <button id="revoke" type="button" onClick={() => void post("/admin/revoke", { user })}>
          Revoke (admin)
        </button>
        <button id="logout" type="button" onClick={() => client.logout()}>
          Log out
        </button>
      </div>
      <h2>Sent</h2>
      <ul id="messages">
        {sent.map((m) => (
          <li key={m.id} data-status={m.status}>
            {m.text} <span className="ev">{m.detail}</span>
          </li>
        ))}
      </ul>
      <h2>Received</h2>
      <ul id="incoming">
        {incoming.map((line, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: an append-only log
          <li key={i}>{line}</li>
        ))}
      </ul>
      <h2>Timeline</h2>
      <ul id="timeline">
        {timeline.map((line, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: an append-only log
          <li key={i}>{line}</li>
        ))}
      </ul>
    </section>
  );
}
