/**
 * The demo SPA: shows the client's lifecycle as it happens — state, the access token's remaining life as a bar that
 * counts down and jumps back on every rotation, and a timeline of events. Tabs of this page share refreshes
 * (`crossTab`): the refresh token is kept in localStorage and rotates on every use, so two tabs refreshing on their
 * own would trip the server's reuse detection and log everybody out.
 *
 * Also: a message box (acknowledged emits, each marked delivered when the server's ack arrives), the timeline
 * telling a token this tab fetched from one it adopted from another tab, and a panel polling the demo server's
 * `/admin/stats` (devices per user, in-band rotations, refusals by code).
 *
 * In your own app, import from "authed-socket" instead of the source path.
 */
import { type AuthedSocket, createAuthedSocket, crossTab, UnauthorizedError } from "../../src/index.js";

interface ServerToClient {
  chat: (message: { from: string; text: string }) => void;
}
interface ClientToServer {
  chat: (text: string, ack: (reply: { ok: boolean; seq: number }) => void) => void;
}

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const REFRESH_KEY = "demo.refreshToken";
const USER_KEY = "demo.user";
const counters = { handshakes: 0, inband: 0, refreshes: 0, disconnects: 0, adopted: 0 };
const delivery = { sent: 0, delivered: 0, failed: 0 };
let serverStats: unknown = null;
const started = Date.now();
let client: AuthedSocket<ServerToClient, ClientToServer> | null = null;

function log(kind: string, text: string): void {
  const item = document.createElement("li");
  item.dataset.kind = kind;
  const time = document.createElement("time");
  time.textContent = `${((Date.now() - started) / 1000).toFixed(1)}s`;
  const ev = document.createElement("span");
  ev.className = "ev";
  ev.textContent = kind;
  const detail = document.createElement("span");
  detail.textContent = text;
  item.append(time, ev, detail);
  $("timeline").prepend(item);
}

function count(name: keyof typeof counters): void {
  counters[name]++;
  $(name).textContent = String(counters[name]);
}

function showState(state: string): void {
  const el = $("state");
  el.textContent = state.replace("_", " ");
  el.dataset.state = state;
  const live = state !== "logged_out" && state !== "closed" && state !== "idle";
  for (const id of ["expire", "drop", "revoke", "logout"]) $<HTMLButtonElement>(id).disabled = !live;
  $<HTMLButtonElement>("login").disabled = live;
  // Emits made while reconnecting are buffered by socket.io and sent once connected, so only a live session sends.
  for (const id of ["message", "send"]) $<HTMLInputElement>(id).disabled = !live;
}

/** The bar: redrawn several times a second from the client's own idea of the expiry. */
function drawLife(): void {
  const expiresAt = client?.expiresAt ?? null;
  const fill = $("bar-fill");
  if (expiresAt === null || !client) {
    fill.style.width = "0%";
    $("life").textContent = "no token";
    return;
  }
  const left = Math.max(0, expiresAt - Date.now());
  const lifetime = Number($("bar").dataset.lifetime ?? left) || 1;
  fill.style.width = `${Math.min(100, (left / lifetime) * 100)}%`;
  $("bar").dataset.low = String(left / lifetime < 0.25);
  $("life").textContent = `${(left / 1000).toFixed(1)} s left`;
}
setInterval(drawLife, 100);

async function post(path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  const init: RequestInit = {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  };
  if (signal) init.signal = signal;
  return fetch(path, init);
}

function start(user: string): void {
  client?.close();
  $("first-run").hidden = true;
  /** This tab's own refresh function ran since the last "refreshed": tells a fetched token from an adopted one. */
  let fetchedHere = false;
  $("who").textContent = `Logged in as ${user}. Open this page in more tabs: they share one refresh.`;
  const c = createAuthedSocket<ServerToClient, ClientToServer>(location.origin, {
    refresh: async ({ signal, reason }) => {
      const refreshToken = localStorage.getItem(REFRESH_KEY);
      if (!refreshToken) throw new UnauthorizedError("no refresh token: log in");
      count("refreshes");
      fetchedHere = true;
      log("refresh call", `POST /refresh (${reason})`);
      const res = await post("/refresh", { refreshToken }, signal);
      if (res.status === 401) throw new UnauthorizedError("the refresh token was refused");
      if (!res.ok) throw new Error(`refresh failed with ${res.status}`);
      const body = (await res.json()) as { accessToken: string; refreshToken: string; expiresIn: number };
      localStorage.setItem(REFRESH_KEY, body.refreshToken);
      return { token: body.accessToken, expiresIn: body.expiresIn * 1000 };
    },
    crossTab: crossTab(),
    socket: { transports: ["websocket"] },
    logger: { warn: (m) => log("warning", m), error: (m) => log("error", m) },
  });
  client = c;
  c.on("state", ({ to }) => showState(to));
  c.on("authenticated", ({ via, expiresAt }) => {
    count(via === "handshake" ? "handshakes" : "inband");
    if (expiresAt !== null) $("bar").dataset.lifetime = String(expiresAt - Date.now());
    log(
      "authenticated",
      `via ${via}, token good for ${(((expiresAt ?? 0) - Date.now()) / 1000).toFixed(1)} s`,
    );
  });
  c.on("refreshing", ({ reason, attempt }) =>
    log("refreshing", `${reason}${attempt > 1 ? ` (attempt ${attempt})` : ""}`),
  );
  // The client reports a token another tab obtained as "refreshed" too (crossTab hands it over as if this tab had
  // refreshed); it has no separate event, so the page tells the two apart by whether its own refresh function ran.
  c.on("refreshed", () => {
    if (fetchedHere) log("refreshed", "new access token, fetched by this tab");
    else {
      count("adopted");
      log("adopted", "took the token another tab just fetched (no refresh call from this tab)");
    }
    fetchedHere = false;
  });
  c.on("refresh_failed", ({ error, retryInMs }) =>
    log("refresh_failed", `${error.message}${retryInMs === null ? "" : `; retry in ${retryInMs} ms`}`),
  );
  c.on("logged_out", ({ reason }) => {
    log("logged_out", reason);
    $("who").textContent = `Logged out (${reason}).`;
    if (reason !== "logout") localStorage.removeItem(REFRESH_KEY);
  });
  c.socket.on("disconnect", (reason) => {
    count("disconnects");
    log("disconnect", reason);
  });
  c.socket.on("chat", ({ from, text }) => log("chat", `${from}: ${text}`));
  showState(c.state);
}

function addMessage(text: string): HTMLLIElement {
  const item = document.createElement("li");
  item.dataset.status = "sending";
  const body = document.createElement("span");
  body.textContent = text;
  const status = document.createElement("span");
  status.className = "ev";
  status.textContent = "sending…";
  item.append(body, status);
  $("messages").prepend(item);
  return item;
}

function tally(name: keyof typeof delivery): void {
  delivery[name]++;
  $(name).textContent = String(delivery[name]);
}

$("send-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $<HTMLInputElement>("message");
  const text = input.value.trim() || `hello #${delivery.sent + 1}`;
  input.value = "";
  if (!client) return;
  tally("sent");
  const item = addMessage(text);
  const status = item.querySelector(".ev") as HTMLElement;
  client.socket
    .timeout(10_000)
    .emitWithAck("chat", text)
    .then(
      (reply) => {
        item.dataset.status = reply.ok ? "delivered" : "failed";
        status.textContent = reply.ok ? `delivered ✓ #${reply.seq}` : "refused";
        tally(reply.ok ? "delivered" : "failed");
      },
      (error: Error) => {
        item.dataset.status = "failed";
        status.textContent = `failed: ${error.message}`;
        tally("failed");
      },
    );
});

interface ServerStats {
  handshakes: number;
  handshakesRefused: number;
  inBand: number;
  messages: number;
  devices: Record<string, number>;
  refusals: Record<string, number>;
}

function fillList(id: string, entries: [string, number][], empty: string): void {
  const list = $(id);
  list.replaceChildren();
  for (const [name, value] of entries.length ? entries : [[empty, ""] as const]) {
    const dt = document.createElement("dt");
    dt.textContent = name;
    const dd = document.createElement("dd");
    dd.textContent = String(value);
    dd.dataset.key = name;
    list.append(dt, dd);
  }
}

/** The server panel: the demo server's counters, polled once a second. */
async function pollServer(): Promise<void> {
  try {
    const res = await fetch("/admin/stats");
    if (!res.ok) return;
    const stats = (await res.json()) as ServerStats;
    serverStats = stats;
    $("srv-handshakes").textContent = String(stats.handshakes - stats.handshakesRefused);
    $("srv-inband").textContent = String(stats.inBand);
    $("srv-messages").textContent = String(stats.messages);
    fillList("srv-devices", Object.entries(stats.devices).sort(), "nobody");
    fillList("srv-refusals", Object.entries(stats.refusals).sort(), "none");
  } catch {
    // The server is gone (demo over): keep the last figures.
  }
}
void pollServer();
setInterval(() => void pollServer(), 1000);

$("login").addEventListener("click", async () => {
  const user = $<HTMLInputElement>("user").value;
  const res = await post("/login", {
    user,
    password: $<HTMLInputElement>("password").value,
    device: "browser",
  });
  if (!res.ok) return log("error", `login failed (${res.status})`);
  const body = (await res.json()) as { refreshToken: string };
  localStorage.setItem(REFRESH_KEY, body.refreshToken);
  localStorage.setItem(USER_KEY, user);
  log("login", `logged in as ${user}`);
  start(user);
});
$("expire").addEventListener(
  "click",
  () => void post("/admin/expire", { user: localStorage.getItem(USER_KEY) }),
);
$("drop").addEventListener("click", () => {
  log("network", "transport closed by the page");
  client?.socket.io.engine?.close();
});
$("revoke").addEventListener(
  "click",
  () => void post("/admin/revoke", { user: localStorage.getItem(USER_KEY) }),
);
$("logout").addEventListener("click", () => {
  client?.logout();
  localStorage.removeItem(REFRESH_KEY);
});

// Another tab already logged in: join its session (crossTab makes them share refreshes).
const known = localStorage.getItem(USER_KEY);
if (known && localStorage.getItem(REFRESH_KEY)) start(known);
else showState("idle");

// For the browser tests: read-only access to the page's view of things.
(window as unknown as { demo: unknown }).demo = {
  state: () => client?.state ?? "idle",
  counters: () => ({ ...counters }),
  delivery: () => ({ ...delivery }),
  server: () => serverStats,
  firstRunHint: () => !$("first-run").hidden,
};
