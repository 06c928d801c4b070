import { expect, it } from "vitest";
import { formatTable, runDemo } from "../../demo/index.js";

it("the demo runs end to end: tokens rotate in band, the dropped bot recovers, the revoked user logs out, nothing is lost", async () => {
  const lines: string[] = [];
  const result = await runDemo(
    { durationSec: 8, ttlSec: 2, clients: 4, port: 0, quiet: false, serve: false },
    (line) => lines.push(line),
  );
  expect(result.problems).toEqual([]);
  expect(result.ok).toBe(true);
  expect(result.totals.lost).toBe(0);
  expect(result.totals.inBand).toBeGreaterThan(0);
  expect(result.totals.acked).toBeGreaterThan(10);
  expect(result.rows.filter((r) => String(r.bot).startsWith("alice/")).map((r) => r.state)).toEqual([
    "revoked",
    "revoked",
  ]);
  expect(lines.some((l) => l.includes("dropping"))).toBe(true);
  expect(formatTable(result.rows)).toContain("in-band");
}, 30_000);
