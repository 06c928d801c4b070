// Emit throughput, authed-socket against raw socket.io-client, paired in one process on one server: rounds alternate
// between the two (so drift and GC hit both), each round sends `perRound` acknowledged emits with `window` in flight.
// The client never wraps emit, so the ratio should sit at 1.00 within noise. `npx tsx bench/run.ts throughput`.
import { SignJWT } from "jose";
import { io as rawIo, type Socket } from "socket.io-client";
import { createAuthedSocket } from "../src/index.js";
import { authenticate, jwtVerifier } from "../src/server/index.js";
import { BENCH_SECRET, benchServer } from "./server.js";

const token = () =>
  new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("throughput")
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(BENCH_SECRET);

async function round(socket: Socket, perRound: number, window: number): Promise<number> {
  const started = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < perRound) {
      const n = next++;
      await socket.timeout(10_000).emitWithAck("echo", n);
    }
  };
  await Promise.all(Array.from({ length: window }, lane));
  return perRound / ((performance.now() - started) / 1000);
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

export async function throughput(rounds = 7, perRound = 5000, window = 32) {
  const server = await benchServer((io) => {
    io.use(authenticate({ verify: jwtVerifier({ secret: BENCH_SECRET, algorithms: ["HS256"] }) }));
    io.on("connection", (socket) => {
      socket.on("echo", (n: unknown, ack: unknown) => typeof ack === "function" && ack(n));
    });
  });
  const raw = rawIo(server.url, {
    forceNew: true,
    transports: ["websocket"],
    auth: (cb) => void token().then((t) => cb({ token: t })),
  });
  const authed = createAuthedSocket(server.url, {
    refresh: token,
    logger: null,
    socket: { transports: ["websocket"] },
  });
  await new Promise<void>((resolve) => raw.once("connect", () => resolve()));
  await authed.waitFor("authenticated", { timeoutMs: 10_000 });
  // Warm both paths before measuring.
  await round(raw, 1000, window);
  await round(authed.socket as Socket, 1000, window);
  const rawRates: number[] = [];
  const authedRates: number[] = [];
  for (let i = 0; i < rounds; i++) {
    // Alternate who goes first so neither always runs on a warmer process.
    if (i % 2 === 0) {
      rawRates.push(await round(raw, perRound, window));
      authedRates.push(await round(authed.socket as Socket, perRound, window));
    } else {
      authedRates.push(await round(authed.socket as Socket, perRound, window));
      rawRates.push(await round(raw, perRound, window));
    }
  }
  raw.close();
  authed.close();
  await server.close();
  const rawMedian = median(rawRates);
  const authedMedian = median(authedRates);
  return {
    rounds,
    perRound,
    inFlight: window,
    rawEmitsPerSecond: Math.round(rawMedian),
    authedEmitsPerSecond: Math.round(authedMedian),
    ratio: Math.round((authedMedian / rawMedian) * 1000) / 1000,
    target: 0.98,
  };
}
