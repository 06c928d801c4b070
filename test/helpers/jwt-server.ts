import { jwtVerify } from "jose";
import { TEST_SECRET } from "./jwt.js";
import { startServer, type TestServer } from "./server.js";

/**
 * A hand-written JWT middleware as the docs show it (no companion); with `state.refuse` it refuses every token, as a
 * server holding the wrong secret does. `received` lists the app events it saw; every ack is answered "ok".
 */
export async function jwtServer(
  state: { refuse: boolean } = { refuse: false },
): Promise<TestServer & { received: string[] }> {
  const server = await startServer();
  const received: string[] = [];
  server.io.use(async (socket, next) => {
    const token = (socket.handshake.auth as { token?: unknown }).token;
    try {
      if (typeof token !== "string") throw new Error("no token");
      await jwtVerify(token, TEST_SECRET);
      if (state.refuse) throw new Error("invalid signature");
      next();
    } catch (error) {
      next(error as Error);
    }
  });
  server.io.on("connection", (socket) => {
    socket.onAny((event: string, ...args: unknown[]) => {
      received.push(event);
      const ack = args.at(-1);
      if (typeof ack === "function") ack("ok");
    });
  });
  return { ...server, received };
}
