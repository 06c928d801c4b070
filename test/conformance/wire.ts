/**
 * The suite's side of the wire: a raw socket.io-client socket (never authed-socket's client, which would hide what
 * the server sends), every event it receives with the local time it arrived, and waits with deadlines.
 */
import { afterAll, afterEach, beforeAll } from "vitest";
import { type ClientSocket, client, closeClients } from "../helpers/companion.js";
import { waitUntil } from "../helpers/wait.js";
import { type ConformanceTarget, createTarget } from "./target.js";

export type { ClientSocket };

/** One thing the socket saw: a server event (`auth:*` or any other) or `disconnect` with its reason. */
export interface Seen {
  event: string;
  payload: unknown;
  at: number;
}

/** A socket with the log of what it saw. */
export interface Probe {
  socket: ClientSocket;
  seen: Seen[];
  /** Resolves with the first entry named `event` (already seen, or to come), within `timeoutMs`. */
  next(event: string, timeoutMs?: number): Promise<Seen>;
  /** The entries named `event` so far. */
  all(event: string): Seen[];
}

/** Starts the target once per file and closes every socket after each case. */
export function targetPerFile(): () => ConformanceTarget {
  let target: ConformanceTarget | undefined;
  beforeAll(async () => {
    target = await createTarget();
  });
  afterEach(() => closeClients());
  afterAll(async () => {
    await target?.close();
  });
  return () => {
    if (!target) throw new Error("the conformance target did not start");
    return target;
  };
}

/** Opens a raw socket with `auth` as the handshake's auth object (spec §3) and records what it receives. */
export function probe(target: ConformanceTarget, auth: Record<string, unknown> | undefined): Probe {
  const socket = client(target.url, { auth: auth ?? {} });
  const seen: Seen[] = [];
  socket.onAny((event: string, payload: unknown) => seen.push({ event, payload, at: Date.now() }));
  socket.on("connect", () => seen.push({ event: "connect", payload: undefined, at: Date.now() }));
  socket.on("connect_error", (error: Error & { data?: unknown }) =>
    seen.push({
      event: "connect_error",
      payload: { message: error.message, data: error.data },
      at: Date.now(),
    }),
  );
  socket.on("disconnect", (reason) => seen.push({ event: "disconnect", payload: reason, at: Date.now() }));
  const all = (event: string) => seen.filter((entry) => entry.event === event);
  const next = async (event: string, timeoutMs = 5000): Promise<Seen> => {
    await waitUntil(() => all(event).length > 0, { timeoutMs, what: `"${event}"` });
    return all(event)[0] as Seen;
  };
  return { socket, seen, next, all };
}

/** A socket accepted with `token`, once its `auth:ready` has arrived (spec §5). */
export async function ready(target: ConformanceTarget, token: string): Promise<Probe & { readyAt: number }> {
  const p = probe(target, { token });
  const first = await Promise.race([p.next("auth:ready"), p.next("connect_error")]);
  if (first.event === "connect_error")
    throw new Error(`the handshake was refused: ${JSON.stringify(first.payload)}`);
  return Object.assign(p, { readyAt: first.at });
}

/** The refusal of a handshake (spec §4): `err.message` and `err.data`. Fails if the socket connects. */
export async function refusal(
  target: ConformanceTarget,
  auth: Record<string, unknown> | undefined,
): Promise<{ message: string; data: { code?: unknown; retryAfterMs?: unknown } }> {
  const p = probe(target, auth);
  const first = await Promise.race([p.next("connect_error"), p.next("connect")]);
  if (first.event === "connect") throw new Error("the handshake was accepted");
  const { message, data } = first.payload as {
    message: string;
    data?: { code?: unknown; retryAfterMs?: unknown };
  };
  // A refusal without data (a transport error, a server outside the protocol) fails on the code, not on a TypeError.
  return { message, data: data ?? {} };
}

/** Sends `auth:refresh` with `payload` and resolves with the ack (spec §6), within `timeoutMs`. */
export function refresh(socket: ClientSocket, payload: unknown, timeoutMs = 5000): Promise<unknown> {
  return socket.timeout(timeoutMs).emitWithAck("auth:refresh", payload);
}

/** Resolves once `ms` of real time has passed: only for checking that nothing happens before a deadline. */
export function passes(ms: number): Promise<void> {
  const until = Date.now() + ms;
  return waitUntil(() => Date.now() >= until, {
    timeoutMs: ms + 5000,
    what: `${ms} ms to pass`,
    intervalMs: 20,
  });
}
