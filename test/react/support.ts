/**
 * What the React tests share: a real socket.io server guarded by the companion (so rotations happen in band and a
 * reconnect would show as a second handshake), real signed JWTs, and options that count what the client does.
 */
import { io as realIo, type Socket } from "socket.io-client";
import type { AuthedSocketOptions, SocketIoOptions } from "../../src/index.js";
import { authenticate, jwtVerifier } from "../../src/server/index.js";
import { signToken, TEST_SECRET } from "../helpers/jwt.js";
import { startServer, type TestServer } from "../helpers/server.js";

export interface ChatServer extends TestServer {
  /** Handshakes the companion judged (accepted or not). */
  handshakes(): number;
  /**
   * Engine.io connections ever opened (WebSockets, with the tests' transport): a client that opened a connection
   * and closed it before its handshake would show here, not in `handshakes`.
   */
  transports(): number;
  /** Sockets connected now. */
  connected(): number;
  /** Sends `message(text, from)` to every connected socket. */
  broadcast(text: string, from?: string): void;
}

export async function startChatServer(): Promise<ChatServer> {
  const server = await startServer();
  let handshakes = 0;
  let transports = 0;
  server.io.engine.on("connection", () => {
    transports++;
  });
  const guard = authenticate({ verify: jwtVerifier({ secret: TEST_SECRET, algorithms: ["HS256"] }) });
  server.io.use((socket, next) => {
    handshakes++;
    guard(socket, next);
  });
  server.io.on("connection", (socket) => {
    socket.on("echo", (value: unknown, ack: unknown) => {
      if (typeof ack === "function") ack(value);
    });
  });
  return {
    ...server,
    handshakes: () => handshakes,
    transports: () => transports,
    connected: () => server.io.sockets.sockets.size,
    broadcast: (text, from = "server") => void server.io.emit("message", text, from),
  };
}

export interface Counted {
  options: AuthedSocketOptions;
  /** Sockets the client asked socket.io-client for (one per client created, connected or not). */
  sockets(): number;
  /** Of those, the sockets whose connection was ever started (socket.io's Manager `open()`). */
  opened(): number;
  /** Every socket created, in order. */
  readonly created: readonly Socket[];
  /** Calls to `refresh`. */
  refreshes(): number;
}

/** Options whose `refresh` signs a real token and whose `io` counts the sockets created and those opened. */
export function countedOptions(extra: Partial<AuthedSocketOptions> = {}): Counted {
  const created: Socket[] = [];
  const opened = new Set<Socket>();
  let refreshes = 0;
  const options: AuthedSocketOptions = {
    refresh: () => {
      refreshes++;
      return signToken({ subject: "react-user", ttlSec: 60 });
    },
    logger: null,
    socket: { transports: ["websocket"] },
    io: (url: string, socketOptions: SocketIoOptions): Socket => {
      const socket = realIo(url, socketOptions);
      created.push(socket);
      // Every way of connecting (socket.connect(), a reconnect, manager.connect()) goes through the manager's open.
      const manager = socket.io;
      const open = manager.open.bind(manager);
      manager.open = ((callback?: (error?: Error) => void) => {
        opened.add(socket);
        return open(callback);
      }) as typeof manager.open;
      return socket;
    },
    ...extra,
  };
  return {
    options,
    sockets: () => created.length,
    opened: () => opened.size,
    created,
    refreshes: () => refreshes,
  };
}

/** A socket.io server event map the tests type their hooks with. */
export interface ServerToClient {
  message: (text: string, from: string) => void;
}
export interface ClientToServer {
  echo: (value: string, ack: (value: string) => void) => void;
}
