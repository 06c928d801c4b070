// Redaction cost on hostile input: a ~1 MB message of repeated "eyJ" (every third position a candidate JWT start)
// with a real JWT-shaped token at the end, next to a plain 1 MB message without candidates. Median of 9 runs.
import { redactText } from "../src/log.js";

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
const token = `${b64({ alg: "HS256" })}.${b64({ sub: "u", exp: 2 })}.c2lnbmF0dXJl`;

function median(run: () => void): number {
  const times: number[] = [];
  for (let i = 0; i < 9; i++) {
    const started = performance.now();
    run();
    times.push(performance.now() - started);
  }
  return Math.round((times.sort((a, b) => a - b)[4] as number) * 100) / 100;
}

export function redaction() {
  const hostile = `${"eyJ".repeat(350_000)} ${token}`;
  const plain = `${"abc".repeat(350_000)} ${token}`;
  redactText("eyJa.b.c warm-up", []);
  return {
    inputBytes: hostile.length,
    hostileMs: median(() => redactText(hostile, ["a-known-secret-token-value"])),
    plainMs: median(() => redactText(plain, ["a-known-secret-token-value"])),
  };
}
