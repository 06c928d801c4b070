import { defineConfig } from "tsup";

export default defineConfig({
  entry: { index: "src/index.ts", "server/index": "src/server/index.ts" },
  format: ["esm", "cjs"],
  dts: true,
  // No source maps: they would point at src/, which the package does not ship.
  sourcemap: false,
  clean: true,
  target: "es2020",
  // Peer and runtime dependencies stay external so users dedupe them with their own copies.
  external: ["socket.io-client", "socket.io", "jose", "jwt-decode", "mitt"],
});
