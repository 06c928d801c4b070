// `npm run bench [name]`: runs the benchmarks in one process and prints one JSON document. Each bench measures its
// baseline (raw socket.io-client) in the same run, so figures compare on whatever machine runs them.
import { cutting } from "./cutting.js";
import { handshake } from "./handshake.js";
import { memory } from "./memory.js";
import { redaction } from "./redaction.js";
import { revocation } from "./revocation.js";
import { rotation } from "./rotation.js";
import { sizes } from "./size.js";
import { spread } from "./spread.js";
import { throughput } from "./throughput.js";

const benches: Record<string, () => Promise<unknown>> = {
  size: sizes,
  rotation: () => rotation(),
  handshake: () => handshake(),
  spread: async () => spread(),
  memory: () => memory(),
  throughput: () => throughput(),
  redaction: async () => redaction(),
  cutting: () => cutting(undefined, process.argv.slice(3)),
  revocation: () => revocation(),
};
const only = process.argv[2];
if (only && !(only in benches)) {
  console.error(`unknown bench "${only}"; one of: ${Object.keys(benches).join(", ")}`);
  process.exit(2);
}
const out: Record<string, unknown> = {};
for (const [name, run] of Object.entries(benches)) if (!only || only === name) out[name] = await run();
console.log(JSON.stringify({ node: process.version, at: new Date().toISOString(), ...out }, null, 2));
