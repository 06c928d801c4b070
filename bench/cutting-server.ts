// The server of `bench/cutting.ts load`, in a process of its own: `companion` or `cutting` as its argument. Sends
// `{ url }` when it listens; answers "stats" with its ServerStats and exits on "close". Started by cutting.ts.

import { companionSetup, cuttingSetup, type ServerStats } from "./cutting.js";
import { benchServer } from "./server.js";

const kind = process.argv[2];
if (kind !== "companion" && kind !== "cutting") throw new Error("usage: cutting-server.ts companion|cutting");
const stats: ServerStats = { handshakes: [], refused: 0, kicks: 0 };
const server = await benchServer(kind === "companion" ? companionSetup(stats) : cuttingSetup(stats));
process.on("message", async (message) => {
  if (message === "stats") process.send?.(stats);
  if (message === "close") {
    await server.close();
    process.exit(0);
  }
});
process.send?.({ url: server.url });
