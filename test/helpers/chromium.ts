import { existsSync } from "node:fs";
import type { Browser } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/**
 * Whether the browser suites can run. Outside CI a missing Chromium skips them with a loud message naming the
 * install command; under CI=true a missing Chromium fails them (CI installs it).
 */
export function chromiumAvailable(suite: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  const message = `${suite}: Chromium not found at ${CHROMIUM}. Install it with: apt-get update && apt-get install -y chromium`;
  if (process.env.CI === "true") throw new Error(message);
  console.warn(`\n!!! SKIPPING ${message}\n`);
  return false;
}

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
    ],
  });
}
