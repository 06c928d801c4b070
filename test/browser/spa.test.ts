/**
 * The example SPA in real Chromium against the demo server: the lifecycle a person sees, asserted on page state
 * (not pixels), with a screenshot kept under .test-results/browser/.
 */
import { mkdirSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DemoServer, startDemoServer } from "../../demo/server.js";
import { type AuthedSocket, createAuthedSocket } from "../../src/index.js";
import { chromiumAvailable, launchChromium } from "../helpers/chromium.js";

const SHOTS = ".test-results/browser";
const USERS = { alice: "alice-pw", bob: "bob-pw" };

interface PageView {
  state: string;
  counters: { handshakes: number; inband: number; refreshes: number; disconnects: number };
}

const view = (page: Page) =>
  page.evaluate(() => {
    const demo = (window as unknown as { demo: { state(): string; counters(): PageView["counters"] } }).demo;
    return { state: demo.state(), counters: demo.counters() };
  });

/** Waits (with a deadline) until the page's view satisfies `predicate`. */
async function until(page: Page, predicate: string, timeout = 15_000): Promise<void> {
  await page.waitForFunction(
    `(() => { const d = window.demo; const s = d.state(), c = d.counters(); return ${predicate}; })()`,
    undefined,
    { timeout, polling: 50 },
  );
}

describe.runIf(chromiumAvailable("browser tests"))("the SPA in Chromium", () => {
  let browser: Browser;
  let server: DemoServer;
  const probes: AuthedSocket[] = [];

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    browser = await launchChromium();
    server = await startDemoServer({ port: 0, ttlSec: 2, users: USERS, spa: true });
  });
  afterAll(async () => {
    for (const p of probes) p.close();
    await browser?.close();
    await server?.close();
  });

  it("log in → rotations in band with no disconnect → network drop and recovery → revoke: logged out, no more handshakes", async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 760 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${server.url}/`);
    await page.click("#login");
    await until(page, 's === "authenticated"');

    await until(page, "c.inband >= 3", 20_000);
    let v = await view(page);
    expect(v.counters.disconnects).toBe(0);
    expect(v.counters.handshakes).toBe(1);
    expect(await page.textContent("#life")).toMatch(/s left/);

    await page.click("#drop");
    await until(page, 'c.disconnects >= 1 && c.handshakes >= 2 && s === "authenticated"');

    await page.click("#revoke");
    await until(page, 's === "logged_out"');
    expect(await page.textContent("#who")).toContain("revoked");
    const handshakesAtRevoke = server.stats.handshakes;

    // A barrier that proves time passed: another user's client completes two in-band rotations (≈ 2 lifetimes).
    const probe = createAuthedSocket(server.url, {
      refresh: async () => {
        const res = await fetch(`${server.url}/login`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ user: "bob", password: "bob-pw" }),
        });
        return { token: ((await res.json()) as { accessToken: string }).accessToken, expiresIn: 2000 };
      },
      logger: null,
    });
    probes.push(probe);
    await probe.waitFor("authenticated", { timeoutMs: 5000 });
    const probeHandshakes = server.stats.handshakes;
    await new Promise<void>((resolve, reject) => {
      let n = 0;
      const stop = probe.on("authenticated", ({ via }) => {
        if (via === "in-band" && ++n === 2) {
          stop();
          resolve();
        }
      });
      probe.waitFor("logged_out", { timeoutMs: 15_000 }).then(
        () => reject(new Error("probe logged out")),
        () => {},
      );
    });
    expect(server.stats.handshakes - probeHandshakes).toBe(0);
    expect(server.stats.handshakes).toBe(handshakesAtRevoke + 1); // the probe's own handshake only
    v = await view(page);
    expect(v.state).toBe("logged_out");
    await page.screenshot({ path: `${SHOTS}/spa-lifecycle.png`, fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
