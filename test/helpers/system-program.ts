/**
 * A suite that needs a system program (redis-server, Flask-SocketIO): on a machine without it the suite is skipped
 * with a loud warning that names the install command, except under `CI=true`, where it runs and `requireIt()` (call
 * it first in `beforeAll`) fails with that command.
 */
export function needsProgram(suite: string, program: string, available: boolean, install: string) {
  const skip = !available && process.env.CI !== "true";
  if (skip) {
    const bar = "!".repeat(78);
    console.warn(
      `\n${bar}\n!! ${suite} SKIPPED: ${program} is not installed.\n!! Install it with: ${install}\n${bar}\n`,
    );
  }
  return {
    skip,
    requireIt(): void {
      if (!available)
        throw new Error(`${program} is required for ${suite} on CI; install it with: ${install}`);
    },
  };
}
