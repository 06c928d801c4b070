// Handshakes per second: the same socket.io server with and without `authenticate` + HS256 (jwtVerifier), one
// after the other in one run, so the ratio is what the companion costs per connection. Clients are raw
// socket.io-client over WebSocket in the same process, a fixed number in flight at a time.
import { SignJWT } from "jose";
import { io as rawIo } from "socket.io-client";
import { authenticate, jwtVerifier } from "../src/server/index.js";
import { BENCH_SECRET, benchServer } from "./server.js";

const secret = BENCH_SECRET;

const serve = (withAuth: boolean) =>
  benchServer((io) => {
    if (withAuth) io.use(authenticate({ verify: jwtVerifier({ secret, algorithms: ["HS256"] }) }));
  });

async function run(withAuth: boolean, total: number, concurrency: number, token: string) {
  const server = await serve(withAuth);
  let next = 0;
  let refused = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const socket = rawIo(server.url, {
        forceNew: true,
        transports: ["websocket"],
        reconnection: false,
        auth: { token },
      });
      socket.once("connect", () => {
        socket.close();
        resolve();
      });
      socket.once("connect_error", () => {
        refused++;
        socket.close();
        resolve();
      });
    });
  const worker = async () => {
    while (next++ < total) await one();
  };
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await server.close();
  if (refused > 0) throw new Error(`${refused} handshakes refused`);
  return { handshakes: total, seconds: Number(seconds.toFixed(3)), perSecond: Math.round(total / seconds) };
}

export async function handshake(total = 2000, concurrency = 20) {
  const token = await new SignJWT({ role: "user" })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("bench")
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(secret);
  await run(false, 200, concurrency, token); // warm-up (JIT, sockets)
  await run(true, 200, concurrency, token);
  const plain = await run(false, total, concurrency, token);
  const authed = await run(true, total, concurrency, token);
  return {
    concurrency,
    withoutAuth: plain,
    withAuthenticateHs256: authed,
    ratio: Number((authed.perSecond / plain.perSecond).toFixed(3)),
  };
}
