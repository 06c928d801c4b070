// Measures what the client costs in a browser bundle: the `authed-socket` entry minified and gzipped with
// socket.io-client left external (our code + jwt-decode + mitt), next to socket.io-client itself bundled the same
// way in the same run. Prints JSON.
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));

async function measure(name, contents, external) {
  const result = await build({
    stdin: { contents, resolveDir: root, loader: "ts" },
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    target: "es2020",
    write: false,
    external,
    logLevel: "silent",
  });
  const code = result.outputFiles[0].contents;
  return { name, minifiedBytes: code.length, gzipBytes: gzipSync(code, { level: 9 }).length };
}

export async function sizes() {
  const client = await measure(
    "authed-socket (client entry; socket.io-client external)",
    'export * from "./src/index.ts";',
    ["socket.io-client"],
  );
  const baseline = await measure("socket.io-client (io only, bundled)", 'export { io } from "socket.io-client";', []);
  return { client, baseline, budgetGzipBytes: 2560, withinBudget: client.gzipBytes <= 2560 };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await sizes(), null, 2));
}
