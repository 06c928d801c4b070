/**
 * A real OpenTelemetry SDK MeterProvider whose reader the test collects from on demand, and lookups into what it
 * collected: the sum of a counter's points with given attributes, a histogram's count.
 */
import type { Attributes } from "@opentelemetry/api";
import {
  type CollectionResult,
  DataPointType,
  MeterProvider,
  MetricReader,
} from "@opentelemetry/sdk-metrics";

/** Collects only when asked (a pull reader), so a test reads the SDK's aggregated points at the moment it checks. */
class OnDemandReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

export interface TestMeter {
  provider: MeterProvider;
  meter: ReturnType<MeterProvider["getMeter"]>;
  /** Collects now; the names of every instrument that has points. */
  names(): Promise<string[]>;
  /** Sum of a counter's points whose attributes include `attributes`. */
  sum(name: string, attributes?: Attributes): Promise<number>;
  /** The histogram's points: count and sum, over those whose attributes include `attributes`. */
  histogram(name: string, attributes?: Attributes): Promise<{ count: number; sum: number; unit: string }>;
}

export function testMeter(): TestMeter {
  const reader = new OnDemandReader();
  const provider = new MeterProvider({ readers: [reader] });
  const meter = provider.getMeter("authed-socket-test");
  const collect = async (): Promise<CollectionResult> => reader.collect();
  const metricsOf = async () =>
    (await collect()).resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics);
  const matches = (have: Attributes, want: Attributes) =>
    Object.entries(want).every(([key, value]) => have[key] === value);
  return {
    provider,
    meter,
    async names() {
      return (await metricsOf()).filter((m) => m.dataPoints.length > 0).map((m) => m.descriptor.name);
    },
    async sum(name, attributes = {}) {
      let total = 0;
      for (const metric of await metricsOf()) {
        if (metric.descriptor.name !== name || metric.dataPointType !== DataPointType.SUM) continue;
        for (const point of metric.dataPoints)
          if (matches(point.attributes, attributes)) total += point.value as number;
      }
      return total;
    },
    async histogram(name, attributes = {}) {
      let count = 0;
      let sum = 0;
      let unit = "";
      for (const metric of await metricsOf()) {
        if (metric.descriptor.name !== name || metric.dataPointType !== DataPointType.HISTOGRAM) continue;
        unit = metric.descriptor.unit;
        for (const point of metric.dataPoints)
          if (matches(point.attributes, attributes)) {
            count += point.value.count;
            sum += point.value.sum ?? 0;
          }
      }
      return { count, sum, unit };
    },
  };
}
