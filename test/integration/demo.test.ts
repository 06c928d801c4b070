import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { type DemoResult, FLAGS, formatTable, runDemo } from "../../demo/index.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const tsx = fileURLToPath(new URL("../../node_modules/tsx/dist/cli.mjs", import.meta.url));

function demo(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [tsx, "demo/index.ts", ...args],
      { cwd: root, timeout: 20_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("the demo's command line", () => {
  it("--help prints every flag and exits 0", async () => {
    const { code, stdout } = await demo(["--help"]);
    expect(code).toBe(0);
    for (const flag of Object.keys(FLAGS)) expect(stdout).toContain(`--${flag}`);
  }, 30_000);

  it("an unknown flag says so, points at --help and exits 2", async () => {
    const { code, stderr } = await demo(["--nope"]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--nope/);
    expect(stderr).toMatch(/--help/);
  }, 30_000);

  it("the README lists every flag", () => {
    const readme = readFileSync(`${root}/README.md`, "utf8");
    for (const flag of Object.keys(FLAGS)) expect(readme).toContain(`--${flag}`);
  });
});

describe("a demo run", () => {
  const lines: string[] = [];
  let result: DemoResult;
  beforeAll(async () => {
    result = await runDemo(
      { durationSec: 8, ttlSec: 2, clients: 4, port: 0, quiet: false, serve: false },
      (line) => lines.push(line),
    );
  }, 30_000);

  it("runs end to end: tokens rotate in band, the dropped bot recovers, the revoked user logs out, nothing is lost", () => {
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
  });

  it("a revocation reads 'revoked by the server', never socket.io's 'io client disconnect'", () => {
    expect(lines.filter((l) => l.includes("alice/") && l.includes("revoked by the server"))).toHaveLength(2);
    expect(lines.filter((l) => l.includes("io client disconnect"))).toEqual([]);
  });

  it("log columns stay aligned whatever the length of the names", () => {
    // "[  1.2s] <who, padded>  <what>": every message starts in the same column.
    const starts = new Set(lines.map((l) => /^\[[ \d.]+s\] \S+ +/.exec(l)?.[0].length));
    expect([...starts]).toHaveLength(1);
    expect(lines.some((l) => l.includes("carol/device-3"))).toBe(true);
  });

  it("the table's total row uses the table's own words and sums its columns", () => {
    const table = formatTable(result.rows, result.totals);
    const [header, , ...body] = table.split("\n");
    const total = body.find((l) => l.startsWith("total"));
    expect(total).toBeDefined();
    expect(header).toMatch(/cut off/);
    const cells = (total ?? "").trim().split(/\s{2,}/);
    expect(cells.at(-3)).toBe(String(result.totals.acked));
    expect(cells.at(-2)).toBe(String(result.totals.lost));
    expect(cells.at(-1)).toBe(String(result.totals.cancelled));
  });
});
