/**
 * OpenTelemetry metrics of the companion, from a `Meter` the application passes as `authenticate({ meter })`.
 * Nothing of `@opentelemetry/api` is imported (meter.ts): without a meter nothing is created or recorded.
 * Names and attributes are listed in docs/metrics.md.
 */
import {
  assertMeter,
  type CounterLike as Counter,
  type HistogramLike as Histogram,
  type MeterLike as Meter,
} from "../meter.js";
import type { HandshakeErrorCode, RefreshAck } from "../protocol.js";

/** Where a token was checked, or a socket cut. */
export type MetricPhase = "handshake" | "refresh" | "recovery" | "revocation";

/** What the companion records; every method is a no-op without a meter. Internal. */
export interface ServerMetrics {
  handshake(code: HandshakeErrorCode | undefined): void;
  refresh(ack: RefreshAck): void;
  expiryCut(): void;
  revocation(scope: "user" | "issued_before" | "jti", disconnected: number): void;
  revokedCut(phase: MetricPhase): void;
  /** Wraps a token verifier so its duration is recorded. */
  timeVerify<T>(verify: (token: string) => T | Promise<T>): (token: string) => T | Promise<T>;
}

const noop = (): void => undefined;

export const noMetrics: ServerMetrics = {
  handshake: noop,
  refresh: noop,
  expiryCut: noop,
  revocation: noop,
  revokedCut: noop,
  timeVerify: (verify) => verify,
};

/** Builds the instruments on `meter`, or {@link noMetrics} without one; throws a `TypeError` naming `meter`. */
export function serverMetrics(meter: Meter | undefined): ServerMetrics {
  if (meter === undefined) return noMetrics;
  assertMeter(meter, "authenticate");
  const handshakes = meter.createCounter("authed_socket.server.handshakes", {
    description: "Handshakes answered by the authenticate() middleware",
    unit: "{handshake}",
  });
  const refreshes = meter.createCounter("authed_socket.server.refreshes", {
    description: "In-band token refreshes (auth:refresh) answered",
    unit: "{refresh}",
  });
  const rateLimited = meter.createCounter("authed_socket.server.rate_limited_refusals", {
    description: "Handshakes and in-band refreshes refused with RATE_LIMITED",
    unit: "{refusal}",
  });
  const expiryCuts = meter.createCounter("authed_socket.server.expiry_cuts", {
    description: "Connections cut with auth:expired because their token ran out past the grace period",
    unit: "{connection}",
  });
  const revocations = meter.createCounter("authed_socket.server.revocations", {
    description: "Revocations recorded by revokeSessions()",
    unit: "{revocation}",
  });
  const revokedCuts = meter.createCounter("authed_socket.server.revoked_disconnects", {
    description: "Connections cut with auth:revoked",
    unit: "{connection}",
  });
  const verification: Histogram = meter.createHistogram("authed_socket.server.verification.duration", {
    description: "Time the token verifier took, per call",
    unit: "s",
  });
  const add = (counter: Counter, attributes: Record<string, string>, by = 1): void => {
    // A meter's failure must never become the handshake's.
    try {
      counter.add(by, attributes);
    } catch {}
  };
  const now = (): number => (typeof performance === "undefined" ? Date.now() : performance.now());
  return {
    handshake(code) {
      add(handshakes, code === undefined ? { result: "accepted" } : { result: "refused", code });
      if (code === "RATE_LIMITED") add(rateLimited, { phase: "handshake" });
    },
    refresh(ack) {
      add(refreshes, ack.ok ? { result: "accepted" } : { result: "refused", code: ack.code });
      if (!ack.ok && ack.code === "RATE_LIMITED") add(rateLimited, { phase: "refresh" });
    },
    expiryCut() {
      add(expiryCuts, {});
    },
    revocation(scope, disconnected) {
      add(revocations, { scope });
      if (disconnected > 0) add(revokedCuts, { phase: "revoke" }, disconnected);
    },
    revokedCut(phase) {
      add(revokedCuts, { phase });
    },
    timeVerify: (verify) => async (token) => {
      const start = now();
      let result = "ok";
      try {
        return await verify(token);
      } catch (error) {
        result = "error";
        throw error;
      } finally {
        try {
          verification.record((now() - start) / 1000, { result });
        } catch {}
      }
    },
  };
}
