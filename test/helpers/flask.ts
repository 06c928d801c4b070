/**
 * A real Flask-SocketIO server (test/fixtures/flask_socketio_server.py) in a child process, on a port of 127.0.0.1
 * the OS chooses, for the suite that checks the client against the Python stack many apps run. Debian:
 * `apt-get install -y python3-flask-socketio python3-jwt`; Debian's own python3 runs it (/usr/bin/python3).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { TEST_SECRET } from "./jwt.js";

export const FLASK_INSTALL_HINT = "apt-get install -y python3-flask-socketio python3-jwt python3-eventlet";
const PYTHON = "/usr/bin/python3";
const SCRIPT = fileURLToPath(new URL("../fixtures/flask_socketio_server.py", import.meta.url));

/** True when Debian's python3 can import Flask-SocketIO, PyJWT and eventlet. */
export function flaskSocketioAvailable(): boolean {
  const probe = spawnSync(PYTHON, ["-c", "import flask_socketio, jwt, eventlet"], { stdio: "ignore" });
  return probe.error === undefined && probe.status === 0;
}

export interface FlaskHandshake {
  verdict: "accepted" | "expired" | "invalid" | "missing";
  at: number;
  /** The transport an accepted connection opened on. */
  transport?: "polling" | "websocket";
}

/**
 * How the server runs: "threading" under Werkzeug (HTTP long-polling only, Flask's development server) or
 * "eventlet" under eventlet's WSGI server (polling and the websocket upgrade, as Flask-SocketIO apps are deployed).
 */
export type FlaskAsyncMode = "threading" | "eventlet";

export interface FlaskOptions {
  /** Emit `auth_error {code: TOKEN_EXPIRED}` and disconnect each connection at its handshake token's `exp`. */
  cutAtExpiry?: boolean;
  asyncMode?: FlaskAsyncMode;
  /**
   * How a bad token is turned away: "refuse" raises ConnectionRefusedError with a message and "false" returns False
   * (each a `connect_error` on the client); "auth_error" emits `auth_error` and calls disconnect() inside the
   * connect handler.
   */
  refuseWith?: "refuse" | "false" | "auth_error";
  /** python-socketio's `always_connect`: the CONNECT is answered before the connect handler runs. */
  alwaysConnect?: boolean;
}

export interface FlaskServer {
  url: string;
  handshakes: FlaskHandshake[];
  accepted(): FlaskHandshake[];
  kicks: number[];
  stop(): Promise<void>;
}

/** Starts the server and resolves once it listens (or rejects with its output). */
export async function startFlask(options: FlaskOptions = {}, timeoutMs = 15_000): Promise<FlaskServer> {
  const child: ChildProcess = spawn(PYTHON, [SCRIPT], {
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      TOKEN_SECRET: new TextDecoder().decode(TEST_SECRET),
      CUT_AT_EXPIRY: options.cutAtExpiry ? "1" : "0",
      ASYNC_MODE: options.asyncMode ?? "threading",
      REFUSE_WITH: options.refuseWith ?? "refuse",
      ALWAYS_CONNECT: options.alwaysConnect ? "1" : "0",
      PYTHONUNBUFFERED: "1",
    },
  });
  const handshakes: FlaskHandshake[] = [];
  const kicks: number[] = [];
  let output = "";
  let pending = "";
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the Flask-SocketIO server did not start within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.stdout?.on("data", (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        const event = JSON.parse(line) as {
          listening?: number;
          handshake?: FlaskHandshake["verdict"];
          at?: number;
          transport?: FlaskHandshake["transport"];
          kick?: number;
        };
        if (event.listening !== undefined) {
          clearTimeout(timer);
          resolve(event.listening);
        } else if (event.handshake !== undefined)
          handshakes.push({
            verdict: event.handshake,
            at: event.at ?? 0,
            ...(event.transport ? { transport: event.transport } : {}),
          });
        else if (event.kick !== undefined) kicks.push(event.kick);
      }
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the Flask-SocketIO server exited with code ${code}:\n${output}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    handshakes,
    accepted: () => handshakes.filter((h) => h.verdict === "accepted"),
    kicks,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
