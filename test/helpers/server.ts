import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server, type ServerOptions } from "socket.io";

export interface TestServer {
  io: Server;
  http: HttpServer;
  url: string;
  port: number;
  close(): Promise<void>;
}

/** A real socket.io server on 127.0.0.1, port chosen by the OS. */
export async function startServer(options: Partial<ServerOptions> = {}): Promise<TestServer> {
  const http = createServer();
  const io = new Server(http, { ...options });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const port = (http.address() as AddressInfo).port;
  return {
    io,
    http,
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        io.close(() => resolve());
        http.closeAllConnections?.();
      }),
  };
}
