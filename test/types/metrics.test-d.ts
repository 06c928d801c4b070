import { type Meter, metrics } from "@opentelemetry/api";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { describe, expectTypeOf, it } from "vitest";
import { createAuthedSocket, instrumentClient } from "../../src/index.js";
import { type AuthenticateOptions, authenticate, jwtVerifier } from "../../src/server/index.js";

const verify = jwtVerifier({ secret: "s".repeat(32), algorithms: ["HS256"] });

describe("metrics types", () => {
  it("authenticate takes the API's Meter and an SDK provider's meter", () => {
    // The option is the package's own MeterLike (the published types never name @opentelemetry/api); the API's
    // Meter fits it as it is.
    expectTypeOf<Meter>().toExtend<NonNullable<AuthenticateOptions["meter"]>>();
    authenticate({ verify, meter: metrics.getMeter("authed-socket") });
    authenticate({ verify, meter: new MeterProvider().getMeter("authed-socket") });
    // @ts-expect-error a meter is an object with instruments, not a name
    authenticate({ verify, meter: "authed-socket" });
  });

  it("instrumentClient takes a client and a Meter and returns its remover", () => {
    const client = createAuthedSocket("http://127.0.0.1:1", { refresh: () => null });
    expectTypeOf(instrumentClient(client, metrics.getMeter("authed-socket"))).toEqualTypeOf<() => void>();
    instrumentClient(client, metrics.getMeter("x"), { now: () => 0 });
    // @ts-expect-error the meter is required
    instrumentClient(client);
  });
});
