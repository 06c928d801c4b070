import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, expect, it } from "vitest";
import { type DemoServer, startDemoServer } from "../../demo/server.js";

const servers: DemoServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

it("examples/node-bot logs in, stays authenticated across rotations, and exits cleanly on SIGINT", async () => {
  const server = await startDemoServer({ port: 0, ttlSec: 2, users: { bob: "bob-pw" } });
  servers.push(server);
  const script = fileURLToPath(new URL("../../examples/node-bot/bot.ts", import.meta.url));
  const tsx = fileURLToPath(new URL("../../node_modules/tsx/dist/cli.mjs", import.meta.url));
  const child = spawn(process.execPath, [tsx, script, server.url, "bob", "bob-pw"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));

  // Two-second tokens: an in-band rotation within a few seconds proves it stays authenticated.
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no in-band rotation; output:\n${out}`)), 15_000);
    child.stdout.on("data", () => {
      if (out.includes("authenticated via in-band")) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  child.kill("SIGINT");
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`still running 3 s after SIGINT; output:\n${out}`));
    }, 3000);
    child.on("exit", (exitCode) => {
      clearTimeout(timer);
      resolve(exitCode);
    });
  });
  expect(code).toBe(0);
  expect(out).toContain("authenticated via handshake");
  expect(out).toContain("closing");
  expect(out).not.toMatch(/eyJ[\w-]+\.[\w-]+/); // no token printed
});
