/**
 * A Node bot that logs in with credentials and stays authenticated for as long as it runs: access tokens are
 * refreshed (and rotated in band) before they expire, refused tokens are replaced, network loss is survived.
 * Ctrl-C (SIGINT) closes the client and the process exits by itself.
 *
 *   npm run demo -- --serve            # in one terminal: the demo server
 *   npx tsx examples/node-bot/bot.ts http://127.0.0.1:3000 bob bob-pw
 *
 * In your own project, import from "authed-socket" instead of the source path.
 */
import { createAuthedSocket, refreshWithFetch, UnauthorizedError } from "../../src/index.js";

const [url = "http://127.0.0.1:3000", user = "bob", password = "bob-pw"] = process.argv.slice(2);

interface ServerToClient {
  chat: (message: { from: string; text: string }) => void;
}
interface ClientToServer {
  chat: (text: string, ack: (reply: { ok: boolean; seq: number }) => void) => void;
}

async function login(): Promise<{ accessToken: string; refreshToken: string; expiresIn: number }> {
  const res = await fetch(`${url}/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user, password, device: "node-bot" }),
  });
  if (res.status === 401) throw new UnauthorizedError("wrong user or password");
  if (!res.ok) throw new Error(`login failed: ${res.status}`);
  return res.json() as Promise<{ accessToken: string; refreshToken: string; expiresIn: number }>;
}

const first = await login();
let refreshToken = first.refreshToken;
let stored: { token: string; expiresIn: number } | null = {
  token: first.accessToken,
  expiresIn: first.expiresIn * 1000,
};

const client = createAuthedSocket<ServerToClient, ClientToServer>(url, {
  // The login's access token, used once; every later token comes from refresh.
  getToken: () => {
    const token = stored;
    stored = null;
    return token;
  },
  // The token service rotates refresh tokens: keep the new one from every answer.
  refresh: refreshWithFetch({
    url: `${url}/refresh`,
    body: () => ({ refreshToken }),
    parse: (json) => {
      const body = json as { accessToken: string; refreshToken: string; expiresIn: number };
      refreshToken = body.refreshToken;
      return { token: body.accessToken, expiresIn: body.expiresIn * 1000 };
    },
  }),
  on: {
    state: ({ from, to }) => console.log(`state: ${from} → ${to}`),
    authenticated: ({ via, expiresAt }) =>
      console.log(
        `authenticated via ${via}; token good for ${Math.round(((expiresAt ?? 0) - Date.now()) / 1000)}s`,
      ),
    refresh_failed: ({ error, retryInMs }) =>
      console.log(`refresh failed (${error.code}); retry in ${retryInMs} ms`),
    logged_out: ({ reason }) => {
      console.log(`logged out: ${reason}`);
      client.close();
    },
  },
});

client.socket.on("chat", ({ from, text }) => console.log(`${from}: ${text}`));

const ticker = setInterval(async () => {
  if (client.state !== "authenticated") return;
  try {
    const reply = await client.socket
      .timeout(10_000)
      .emitWithAck("chat", `the time is ${new Date().toISOString()}`);
    console.log(`sent message #${reply.seq}`);
  } catch (error) {
    console.log(`not acknowledged: ${(error as Error).message}`);
  }
}, 5000);

process.once("SIGINT", () => {
  console.log("closing");
  clearInterval(ticker);
  client.close(); // nothing keeps the event loop alive after this: the process exits by itself
});
