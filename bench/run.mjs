// Runs every benchmark in one process and prints one JSON document. Each bench measures its own baseline in the
// same run (raw socket.io-client), so figures are comparable on whatever machine runs them.
import { sizes } from "./size.mjs";

const only = process.argv[2];
const benches = { size: sizes };
const out = {};
for (const [name, run] of Object.entries(benches)) {
  if (only && only !== name) continue;
  out[name] = await run();
}
console.log(JSON.stringify({ node: process.version, at: new Date().toISOString(), ...out }, null, 2));
