/**
 * A demo bot: logs in to the token service, keeps its socket authenticated with authed-socket (the refresh token
 * rotates on every refresh), and sends acknowledged chat messages at a steady pace, counting what happens.
 */
import { type AuthedSocket, createAuthedSocket, UnauthorizedError } from "../src/index.js";

export interface ServerToClient {
  chat: (message: { from: string; text: string }) => void;
}
export interface ClientToServer {
  chat: (text: string, ack: (reply: { ok: boolean; seq: number }) => void) => void;
}

export interface BotStats {
  handshakes: number;
  inBand: number;
  reconnects: number;
  refreshCalls: number;
  sent: number;
  acked: number;
  /** Messages whose ack failed while the session was alive: the number that must stay 0. */
  lost: number;
  /** Messages cut off because the session was revoked (expected, not lost). */
  cancelled: number;
}

/** All counters at zero. */
export const emptyStats = (): BotStats => ({
  handshakes: 0,
  inBand: 0,
  reconnects: 0,
  refreshCalls: 0,
  sent: 0,
  acked: 0,
  lost: 0,
  cancelled: 0,
});

export interface BotOptions {
  baseUrl: string;
  user: string;
  password: string;
  device: string;
  /** Milliseconds between messages. */
  intervalMs: number;
  /** Lifecycle lines for the terminal: who (this bot's name) and what happened. */
  print: (who: string, line: string) => void;
}

export interface Bot {
  name: string;
  client: AuthedSocket<ServerToClient, ClientToServer>;
  stats: BotStats;
  /** The client's state when stop() was called (the client is closed after). */
  readonly finalState: string;
  /** Stops sending, waits for the acks in flight (bounded), closes the client. */
  stop(): Promise<void>;
}

async function post(url: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  const init: RequestInit = {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  };
  if (signal) init.signal = signal;
  return fetch(url, init);
}

export async function startBot(options: BotOptions): Promise<Bot> {
  const name = `${options.user}/${options.device}`;
  const stats = emptyStats();

  const login = await post(`${options.baseUrl}/login`, {
    user: options.user,
    password: options.password,
    device: options.device,
  });
  if (!login.ok) throw new Error(`${name}: login failed with ${login.status}`);
  const first = (await login.json()) as { accessToken: string; refreshToken: string; expiresIn: number };
  let refreshToken = first.refreshToken;
  let initial: { token: string; expiresIn: number } | null = {
    token: first.accessToken,
    expiresIn: first.expiresIn * 1000,
  };

  const client = createAuthedSocket<ServerToClient, ClientToServer>(options.baseUrl, {
    // The login's access token, handed over once; every later token comes from refresh.
    getToken: () => {
      const token = initial;
      initial = null;
      return token;
    },
    refresh: async ({ signal }) => {
      stats.refreshCalls++;
      const res = await post(`${options.baseUrl}/refresh`, { refreshToken }, signal);
      if (res.status === 401) throw new UnauthorizedError("the refresh token was refused");
      if (!res.ok) throw new Error(`refresh failed with ${res.status}`);
      const body = (await res.json()) as { accessToken: string; refreshToken: string; expiresIn: number };
      refreshToken = body.refreshToken;
      return { token: body.accessToken, expiresIn: body.expiresIn * 1000 };
    },
    logger: null,
    // Acknowledged delivery that survives a dropped transport: socket.io queues each emit until its ack arrives and
    // sends it again after a reconnect (an emit in flight when the network drops would otherwise fail).
    socket: { transports: ["websocket"], retries: 5, ackTimeout: 5000 },
  });

  const until = (at: number | null) =>
    at === null ? "no expiry" : `expires in ${((at - Date.now()) / 1000).toFixed(1)}s`;
  client.on("authenticated", ({ via, expiresAt }) => {
    if (via === "handshake") stats.handshakes++;
    else stats.inBand++;
    options.print(name, `authenticated via ${via} (${until(expiresAt)})`);
  });
  client.on("refreshing", ({ reason, attempt }) =>
    options.print(name, `refreshing (${reason}${attempt > 1 ? `, attempt ${attempt}` : ""})`),
  );
  client.on("refresh_failed", ({ error, retryInMs }) =>
    options.print(
      name,
      `refresh failed: ${error.message}${retryInMs === null ? "" : `; retry in ${retryInMs} ms`}`,
    ),
  );
  client.on("logged_out", ({ reason }) =>
    options.print(name, `logged out: ${reason === "revoked" ? "revoked by the server" : reason}`),
  );
  let stopping = false;
  client.socket.on("disconnect", (reason) => {
    stats.reconnects++;
    if (reason !== "io client disconnect") return options.print(name, `disconnected (${reason})`);
    // socket.io names every disconnect the client asks for the same way; say which one this was. A logout
    // (revocation included) sets the state right after it closes the socket, so look once that has run.
    queueMicrotask(() => {
      if (client.state === "logged_out") return; // the "logged out" line says why
      options.print(
        name,
        stopping ? "disconnected (the demo is over)" : "disconnected (reconnecting with a new token)",
      );
    });
  });

  let sending = true;
  /** Set once stop() has counted what is still in flight, so a late settlement is not counted twice. */
  let counted = false;
  let seq = 0;
  const inFlight = new Set<Promise<void>>();
  const send = () => {
    if (!sending || client.state === "logged_out" || client.state === "closed") return;
    const text = `message ${++seq} from ${name}`;
    stats.sent++;
    const p = client.socket
      .emitWithAck("chat", text)
      .then(
        (reply) => {
          if (counted) return;
          if (reply.ok) stats.acked++;
          else stats.lost++;
        },
        () => {
          if (counted) return;
          // An ack cut off by a revoked session is expected; any other failure is a lost message.
          if (client.state === "logged_out") stats.cancelled++;
          else stats.lost++;
        },
      )
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  const ticker = setInterval(send, options.intervalMs);

  let finalState = "";
  return {
    name,
    client,
    stats,
    get finalState() {
      return finalState || client.state;
    },
    async stop() {
      sending = false;
      stopping = true;
      clearInterval(ticker);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const patience = new Promise((resolve) => {
        timer = setTimeout(resolve, 5000);
      });
      await Promise.race([Promise.allSettled([...inFlight]), patience]);
      clearTimeout(timer);
      counted = true;
      finalState = client.state;
      if (client.state !== "logged_out") stats.lost += inFlight.size;
      else stats.cancelled += inFlight.size;
      client.close();
    },
  };
}
