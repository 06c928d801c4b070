/**
 * `instrumentClient()`: OpenTelemetry metrics for a client, from outside. It listens to the client's public
 * lifecycle events and records on a `Meter` the application passes; nothing of `@opentelemetry/api` is imported
 * (meter.ts declares the methods used), and a bundle that does not call it carries none of it. Names and attributes: docs/metrics.md.
 */

import type { AuthedSocket } from "./client.js";
import type { AuthedSocketState, RefreshReason } from "./events.js";
import { assertMeter, type MeterLike as Meter } from "./meter.js";

/** What {@link instrumentClient} needs from a client: its lifecycle listeners. Every `AuthedSocket` fits. */
export type InstrumentableClient = Pick<AuthedSocket, "on">;

/** Options of {@link instrumentClient}. */
export interface InstrumentClientOptions {
  /**
   * Where durations are read from, in milliseconds; tests inject one. A monotonic source, so a wall-clock jump
   * does not show up as a slow refresh.
   * @default performance.now (Date.now where there is no performance)
   */
  now?: () => number;
}

/** States in which the client has a live, authenticated connection (a refresh keeps it up). */
const CONNECTED: readonly AuthedSocketState[] = ["authenticated", "refreshing"];

/**
 * Records a client's lifecycle on an OpenTelemetry `Meter`: refresh duration and outcome, token rotations by way
 * (in band or by a new handshake), time from losing the connection to being authenticated again, and
 * `logged_out` by reason. Returns the function that stops recording. Call it right after `createAuthedSocket()`,
 * before `connect()` if `autoConnect` is off, so the first handshake is seen.
 *
 * @param client The client to watch (only its `on()` is used).
 * @param meter An OpenTelemetry `Meter`, e.g. `metrics.getMeter("authed-socket")`.
 * @example
 * ```ts
 * import { metrics } from "@opentelemetry/api";
 * import { createAuthedSocket, instrumentClient } from "authed-socket";
 *
 * const client = createAuthedSocket(url, { getToken, refresh });
 * const stop = instrumentClient(client, metrics.getMeter("authed-socket"));
 * // later, if the client outlives the need: stop();
 * ```
 */
export function instrumentClient(
  client: InstrumentableClient,
  meter: Meter,
  options: InstrumentClientOptions = {},
): () => void {
  if (typeof client !== "object" || client === null || typeof client.on !== "function")
    throw new TypeError("instrumentClient: `client` must be a client created by createAuthedSocket()");
  assertMeter(meter, "instrumentClient");
  const { now = defaultNow } = options;
  if (typeof now !== "function") throw new TypeError("instrumentClient: `now` must be a function");

  const refreshDuration = meter.createHistogram("authed_socket.client.refresh.duration", {
    description: "Time one refresh took, from its first attempt to a new token or to giving up",
    unit: "s",
  });
  const rotations = meter.createCounter("authed_socket.client.rotations", {
    description: "Tokens the server accepted after the session's first, by the way they reached it",
    unit: "{rotation}",
  });
  const reconnectDuration = meter.createHistogram("authed_socket.client.reconnect.duration", {
    description: "Time from losing an authenticated connection to being authenticated again",
    unit: "s",
  });
  const loggedOut = meter.createCounter("authed_socket.client.logouts", {
    description: "Sessions that ended, by reason",
    unit: "{session}",
  });

  let refreshStart: { at: number; reason: RefreshReason } | undefined;
  let lostAt: number | undefined;
  let authenticatedOnce = false;
  const seconds = (since: number): number => Math.max(0, now() - since) / 1000;
  // A meter that throws must not reach the client's listener-error path on every event.
  const safely = (record: () => void): void => {
    try {
      record();
    } catch {}
  };
  const endRefresh = (outcome: "success" | "failure"): void => {
    if (!refreshStart) return;
    const { at, reason } = refreshStart;
    refreshStart = undefined;
    safely(() => refreshDuration.record(seconds(at), { outcome, reason }));
  };

  const removers = [
    client.on("refreshing", ({ reason, attempt }) => {
      if (attempt === 1) refreshStart = { at: now(), reason };
    }),
    client.on("refreshed", () => endRefresh("success")),
    client.on("refresh_failed", ({ retryInMs }) => {
      if (retryInMs === null) endRefresh("failure");
    }),
    client.on("authenticated", ({ via }) => {
      if (authenticatedOnce) safely(() => rotations.add(1, { via }));
      authenticatedOnce = true;
    }),
    client.on("state", ({ from, to }) => {
      if (CONNECTED.includes(from) && (to === "reconnecting" || to === "connecting")) lostAt = now();
      else if (to === "authenticated" && lostAt !== undefined) {
        const at = lostAt;
        lostAt = undefined;
        safely(() => reconnectDuration.record(seconds(at)));
      } else if (to === "idle" || to === "logged_out" || to === "closed") lostAt = undefined;
    }),
    client.on("logged_out", ({ reason }) => {
      authenticatedOnce = false;
      refreshStart = undefined;
      safely(() => loggedOut.add(1, { reason }));
    }),
  ];
  return () => {
    for (const remove of removers.splice(0)) remove();
  };
}

const defaultNow = (): number =>
  typeof performance !== "undefined" && typeof performance.now === "function"
    ? performance.now()
    : Date.now();
