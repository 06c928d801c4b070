// A client process frozen with SIGSTOP for 8 s and resumed with SIGCONT, against a socket.io server in this process
// that verifies every handshake with jose and cuts each connection at its token's `exp`. The 3-s token expires while
// the process is stopped (its timers cannot run). After SIGCONT the client must refresh and be authenticated again
// within a deadline, never present the expired token, and never log out.
import { type ChildProcess, spawn } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { startAuthServer } from "../helpers/auth-server.js";
import { waitUntil } from "../helpers/wait.js";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface ChildEvent {
  event: string;
  at: number;
  payload?: unknown;
}

const src = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** Runs a client in its own Node process; each lifecycle event arrives as one JSON line on stdout. */
function spawnClient(url: string): { child: ChildProcess; events: ChildEvent[]; stderr: () => string } {
  const script = join(tmpdir(), `authed-socket-sigstop-${process.pid}.mts`);
  cleanups.push(() => rmSync(script, { force: true }));
  writeFileSync(
    script,
    `import { createAuthedSocket } from ${JSON.stringify(src("../../src/index.ts"))};
import { signToken } from ${JSON.stringify(src("../helpers/jwt.ts"))};
const say = (event, payload) => process.stdout.write(JSON.stringify({ event, at: Date.now(), payload }) + "\\n");
const client = createAuthedSocket(process.argv[2], {
  getToken: () => null,
  refresh: () => signToken({ ttlSec: 3 }),
  logger: null,
  environment: "none",
  socket: { transports: ["websocket"], reconnectionDelay: 100, reconnectionDelayMax: 300 },
});
for (const name of ["authenticated", "refreshing", "refreshed", "refresh_failed", "logged_out", "state"])
  client.on(name, (payload) => say(name, name === "refresh_failed" ? { code: payload.error.code } : payload));
process.stdin.on("data", () => {
  client.close();
  process.stdin.destroy();
});
`,
  );
  const child = spawn(process.execPath, ["--import", "tsx", script, url], {
    cwd: src("../.."),
    stdio: ["pipe", "pipe", "pipe"],
  });
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGCONT");
      child.kill("SIGKILL");
    }
  });
  const events: ChildEvent[] = [];
  let buffer = "";
  let err = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    buffer += chunk.toString();
    let nl = buffer.indexOf("\n");
    while (nl >= 0) {
      events.push(JSON.parse(buffer.slice(0, nl)) as ChildEvent);
      buffer = buffer.slice(nl + 1);
      nl = buffer.indexOf("\n");
    }
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    err += chunk.toString();
  });
  return { child, events, stderr: () => err };
}

describe("client process stopped with SIGSTOP", () => {
  it("stopped for 8 s while its 3-s token expires, then resumed: refreshes, is authenticated again within 5 s, never presents the expired token, never logs out", async () => {
    const server = await startAuthServer({ style: "code", cutAtExpiry: true });
    cleanups.push(() => server.close());
    const { child, events, stderr } = spawnClient(server.url);
    await waitUntil(() => events.some((e) => e.event === "authenticated"), {
      timeoutMs: 15_000,
      what: "the child to authenticate",
    });
    const firstToken = server.accepted()[0]?.token;
    expect(server.accepted()).toHaveLength(1);

    const pid = child.pid ?? 0;
    process.kill(pid, "SIGSTOP");
    const stoppedAt = Date.now();
    // The server cuts the frozen client's connection when its token expires.
    await waitUntil(() => server.kicks.length >= 1, { timeoutMs: 5000, what: "the cut at expiry" });
    expect(events.filter((e) => e.at > stoppedAt)).toEqual([]);
    // The fault itself lasts 8 s.
    await waitUntil(() => Date.now() - stoppedAt >= 8000, {
      timeoutMs: 9000,
      what: "8 s stopped",
      intervalMs: 50,
    });
    const seenBefore = events.length;
    const handshakesBefore = server.handshakes.length;
    process.kill(pid, "SIGCONT");
    const resumedAt = Date.now();
    await waitUntil(
      () =>
        events.slice(seenBefore).some((e) => e.event === "authenticated") && server.accepted().length >= 2,
      { timeoutMs: 5000, what: "authenticated again after SIGCONT" },
    );
    const recoveredMs = Date.now() - resumedAt;

    // Nothing reached the server while the process was frozen.
    expect(handshakesBefore).toBe(1);
    expect(events.some((e) => e.event === "logged_out")).toBe(false);
    expect(events.slice(seenBefore).some((e) => e.event === "refreshed")).toBe(true);
    // Every handshake carried a valid token; the one after the resume is a new one.
    expect(server.handshakes.filter((h) => h.verdict !== "accepted")).toEqual([]);
    const again = server.accepted()[1];
    expect(again?.token).not.toBe(firstToken);
    expect(again?.at ?? 0).toBeGreaterThanOrEqual(resumedAt);
    expect(recoveredMs).toBeLessThan(5000);

    child.stdin?.write("close\n");
    const code = await new Promise<number | null>((resolve) => {
      if (child.exitCode !== null) resolve(child.exitCode);
      else child.on("exit", resolve);
    });
    expect({ code, stderr: stderr() }).toEqual({ code: 0, stderr: "" });
  });
});
