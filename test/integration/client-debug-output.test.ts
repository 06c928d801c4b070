import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, expect, it } from "vitest";
import { startAuthServer } from "../helpers/auth-server.js";
import { signToken } from "../helpers/jwt.js";

const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

it("DEBUG=socket.io-client:* prints the CONNECT packet without the token, and the server still receives it", async () => {
  const server = await startAuthServer();
  servers.push(server);
  const token = await signToken();
  const script = fileURLToPath(new URL("../fixtures/debug-connect.ts", import.meta.url));
  const tsx = fileURLToPath(new URL("../../node_modules/tsx/dist/cli.mjs", import.meta.url));
  const child = spawn(process.execPath, [tsx, script, server.url], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, DEBUG: "socket.io-client:*", AUTHED_SOCKET_TEST_TOKEN: token },
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the child did not exit: ${out}`));
    }, 20_000);
    child.on("exit", (exitCode) => {
      clearTimeout(timer);
      resolve(exitCode);
    });
  });
  expect({ code, out: out.trim() }).toEqual({ code: 0, out: "authenticated" });
  expect(err).toContain("writing packet"); // debug output was on
  expect(server.handshakes.map((h) => h.token)).toEqual([token]);
  expect(err).not.toContain(token);
  expect(err).not.toContain(token.split(".")[1] as string);
}, 30_000);
