import { describe, expect, expectTypeOf, it } from "vitest";
import {
  type AnyAuthedSocketError,
  AuthedSocketError,
  isAuthedSocketError,
  RefreshError,
  UnauthorizedError,
} from "../../src/index.js";

/** What an app writes: switch on the code, use the class's own fields without a cast. */
function describeError(err: AnyAuthedSocketError): string {
  switch (err.code) {
    case "ERR_UNAUTHORIZED":
      expectTypeOf(err).toExtend<UnauthorizedError>();
      return "sign in again";
    case "ERR_REFRESH_FAILED":
    case "ERR_REFRESH_TIMEOUT":
    case "ERR_INVALID_TOKEN":
      return `retry in ${err.retryAfterMs ?? "?"} ms`;
    default:
      expectTypeOf(err).not.toExtend<RefreshError>();
      return err.code;
  }
}

describe("AnyAuthedSocketError", () => {
  it("pairs each code with its class, so switch (err.code) narrows", () => {
    const errors: unknown[] = [
      new UnauthorizedError(),
      new RefreshError("ERR_REFRESH_FAILED", "503", { retryAfterMs: 1000 }),
      new AuthedSocketError("ERR_REVOKED", "revoked"),
    ];
    const described = errors.map((e) => (isAuthedSocketError(e) ? describeError(e) : "foreign"));
    expect(described).toEqual(["sign in again", "retry in 1000 ms", "ERR_REVOKED"]);
  });
});
