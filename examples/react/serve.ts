/**
 * Serves the React example from the demo server: `index.html` as is and `main.tsx` bundled by esbuild once (React
 * in its development build, so StrictMode really double-mounts). `mountReactExample` puts the two routes in front of
 * the server's existing request handler (the way engine.io attaches itself), so `/login`, `/refresh`, `/admin/*`
 * and Socket.IO keep working on the same origin.
 *
 * Run it: `npx tsx examples/react/serve.ts [port]` (default 3000, users alice/alice-pw and bob/bob-pw, 10-s tokens).
 */
import { readFileSync } from "node:fs";
import type { Server as HttpServer, IncomingMessage, ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { startDemoServer } from "../../demo/server.js";

const dir = fileURLToPath(new URL(".", import.meta.url));

export async function bundleReactExample(): Promise<Uint8Array> {
  const result = await build({
    entryPoints: [`${dir}main.tsx`],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2020",
    jsx: "automatic",
    define: { "process.env.NODE_ENV": '"development"' },
    write: false,
    sourcemap: "inline",
    logLevel: "silent",
  });
  return result.outputFiles[0]?.contents ?? new Uint8Array();
}

export async function mountReactExample(http: HttpServer): Promise<void> {
  const html = readFileSync(`${dir}index.html`);
  const script = await bundleReactExample();
  const serve = (req: IncomingMessage, res: ServerResponse): boolean => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET") return false;
    const body = path === "/" || path === "/index.html" ? html : path === "/app.js" ? script : null;
    if (!body) return false;
    const type = path === "/app.js" ? "text/javascript" : "text/html";
    res.writeHead(200, { "content-type": `${type}; charset=utf-8`, "cache-control": "no-store" });
    res.end(body);
    return true;
  };
  const existing = http.listeners("request").slice() as ((
    req: IncomingMessage,
    res: ServerResponse,
  ) => void)[];
  http.removeAllListeners("request");
  http.on("request", (req: IncomingMessage, res: ServerResponse) => {
    if (serve(req, res)) return;
    for (const listener of existing) listener.call(http, req, res);
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const port = Number(process.argv[2] ?? 3000);
  const server = await startDemoServer({
    port,
    ttlSec: 10,
    users: { alice: "alice-pw", bob: "bob-pw" },
  });
  await mountReactExample(server.http);
  console.log(`React example at ${server.url}/ (log in as alice / alice-pw); Ctrl-C to stop`);
  process.on("SIGINT", () => void server.close().then(() => process.exit(0)));
}
