// The socket.io server both server-side benches run on: 127.0.0.1, a free port, set up by the caller.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server } from "socket.io";

export const BENCH_SECRET = new TextEncoder().encode("bench-secret-bench-secret-bench-secret!");

export async function benchServer(
  setup: (io: Server) => void,
): Promise<{ url: string; close(): Promise<void> }> {
  const http = createServer();
  const io = new Server(http);
  setup(io);
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        io.close(() => resolve());
        http.closeAllConnections();
      }),
  };
}
