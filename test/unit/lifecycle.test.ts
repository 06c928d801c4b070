import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { AuthedSocketState } from "../../src/events.js";
import { checkTransition, isAllowed, TRANSITIONS } from "../../src/lifecycle.js";

describe("the lifecycle table", () => {
  it("docs/lifecycle.md's diagram shows exactly the transitions of the table", () => {
    const doc = readFileSync(new URL("../../docs/lifecycle.md", import.meta.url), "utf8");
    const drawn = [...doc.matchAll(/^\s+(\w+) --> (\w+)/gm)].map((m) => `${m[1]} → ${m[2]}`).sort();
    const table = Object.entries(TRANSITIONS)
      .flatMap(([from, tos]) => tos.map((to) => `${from} → ${to}`))
      .sort();
    expect(drawn).toEqual(table);
  });

  it("a transition outside the table throws under test, names both states and the cause", () => {
    expect(isAllowed("closed", "connecting")).toBe(false);
    expect(() => checkTransition("closed", "connecting", "connect()", () => undefined)).toThrow(
      /closed → connecting \(connect\(\)\)/,
    );
    expect(() => checkTransition("idle", "connecting", "connect()", () => undefined)).not.toThrow();
  });

  it("is reported, not thrown, outside tests", () => {
    const saved = process.env.VITEST;
    delete process.env.VITEST;
    const reported: string[] = [];
    try {
      checkTransition("logged_out" as AuthedSocketState, "refreshing", "timer", (m) => reported.push(m));
    } finally {
      process.env.VITEST = saved;
    }
    expect(reported).toEqual(["lifecycle: logged_out → refreshing (timer) is not in the transition table"]);
  });
});
