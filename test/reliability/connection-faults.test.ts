// Transport faults and lifecycle calls against a real socket.io server verifying real JWTs. Public API only.
import { spawn } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { createAuthedSocket } from "../../src/index.js";
import { startAuthServer } from "../helpers/auth-server.js";
import { signToken } from "../helpers/jwt.js";
import { waitUntil } from "../helpers/wait.js";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("connection faults", () => {
  it("five transport drops in a row, each as soon as the connection is back: re-handshakes with the held token, no refresh while it is valid", async () => {
    const server = await startAuthServer();
    cleanups.push(() => server.close());
    let refreshes = 0;
    const client = createAuthedSocket(server.url, {
      getToken: () => null,
      refresh: async () => {
        refreshes++;
        return signToken({ ttlSec: 600 });
      },
      logger: null,
      environment: "none",
      socket: { transports: ["websocket"], reconnectionDelay: 100, reconnectionDelayMax: 200 },
    });
    cleanups.push(() => client.close());
    await client.waitFor("authenticated", { timeoutMs: 10_000 });
    // Each drop waits for the connection to be back (an event, not a fixed interval), so a slow machine cannot make
    // the run count fewer handshakes than drops.
    for (let drop = 1; drop <= 5; drop++) {
      await waitUntil(() => client.state === "authenticated" && server.handshakes.length === drop, {
        timeoutMs: 10_000,
        what: `connection ${drop}`,
      });
      for (const socket of server.io.sockets.sockets.values()) socket.conn.close();
    }
    await waitUntil(() => client.state === "authenticated" && server.handshakes.length === 6, {
      timeoutMs: 10_000,
      what: "authenticated again after the last drop",
    });
    expect(refreshes).toBe(1);
    expect(server.handshakes.length).toBe(6);
    expect(new Set(server.handshakes.map((h) => h.token)).size).toBe(1);
    expect(server.handshakes.every((h) => h.verdict === "accepted")).toBe(true);
  });

  it("logout during a refresh: the late token is not used, no handshake follows, state stays logged out", async () => {
    const server = await startAuthServer();
    cleanups.push(() => server.close());
    let release: (() => void) | undefined;
    let started = 0;
    let returned = false;
    const client = createAuthedSocket(server.url, {
      getToken: () => null,
      refresh: async () => {
        started++;
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        const token = await signToken({ ttlSec: 600 });
        returned = true;
        return token;
      },
      logger: null,
      environment: "none",
      socket: { transports: ["websocket"] },
    });
    cleanups.push(() => client.close());
    await waitUntil(() => started === 1, { what: "the refresh to start" });
    client.logout();
    release?.();
    // The refresh settles (its token is signed and returned) after the logout.
    await waitUntil(() => returned, { what: "the refresh to return its token" });
    // A round trip on the server proves nothing was queued behind it: a fresh client handshakes meanwhile.
    const probe = createAuthedSocket(server.url, {
      refresh: () => signToken({ ttlSec: 600 }),
      logger: null,
      environment: "none",
      socket: { transports: ["websocket"] },
    });
    cleanups.push(() => probe.close());
    await probe.waitFor("authenticated", { timeoutMs: 10_000 });
    expect(server.handshakes).toHaveLength(1);
    expect(client.state).toBe("logged_out");
  });

  it("a 30-day token: no refresh, and the process exits on its own after close()", async () => {
    const server = await startAuthServer();
    cleanups.push(() => server.close());
    const script = join(tmpdir(), `authed-socket-30d-${process.pid}.mts`);
    cleanups.push(() => rmSync(script, { force: true }));
    const src = (path: string) => fileURLToPath(new URL(path, import.meta.url));
    writeFileSync(
      script,
      `import { createAuthedSocket } from ${JSON.stringify(src("../../src/index.ts"))};
import { signToken } from ${JSON.stringify(src("../helpers/jwt.ts"))};
let refreshes = 0;
const client = createAuthedSocket(process.argv[2], {
  getToken: () => signToken({ ttlSec: 30 * 86400 }),
  refresh: () => { refreshes++; return signToken({ ttlSec: 30 * 86400 }); },
  logger: null,
});
await client.waitFor("authenticated", { timeoutMs: 5000 });
// Long enough for a refresh timer that fired at once (a 30-day delay overflowing setTimeout) to show.
await new Promise((resolve) => setTimeout(resolve, 300));
client.close();
process.stdout.write(JSON.stringify({ refreshes }) + "\\n");
`,
    );
    const started = Date.now();
    const child = spawn(process.execPath, ["--import", "tsx", script, server.url], {
      cwd: src("../.."),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect({ code, err }).toEqual({ code: 0, err: "" });
    expect(JSON.parse(out.trim())).toEqual({ refreshes: 0 });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(server.handshakes.every((h) => h.verdict === "accepted")).toBe(true);
  });
});
