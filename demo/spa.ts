/**
 * Serves the example SPA (examples/spa) from the demo server: the page as is, and its script bundled by esbuild once
 * at start-up (the demo is a development tool; esbuild is a dev dependency).
 */
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const dir = fileURLToPath(new URL("../examples/spa/", import.meta.url));

export async function spaRoutes(): Promise<(req: IncomingMessage, res: ServerResponse) => boolean> {
  const html = readFileSync(`${dir}index.html`);
  const bundle = await build({
    entryPoints: [`${dir}main.ts`],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2020",
    write: false,
    sourcemap: "inline",
    logLevel: "silent",
  });
  const script = bundle.outputFiles[0]?.contents ?? new Uint8Array();
  return (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET") return false;
    if (path === "/" || path === "/index.html") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
      res.end(html);
      return true;
    }
    if (path === "/app.js") {
      res.writeHead(200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-store" });
      res.end(script);
      return true;
    }
    return false;
  };
}
