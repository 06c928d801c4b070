import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Two cores: keep parallelism modest so timing-sensitive integration tests are not starved.
    maxWorkers: 2,
    // The JSON report is what CI counts (`N passed, N failed`); the default reporter is for people.
    reporters: ["default", ["json", { outputFile: ".test-results/vitest.json" }]],
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        test: {
          // Real servers, real JWTs, child processes where a process-level fault is needed.
          name: "reliability",
          include: ["test/reliability/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          // authed-socket/react with @testing-library/react on happy-dom, against real servers; ssr.test.tsx runs
          // in plain Node (its own environment comment) to prove server rendering has no window to lean on.
          name: "react",
          include: ["test/react/**/*.test.{ts,tsx}"],
          environment: "happy-dom",
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        test: {
          name: "browser",
          include: ["test/browser/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // One Chromium at a time on two cores.
          fileParallelism: false,
        },
      },
      {
        test: {
          name: "package",
          include: ["test/package/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          // README.md and docs/*.md code blocks type-check with --strict.
          name: "docs",
          include: ["test/docs/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          // docs/protocol.md checked on the wire with raw socket.io-client sockets; against the in-process Node
          // companion unless CONFORMANCE_URL / CONFORMANCE_TARGET name another server (test/conformance/README.md).
          name: "conformance",
          include: ["test/conformance/**/*.test.ts"],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        test: {
          name: "types",
          include: [],
          typecheck: {
            enabled: true,
            only: true,
            include: ["test/types/**/*.test-d.ts"],
            tsconfig: "./tsconfig.json",
          },
        },
      },
    ],
  },
});
