// Fleet spread of proactive refresh instants: 500 simulated clients holding tokens with one shared `exp`. Pure
// maths (the same functions the token keeper calls), so it needs no sockets and runs in milliseconds. The old
// margin + jitter pattern (20 % margin capped at a minute, jitter 0.5) is measured in the same run for comparison.
import { REFRESH_WINDOW, refreshInstant, refreshInstantInWindow } from "../src/schedule.js";

/** The old default margin the comparison uses: 20 % of the lifetime, at most a minute. */
const oldMargin = (lifetimeMs: number) => Math.min(60_000, lifetimeMs * 0.2);

const CLIENTS = 500;
const EXP = 1_700_000_000_000;

function summary(instants: number[], lifetimeMs: number) {
  const first = Math.min(...instants);
  const last = Math.max(...instants);
  // The busiest 1 % slice of the lifetime: how many clients refresh together at the worst moment.
  const slice = lifetimeMs / 100;
  const counts = new Map<number, number>();
  for (const at of instants) {
    const key = Math.floor((at - first) / slice);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return {
    spreadMs: Math.round(last - first),
    spreadOfLifetime: Number(((last - first) / lifetimeMs).toFixed(4)),
    earliestAtLifeFraction: Number((1 - (EXP - first) / lifetimeMs).toFixed(4)),
    latestAtLifeFraction: Number((1 - (EXP - last) / lifetimeMs).toFixed(4)),
    leastLeftBeforeExpiryMs: Math.round(EXP - last),
    busiestPercentOfLifetime: Math.max(...counts.values()),
  };
}

export function spread(random: () => number = Math.random) {
  const out: Record<string, unknown> = { clients: CLIENTS };
  for (const [label, lifetimeMs] of [
    ["3s", 3000],
    ["10s", 10_000],
    ["15min", 900_000],
    ["1h", 3_600_000],
    ["30d", 30 * 86_400_000],
  ] as const) {
    const window = Array.from({ length: CLIENTS }, () =>
      refreshInstantInWindow({ expiresAt: EXP, lifetimeMs, random: random() }),
    );
    const old = Array.from({ length: CLIENTS }, () =>
      refreshInstant({
        expiresAt: EXP,
        lifetimeMs,
        marginMs: oldMargin(lifetimeMs),
        jitter: 0.5,
        random: random(),
      }),
    );
    out[label] = {
      window: { windowOfLifetime: REFRESH_WINDOW, ...summary(window, lifetimeMs) },
      marginJitter: summary(old, lifetimeMs),
    };
  }
  return out;
}
