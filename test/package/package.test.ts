/**
 * The published package, as users get it: `npm pack`, unpack into a consumer folder, then use it from ESM `import`,
 * CJS `require`, and TypeScript with `moduleResolution` node16 and bundler. Also the packaging linters (publint,
 * attw) and the size budget. Runs after `npm run build` (npm test builds first).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { BUDGET_GZIP_BYTES, sizes } from "../../bench/size.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
// Inside the repository so the consumer resolves peer dependencies (socket.io-client, socket.io) from its
// node_modules without a network install; the package itself resolves from the consumer's own node_modules.
const consumer = join(root, ".test-results", "consumer");
const bin = (name: string) => join(root, "node_modules", ".bin", name);
const run = (cmd: string, args: string[], cwd = consumer) =>
  execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

let packed: { files: { path: string }[]; filename: string }[] = [];

beforeAll(() => {
  if (!existsSync(join(root, "dist", "index.js")))
    throw new Error("dist/ is missing: run `npm run build` first");
  rmSync(consumer, { recursive: true, force: true });
  mkdirSync(join(consumer, "node_modules", "authed-socket"), { recursive: true });
  packed = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", consumer], root));
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

  it.each(["node16", "bundler"])("type-checks a consumer with moduleResolution %s", (resolution) => {
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
    const module = resolution === "node16" ? "node16" : "esnext";
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
  });
});

describe("packaging linters", () => {
  it("publint --strict is clean", () => {
    expect(run(bin("publint"), ["--strict"], root)).toMatch(/All good/);
  }, 60_000);

  it("attw finds no problem for node16 (ESM and CJS) and bundlers", () => {
    // node10 is out of scope: it cannot resolve subpath exports at all, and engines requires Node >= 18.
    expect(() => run(bin("attw"), ["--pack", ".", "--profile", "node16"], root)).not.toThrow();
  }, 60_000);
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
