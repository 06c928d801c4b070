/**
 * The part of an OpenTelemetry `Meter` the client and the companion use, declared here so the published types never
 * name `@opentelemetry/api`: an app without it installed type-checks, and one with it passes `metrics.getMeter(…)`
 * as it is (structurally the same methods).
 */
export type MetricAttributes = Record<string, string | number | boolean | undefined>;

export interface MetricOptions {
  description?: string;
  unit?: string;
}

export interface CounterLike {
  add(value: number, attributes?: MetricAttributes): void;
}

export interface HistogramLike {
  record(value: number, attributes?: MetricAttributes): void;
}

/** An OpenTelemetry `Meter` (only `createCounter` and `createHistogram` are used). */
export interface MeterLike {
  createCounter(name: string, options?: MetricOptions): CounterLike;
  createHistogram(name: string, options?: MetricOptions): HistogramLike;
}

/** Throws a `TypeError` naming `meter` and `who` unless `meter` has the two methods the instruments come from. */
export function assertMeter(meter: unknown, who: string): asserts meter is MeterLike {
  const m = meter as Partial<MeterLike> | null;
  if (
    typeof m !== "object" ||
    m === null ||
    typeof m.createCounter !== "function" ||
    typeof m.createHistogram !== "function"
  )
    throw new TypeError(
      `${who}: \`meter\` must be an OpenTelemetry Meter, e.g. metrics.getMeter("authed-socket")`,
    );
}
