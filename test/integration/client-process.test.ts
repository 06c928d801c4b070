import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, expect, it } from "vitest";
import { startAuthServer } from "../helpers/auth-server.js";

const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

it("a Node process that connects and calls close() exits on its own within 2 s", async () => {
  const server = await startAuthServer();
  servers.push(server);
  const script = fileURLToPath(new URL("../fixtures/close-exits.ts", import.meta.url));
  const tsx = fileURLToPath(new URL("../../node_modules/tsx/dist/cli.mjs", import.meta.url));
  const child = spawn(process.execPath, [tsx, script, server.url], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));

  const closedAt = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child never closed: ${err}`)), 15_000);
    child.stdout.on("data", () => {
      if (out.includes("closed")) {
        clearTimeout(timer);
        resolve(Date.now());
      }
    });
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error("the child process was still running 2 s after close()"));
    }, 2000);
    child.on("exit", (exitCode) => {
      clearTimeout(timer);
      resolve(exitCode);
    });
  });
  expect(code).toBe(0);
  expect(Date.now() - closedAt).toBeLessThan(2000);
  expect(server.accepted()).toHaveLength(1);
});
