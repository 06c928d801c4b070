/**
 * The published package, as users get it: `npm pack`, unpack into a consumer folder, then use it from ESM `import`,
 * CJS `require`, and TypeScript with `moduleResolution` node16 and bundler. Also the packaging linters (publint,
 * attw) and the size budget. `npm pack` runs `prepack` (the build), so no earlier build is needed.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { beforeAll, describe, expect, it } from "vitest";
import { BUDGET_GZIP_BYTES, sizes } from "../../bench/size.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
// Inside the repository so the consumer resolves peer dependencies (socket.io-client, socket.io) from its
// node_modules without a network install; the package itself resolves from the consumer's own node_modules.
const consumer = join(root, ".test-results", "consumer");
const bin = (name: string) => join(root, "node_modules", ".bin", name);
const run = (cmd: string, args: string[], cwd = consumer) =>
  execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

// `npm pack --json` prints the prepack build's output first; the JSON report is what follows the line "[".
const packReport = (out: string) => JSON.parse(out.slice(out.search(/^\[$/m)));

let packed: { files: { path: string }[]; filename: string }[] = [];

beforeAll(() => {
  rmSync(consumer, { recursive: true, force: true });
  mkdirSync(join(consumer, "node_modules", "authed-socket"), { recursive: true });
  packed = packReport(run("npm", ["pack", "--json", "--pack-destination", consumer], root));
  const tarball = join(consumer, packed[0]?.filename ?? "");
  run("tar", ["xzf", tarball, "-C", join(consumer, "node_modules", "authed-socket"), "--strip-components=1"]);
}, 60_000);

describe("the packed tarball", () => {
  it("ships dist, README, CHANGELOG, LICENSE and package.json only", () => {
    const files = packed[0]?.files.map((f) => f.path) ?? [];
    expect(
      files.filter((f) => !/^(dist\/|README\.md$|CHANGELOG\.md$|LICENSE$|package\.json$)/.test(f)),
    ).toEqual([]);
    expect(files).toContain("dist/index.d.ts");
    expect(files).toContain("dist/index.d.cts");
    expect(files).toContain("dist/server/index.d.ts");
    expect(files).toContain("dist/server/index.d.cts");
  });

  it("ships no source maps (they would point at src/, which is not shipped)", () => {
    const files = packed[0]?.files.map((f) => f.path) ?? [];
    expect(files.filter((f) => f.endsWith(".map"))).toEqual([]);
  });

  it("names its repository, homepage and issue tracker", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    expect(pkg.repository?.url).toMatch(/^git\+https:\/\/github\.com\/.+\.git$/);
    expect(pkg.homepage).toMatch(/^https:\/\/github\.com\//);
    expect(pkg.bugs?.url).toMatch(/^https:\/\/github\.com\/.+\/issues$/);
  });

  it("loads with ESM import", () => {
    writeFileSync(
      join(consumer, "esm.mjs"),
      `import { createAuthedSocket, UnauthorizedError, refreshWithFetch } from "authed-socket";
import { authenticate, jwtVerifier, disconnectUser } from "authed-socket/server";
console.log([createAuthedSocket, refreshWithFetch, authenticate, jwtVerifier, disconnectUser].map((f) => typeof f).join(","), new UnauthorizedError().code);`,
    );
    expect(run(process.execPath, ["esm.mjs"]).trim()).toBe(
      "function,function,function,function,function ERR_UNAUTHORIZED",
    );
  });

  it("loads with CJS require", () => {
    writeFileSync(
      join(consumer, "cjs.cjs"),
      `const { createAuthedSocket, isAuthedSocketError, UnauthorizedError } = require("authed-socket");
const { authenticate, userRoom } = require("authed-socket/server");
console.log(typeof createAuthedSocket, typeof authenticate, userRoom("u1").length > 2, isAuthedSocketError(new UnauthorizedError()));`,
    );
    expect(run(process.execPath, ["cjs.cjs"]).trim()).toBe("function function true true");
  });

  it.each(["node10", "node16", "bundler"])(
    "type-checks a consumer with moduleResolution %s",
    (resolution) => {
      const dir = join(consumer, `ts-${resolution}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, "consumer.ts"),
        `import { createAuthedSocket, type AuthedSocketEvents, UnauthorizedError } from "authed-socket";
import { authenticate, jwtVerifier, type AuthSocketData } from "authed-socket/server";
interface S2C { chat: (text: string) => void }
interface C2S { send: (text: string, ack: (ok: boolean) => void) => void }
const client = createAuthedSocket<S2C, C2S>("http://localhost", {
  refresh: async () => { throw new UnauthorizedError(); },
  socket: { autoConnect: false },
});
client.socket.emit("send", "hi", (ok: boolean) => ok);
client.on("authenticated", (e: AuthedSocketEvents["authenticated"]) => e.via);
const middleware = authenticate({ verify: jwtVerifier({ secret: "0123456789abcdef0123456789abcdef", algorithms: ["HS256"] }) });
export type Data = AuthSocketData;
export { middleware };
client.close();
`,
      );
      const module = { node10: "commonjs", node16: "node16", bundler: "esnext" }[resolution];
      writeFileSync(
        join(dir, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            module,
            moduleResolution: resolution,
            target: "es2022",
            strict: true,
            noEmit: true,
            skipLibCheck: false,
            types: [],
            lib: ["es2022", "dom"],
          },
          files: ["consumer.ts"],
        }),
      );
      expect(() => run(bin("tsc"), ["-p", "tsconfig.json"], dir)).not.toThrow();
    },
  );
});

describe("the react entry", () => {
  it("ships ESM, CJS and both type files under dist/react", () => {
    const files = packed[0]?.files.map((f) => f.path) ?? [];
    for (const file of ["index.js", "index.cjs", "index.d.ts", "index.d.cts"])
      expect(files).toContain(`dist/react/${file}`);
  });

  it("imports the client from the package instead of bundling a second copy (one UnauthorizedError class)", () => {
    const dir = join(consumer, "node_modules", "authed-socket", "dist", "react");
    const esm = readFileSync(join(dir, "index.js"), "utf8");
    const cjs = readFileSync(join(dir, "index.cjs"), "utf8");
    expect(esm).toMatch(/from "authed-socket"/);
    expect(cjs).toMatch(/require\("authed-socket"\)/);
    for (const code of [esm, cjs]) {
      expect(code).not.toMatch(/class UnauthorizedError|function createAuthedSocket/);
      // Next.js App Router: the entry is a client module.
      expect(code).toMatch(/^("use strict";\s*)?"use client";/);
    }
  });

  it("leaves React out of the main and server entries", () => {
    const dist = join(consumer, "node_modules", "authed-socket", "dist");
    for (const file of ["index.js", "index.cjs", "server/index.js", "server/index.cjs"])
      expect(readFileSync(join(dist, file), "utf8")).not.toMatch(/from "react|require\("react/);
  });

  it("loads no OpenTelemetry code from the main and server entries (metrics take the app's Meter; types only)", () => {
    const dist = join(consumer, "node_modules", "authed-socket", "dist");
    for (const file of ["index.js", "index.cjs", "server/index.js", "server/index.cjs"])
      expect(readFileSync(join(dist, file), "utf8")).not.toMatch(/@opentelemetry/);
  });

  it("drops instrumentClient from a browser bundle that does not import it", async () => {
    const bundle = async (contents: string) =>
      (
        await build({
          stdin: { contents, resolveDir: consumer, loader: "js" },
          bundle: true,
          format: "esm",
          platform: "browser",
          write: false,
          external: ["socket.io-client"],
          logLevel: "silent",
        })
      ).outputFiles[0]?.text ?? "";
    expect(await bundle('export { createAuthedSocket } from "authed-socket";')).not.toContain(
      "authed_socket.client",
    );
    // The control: the same bundler keeps it when it is imported, so the check above can fail.
    expect(await bundle('export { instrumentClient } from "authed-socket";')).toContain(
      "authed_socket.client",
    );
  });

  it("renders on the server from ESM import and CJS require, sharing the app's client", () => {
    const app = (load: string) => `${load}
const client = createAuthedSocket("http://127.0.0.1:1", { refresh: () => null, socket: { autoConnect: false }, logger: null });
function Show() {
  const { state } = useAuthState();
  return createElement("p", null, state, useAuthedSocket() === client ? " same client" : " another client");
}
console.log(renderToString(createElement(AuthedSocketProvider, { client }, createElement(Show))));
client.close();`;
    writeFileSync(
      join(consumer, "react-esm.mjs"),
      app(`import { createAuthedSocket } from "authed-socket";
import { AuthedSocketProvider, useAuthedSocket, useAuthState } from "authed-socket/react";
import { createElement } from "react";
import { renderToString } from "react-dom/server";`),
    );
    writeFileSync(
      join(consumer, "react-cjs.cjs"),
      app(`const { createAuthedSocket } = require("authed-socket");
const { AuthedSocketProvider, useAuthedSocket, useAuthState } = require("authed-socket/react");
const { createElement } = require("react");
const { renderToString } = require("react-dom/server");`),
    );
    expect(run(process.execPath, ["react-esm.mjs"]).trim()).toBe("<p>idle<!-- --> same client</p>");
    expect(run(process.execPath, ["react-cjs.cjs"]).trim()).toBe("<p>idle<!-- --> same client</p>");
  });

  it.each(["node10", "node16", "bundler"])(
    "type-checks a React consumer with moduleResolution %s",
    (resolution) => {
      const dir = join(consumer, `ts-react-${resolution}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, "consumer.tsx"),
        `import { createAuthedSocket } from "authed-socket";
import { AuthedSocketProvider, useAuthedSocket, useAuthState, useLifecycleEvent, useSocketEvent } from "authed-socket/react";
interface S2C { chat: (text: string, from: string) => void }
interface C2S { send: (text: string, ack: (ok: boolean) => void) => void }
function Chat() {
  const client = useAuthedSocket<S2C, C2S>();
  const { state, expiresAt } = useAuthState();
  useSocketEvent<S2C, "chat">("chat", (text: string, from: string) => console.log(text.length, from.length));
  useLifecycleEvent("logged_out", ({ reason }) => console.log(reason));
  return <button onClick={() => client?.socket.emit("send", "hi", (ok: boolean) => ok)}>{state} {expiresAt}</button>;
}
export const owned = <AuthedSocketProvider url="http://localhost" options={{ refresh: async () => null }}><Chat /></AuthedSocketProvider>;
const client = createAuthedSocket<S2C, C2S>("http://localhost", { refresh: async () => null, socket: { autoConnect: false } });
export const given = <AuthedSocketProvider client={client}><Chat /></AuthedSocketProvider>;
`,
      );
      const module = { node10: "commonjs", node16: "node16", bundler: "esnext" }[resolution];
      writeFileSync(
        join(dir, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            module,
            moduleResolution: resolution,
            target: "es2022",
            jsx: "react-jsx",
            strict: true,
            noEmit: true,
            skipLibCheck: false,
            types: [],
            lib: ["es2022", "dom"],
          },
          files: ["consumer.tsx"],
        }),
      );
      expect(() => run(bin("tsc"), ["-p", "tsconfig.json"], dir)).not.toThrow();
    },
  );
});

describe("packaging linters", () => {
  it("publint --strict is clean", () => {
    expect(run(bin("publint"), ["--strict"], root)).toMatch(/All good/);
  }, 60_000);

  it("attw finds no problem in any of its default profiles, node10 included", () => {
    // node10 (`"moduleResolution": "node"`, still common in apps) finds subpath types through typesVersions.
    expect(() => run(bin("attw"), ["--pack", "."], root)).not.toThrow();
  }, 60_000);
});

describe("packing a fresh clone", () => {
  it("builds on prepack, so the tarball of a tree without dist/ still ships dist/", () => {
    const clone = join(root, ".test-results", "clean-clone");
    rmSync(clone, { recursive: true, force: true });
    mkdirSync(clone, { recursive: true });
    // The working tree's tracked and unignored files: what a clone (or a git dependency) checks out, no dist/.
    const tracked = run("git", ["ls-files", "--cached", "--others", "--exclude-standard"], root)
      .split("\n")
      .filter((f) => f && existsSync(join(root, f)));
    writeFileSync(join(clone, ".files"), tracked.join("\n"));
    run("tar", ["-cf", join(clone, "tree.tar"), "-T", join(clone, ".files")], root);
    run("tar", ["xf", "tree.tar"], clone);
    rmSync(join(clone, "tree.tar"));
    expect(existsSync(join(clone, "dist"))).toBe(false);
    // Dependencies are not part of the question; link them instead of installing.
    symlinkSync(join(root, "node_modules"), join(clone, "node_modules"), "dir");
    const out = packReport(run("npm", ["pack", "--json", "--pack-destination", clone], clone));
    const files: string[] = out[0]?.files.map((f: { path: string }) => f.path) ?? [];
    expect(files).toContain("dist/index.js");
    expect(files).toContain("dist/index.cjs");
    expect(files).toContain("dist/server/index.js");
    expect(files).toContain("dist/server/index.cjs");
  });
});

describe("size budget", () => {
  it(`createAuthedSocket costs at most ${BUDGET_GZIP_BYTES} bytes min+gz with socket.io-client external`, async () => {
    const { client } = await sizes();
    if (client.gzipBytes > BUDGET_GZIP_BYTES)
      throw new Error(
        `the client entry grew to ${client.gzipBytes} bytes min+gz (budget ${BUDGET_GZIP_BYTES})`,
      );
    expect(client.gzipBytes).toBeGreaterThan(0);
  });
});
