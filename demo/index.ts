/**
 * `npm run demo`: the whole lifecycle in one process, with no outside services.
 *
 * A token service (rotating refresh tokens with reuse detection), a Socket.IO server with authed-socket/server, and a
 * few bots (three users, one of them on two devices) that chat with acknowledged messages while their 10-second
 * tokens rotate in band. Midway one bot's transport is dropped (it recovers) and an admin revokes one user (both of
 * its devices log out). Ends with a summary table; exits 0 when no message was lost.
 *
 * Flags: see FLAGS below (`npm run demo -- --help` prints them).
 */
import { parseArgs } from "node:util";
import { type Bot, type BotStats, emptyStats, startBot } from "./bot.js";
import { startDemoServer } from "./server.js";

const USERS: Record<string, string> = {
  alice: "alice-pw",
  bob: "bob-pw",
  carol: "carol-pw",
  dave: "dave-pw",
};

export interface DemoOptions {
  durationSec: number;
  ttlSec: number;
  clients: number;
  port: number;
  quiet: boolean;
  serve: boolean;
}

export interface DemoResult {
  ok: boolean;
  problems: string[];
  rows: Record<string, string | number>[];
  totals: BotStats;
}

/** Every flag, with its help line: `--help` prints this table and the README lists every key. */
export const FLAGS = {
  duration: { type: "string", default: "30", arg: "<s>", help: "how long the bots run, in seconds" },
  ttl: { type: "string", default: "10", arg: "<s>", help: "access token lifetime, in seconds" },
  clients: {
    type: "string",
    default: "4",
    arg: "<n>",
    help: "how many bots; the first user gets two devices",
  },
  port: { type: "string", default: "0", arg: "<n>", help: "server port; 0 picks a free one" },
  quiet: { type: "boolean", default: false, arg: "", help: "print only the summary table" },
  serve: { type: "boolean", default: false, arg: "", help: "only the server and the SPA, until Ctrl-C" },
  help: { type: "boolean", default: false, arg: "", help: "print this help and exit" },
} as const;

export function helpText(): string {
  const entries = Object.entries(FLAGS).map(
    ([name, f]) => [`--${name}${f.arg ? ` ${f.arg}` : ""}`, f] as const,
  );
  const width = Math.max(...entries.map(([left]) => left.length));
  return [
    "Usage: npm run demo -- [flags]",
    "",
    "Runs a token service, a Socket.IO server with authed-socket/server and a few bots exchanging acknowledged",
    "messages while their tokens rotate; drops one bot's network and revokes one user midway.",
    "",
    ...entries.map(
      ([left, f]) =>
        `  ${left.padEnd(width)}  ${f.help}${f.type === "string" ? ` (default ${f.default})` : ""}`,
    ),
  ].join("\n");
}

function parse(argv: string[]): DemoOptions & { help: boolean } {
  const { values } = parseArgs({ args: argv, options: FLAGS });
  const int = (name: string, raw: string, min: number, max: number) => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`--${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
    return n;
  };
  return {
    durationSec: int("duration", values.duration, 4, 3600),
    ttlSec: int("ttl", values.ttl, 1, 3600),
    clients: int("clients", values.clients, 2, 50),
    port: int("port", values.port, 0, 65535),
    quiet: values.quiet,
    serve: values.serve,
    help: values.help,
  };
}

/** Who runs on which device: the first user gets two devices, the rest one each, round robin past that. */
function devices(count: number): { user: string; device: string }[] {
  const names = Object.keys(USERS);
  const out = [
    { user: "alice", device: "laptop" },
    { user: "alice", device: "phone" },
  ];
  for (let i = 2; i < count; i++)
    out.push({ user: names[1 + ((i - 2) % (names.length - 1))] ?? "bob", device: `device-${i}` });
  return out.slice(0, count);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runDemo(
  options: DemoOptions,
  write: (line: string) => void = console.log,
): Promise<DemoResult> {
  const started = Date.now();
  const stamp = () => `[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s]`;
  const plan = devices(options.clients);
  // Names differ in length ("alice/laptop", "carol/device-3"): pad them all to the longest so messages line up.
  const width = Math.max("server".length, ...plan.map(({ user, device }) => `${user}/${device}`.length));
  const print = (who: string, line: string) => {
    if (!options.quiet) write(`${stamp()} ${who.padEnd(width)}  ${line}`);
  };

  const server = await startDemoServer({
    port: options.port,
    ttlSec: options.ttlSec,
    users: USERS,
    spa: true,
  });
  print("server", `listening on ${server.url} (access tokens live ${options.ttlSec}s)`);
  print("server", `the SPA is at ${server.url}/ while the demo runs (npm run demo -- --serve keeps it up)`);

  const bots: Bot[] = [];
  const problems: string[] = [];
  try {
    for (const { user, device } of plan) {
      const bot = await startBot({
        baseUrl: server.url,
        user,
        password: USERS[user] ?? "",
        device,
        intervalMs: 500,
        print,
      });
      bot.client.on("logged_out", ({ reason }) => loggedOutReasons.set(bot, reason));
      bots.push(bot);
    }
    await Promise.all(bots.map((bot) => bot.client.waitFor("authenticated", { timeoutMs: 10_000 })));
    print("server", `alice is connected on ${await server.devices("alice")} devices`);

    const dropAt = options.durationSec * 400; // 40 % in
    const revokeAt = options.durationSec * 650; // 65 % in
    const dropped = bots.find((bot) => !bot.name.startsWith("alice")) ?? bots[bots.length - 1];
    await sleep(dropAt - (Date.now() - started));
    if (dropped) {
      const sockets = await server.io.fetchSockets();
      const target = sockets.find((s) => s.id === dropped.client.socket.id);
      print("chaos", `dropping ${dropped.name}'s transport`);
      // A remote socket has no access to its transport; the local server socket does.
      server.io.sockets.sockets.get(target?.id ?? "")?.conn.close();
    }

    await sleep(revokeAt - (Date.now() - started));
    print("admin", "revoking alice on every device");
    await server.revoke("alice", "signed out by an administrator");

    await sleep(options.durationSec * 1000 - (Date.now() - started));
  } finally {
    await Promise.all(bots.map((bot) => bot.stop()));
    await server.close();
  }

  const rows = bots.map((bot) => ({
    bot: bot.name,
    state: finalState(bot),
    handshakes: bot.stats.handshakes,
    ...counts(bot.stats),
  }));
  const totals = bots.reduce((t, b) => {
    for (const key of Object.keys(t) as (keyof typeof t)[]) t[key] += b.stats[key];
    return t;
  }, emptyStats());

  if (totals.lost > 0) problems.push(`${totals.lost} message(s) lost`);
  for (const bot of bots) {
    const revoked = bot.name.startsWith("alice/");
    if (revoked && finalState(bot) !== "revoked")
      problems.push(`${bot.name} was not logged out by the revocation`);
    if (!revoked && finalState(bot) !== "authenticated")
      problems.push(`${bot.name} ended ${finalState(bot)}`);
  }
  if (options.durationSec >= options.ttlSec * 1.5 && totals.inBand === 0)
    problems.push("no token was rotated in band");
  if (server.tokens.stats.reuseDetected > 0) problems.push("a refresh token was reused");
  return { ok: problems.length === 0, problems, rows, totals };
}

/** The table's counting columns; the total row uses the same function, so the two cannot disagree. */
function counts(stats: BotStats): Record<string, number> {
  return {
    handshakes: stats.handshakes,
    "in-band": stats.inBand,
    disconnects: stats.reconnects,
    refreshes: stats.refreshCalls,
    sent: stats.sent,
    acked: stats.acked,
    lost: stats.lost,
    "cut off": stats.cancelled,
  };
}

function finalState(bot: Bot): string {
  return bot.finalState === "logged_out" ? (loggedOutReasons.get(bot) ?? "logged_out") : bot.finalState;
}
const loggedOutReasons = new WeakMap<Bot, string>();

/** The per-bot table; with `totals`, a last row that sums every counting column. */
export function formatTable(perBot: Record<string, string | number>[], totals?: BotStats): string {
  const first = perBot[0];
  if (!first) return "";
  const columns = Object.keys(first);
  const rows = totals ? [...perBot, { bot: "total", state: "", ...counts(totals) }] : perBot;
  const width = (c: string) => Math.max(c.length, ...rows.map((r) => String(r[c]).length));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) =>
        i < 2 ? cell.padEnd(width(columns[i] ?? "")) : cell.padStart(width(columns[i] ?? "")),
      )
      .join("  ");
  const rule = line(columns.map((c) => "-".repeat(width(c))));
  const body = rows.map((r) => line(columns.map((c) => String(r[c] ?? ""))).trimEnd());
  if (totals) body.splice(perBot.length, 0, rule);
  return [line(columns), rule, ...body].join("\n");
}

/** Only the server, until Ctrl-C: the examples (Node bot, SPA) connect to it. */
async function serve(options: DemoOptions) {
  const server = await startDemoServer({
    port: options.port,
    ttlSec: options.ttlSec,
    users: USERS,
    spa: true,
  });
  console.log(`demo server on ${server.url} (access tokens live ${options.ttlSec}s)`);
  console.log(`open:  ${server.url}/ in a browser (log in, then open more tabs)`);
  console.log(
    `users: ${Object.entries(USERS)
      .map(([u, p]) => `${u}/${p}`)
      .join(", ")}`,
  );
  console.log(`try:   npx tsx examples/node-bot/bot.ts ${server.url} bob bob-pw`);
  process.once("SIGINT", () => {
    void server.close();
  });
}

async function main() {
  let options: ReturnType<typeof parse>;
  try {
    options = parse(process.argv.slice(2));
  } catch (error) {
    console.error(`${(error as Error).message} (npm run demo -- --help lists the flags)`);
    process.exitCode = 2;
    return;
  }
  if (options.help) return console.log(helpText());
  if (options.serve) return serve(options);
  const result = await runDemo(options);
  console.log("");
  console.log(formatTable(result.rows, result.totals));
  console.log("");
  console.log(
    "in-band: tokens rotated on the live connection; lost: acks that failed while the session was alive;\n" +
      "cut off: acks still in flight when the server revoked the session (expected, not lost)",
  );
  const t = result.totals;
  if (result.ok) console.log(`demo: ok (${t.sent} sent, ${t.acked} acked, ${t.lost} lost)`);
  else {
    console.log(`demo: FAILED — ${result.problems.join("; ")}`);
    process.exitCode = 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
