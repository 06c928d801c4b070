// Heap per connected client: 500 authed-socket clients against 500 raw socket.io-client sockets on the same
// socket.io server (127.0.0.1, a free port, real HS256 JWTs checked by `authenticate`). Each kind runs in its own
// child process started with --expose-gc, so the server's heap and the other kind's garbage are not counted:
// heap after a full GC with every client connected, minus the same process's heap before the first client. Three
// children of each kind, median reported (one run moves by a few hundred bytes per client).
// The client code is bundled from src/ with esbuild first, as the package build does: loaded through tsx, every
// function gets its name set by a keepNames helper, which gives each closure its own property store (~11 KB per
// client here) that a shipped bundle does not have.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";
import { SignJWT } from "jose";
import { io as rawIo } from "socket.io-client";
import type { createAuthedSocket as CreateAuthedSocket } from "../src/index.js";
import { authenticate, jwtVerifier } from "../src/server/index.js";
import { BENCH_SECRET, benchServer } from "./server.js";

type Kind = "raw" | "authed";

const sign = () =>
  new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("bench")
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(BENCH_SECRET);

function heap(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("bench/memory.ts: run the child with node --expose-gc");
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage().heapUsed;
}

/** In the child: connects `count` clients of one kind, reports heap per client as one JSON line. */
async function child(kind: Kind, url: string, count: number, bundle: string): Promise<void> {
  const { createAuthedSocket } = (await import(pathToFileURL(bundle).href)) as {
    createAuthedSocket: typeof CreateAuthedSocket;
  };
  const token = await sign();
  // One pair of token functions shared by every client, as an app's token store gives them. Written inline per
  // client, each arrow here would be a new closure, and tsx's keepNames (this file is loaded through tsx; the client
  // bundle is not) gives every one of them a name property of its own: ~600 B a client that is the bench's, not ours.
  const getToken = () => token;
  const refresh = () => token;
  const keep: Array<{ close(): void }> = [];
  // One client of each kind first, so module-level allocations (lazy inits, JIT) are in the baseline.
  const warm = async () => {
    const raw = rawIo(url, { forceNew: true, transports: ["websocket"], auth: { token } });
    await new Promise<void>((resolve) => raw.once("connect", () => resolve()));
    raw.close();
    const authed = createAuthedSocket(url, {
      getToken,
      refresh,
      logger: null,
      environment: "none",
      socket: { transports: ["websocket"] },
    });
    await authed.waitFor("authenticated", { timeoutMs: 10_000 });
    authed.close();
  };
  await warm();
  const before = heap();
  for (let i = 0; i < count; i += 50) {
    const batch: Array<Promise<unknown>> = [];
    for (let j = i; j < Math.min(count, i + 50); j++) {
      if (kind === "raw") {
        const socket = rawIo(url, { forceNew: true, transports: ["websocket"], auth: { token } });
        keep.push(socket);
        batch.push(new Promise<void>((resolve) => socket.once("connect", () => resolve())));
      } else {
        const client = createAuthedSocket(url, {
          getToken,
          refresh,
          logger: null,
          environment: "none",
          socket: { transports: ["websocket"] },
        });
        keep.push(client);
        batch.push(client.waitFor("authenticated", { timeoutMs: 20_000 }));
      }
    }
    await Promise.all(batch);
  }
  const after = heap();
  console.log(JSON.stringify({ kind, clients: count, bytesPerClient: Math.round((after - before) / count) }));
  for (const socket of keep) socket.close();
  process.exit(0);
}

function runChild(
  kind: Kind,
  url: string,
  count: number,
  bundle: string,
): Promise<{ bytesPerClient: number }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      [
        "--expose-gc",
        "--import",
        "tsx",
        fileURLToPath(import.meta.url),
        "child",
        kind,
        url,
        String(count),
        bundle,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    proc.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    proc.on("error", reject);
    proc.on("exit", (code) => {
      const line = out.trim().split("\n").pop() ?? "";
      if (code !== 0 || !line.startsWith("{"))
        reject(new Error(`memory child (${kind}) exited ${code}: ${out}`));
      else resolve(JSON.parse(line) as { bytesPerClient: number });
    });
  });
}

/** Bundles src/index.ts as the package build does (minus minification), dependencies left external. */
async function bundleClient(): Promise<string> {
  // Inside node_modules so the bundle's bare imports (socket.io-client, jwt-decode) resolve to the project's.
  const cache = fileURLToPath(new URL("../node_modules/.cache/", import.meta.url));
  mkdirSync(cache, { recursive: true });
  const outfile = join(mkdtempSync(join(cache, "authed-socket-memory-")), "index.mjs");
  await build({
    entryPoints: [fileURLToPath(new URL("../src/index.ts", import.meta.url))],
    bundle: true,
    format: "esm",
    platform: "node",
    packages: "external",
    outfile,
    logLevel: "error",
  });
  return outfile;
}

/** The median of `runs` children of one kind: a single run's heap moves by a few hundred bytes per client. */
async function medianOf(runs: number, kind: Kind, url: string, count: number, bundle: string) {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push((await runChild(kind, url, count, bundle)).bytesPerClient);
  const sorted = [...samples].sort((a, b) => a - b);
  return { bytesPerClient: sorted[Math.floor(sorted.length / 2)] as number, samples };
}

export async function memory(count = 500, runs = 3) {
  const bundle = await bundleClient();
  const server = await benchServer((io) => {
    io.use(authenticate({ verify: jwtVerifier({ secret: BENCH_SECRET, algorithms: ["HS256"] }) }));
  });
  try {
    const raw = await medianOf(runs, "raw", server.url, count, bundle);
    const authed = await medianOf(runs, "authed", server.url, count, bundle);
    return {
      clients: count,
      runs,
      rawSamples: raw.samples,
      authedSamples: authed.samples,
      rawBytesPerClient: raw.bytesPerClient,
      authedBytesPerClient: authed.bytesPerClient,
      ratio: Number((authed.bytesPerClient / raw.bytesPerClient).toFixed(2)),
      target: 1.25,
    };
  } finally {
    await server.close();
    rmSync(dirname(bundle), { recursive: true, force: true });
  }
}

if (process.argv[2] === "child") {
  await child(
    process.argv[3] as Kind,
    process.argv[4] ?? "",
    Number(process.argv[5] ?? 500),
    process.argv[6] ?? "",
  );
}
