import { defineConfig } from "tsup";

export default defineConfig({
  entry: {
    index: "src/index.ts",
    "server/index": "src/server/index.ts",
    "react/index": "src/react/index.ts",
  },
  format: ["esm", "cjs"],
  dts: true,
  // No source maps: they would point at src/, which the package does not ship.
  sourcemap: false,
  clean: true,
  target: "es2020",
  // Peer and runtime dependencies stay external so users dedupe them with their own copies.
  external: ["socket.io-client", "socket.io", "jose", "jwt-decode", "mitt", "react", "react-dom"],
  esbuildPlugins: [
    {
      // authed-socket/react imports the client from the package itself: a bundled second copy would make the
      // provider's client fail `instanceof UnauthorizedError` checks against the app's own import (in CJS, where
      // tsup does not split shared code into a chunk).
      name: "react-entry-imports-the-package",
      setup(build) {
        build.onResolve({ filter: /^\.\.\/index\.js$/ }, (args) =>
          /[\\/]src[\\/]react[\\/]/.test(args.importer)
            ? { path: "authed-socket", external: true }
            : undefined,
        );
      },
    },
  ],
});
