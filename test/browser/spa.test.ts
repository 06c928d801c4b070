/**
 * The example SPA in real Chromium against the demo server: the lifecycle a person sees, asserted on page state
 * (not pixels), with a screenshot kept under .test-results/browser/.
 */
import { mkdirSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { io as connectRaw } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DemoServer, startDemoServer } from "../../demo/server.js";
import { type AuthedSocket, createAuthedSocket } from "../../src/index.js";
import { chromiumAvailable, launchChromium } from "../helpers/chromium.js";

const SHOTS = ".test-results/browser";
const USERS = { alice: "alice-pw", bob: "bob-pw" };

interface PageView {
  state: string;
  counters: { handshakes: number; inband: number; refreshes: number; disconnects: number; adopted: number };
}

const view = (page: Page) =>
  page.evaluate(() => {
    const demo = (window as unknown as { demo: { state(): string; counters(): PageView["counters"] } }).demo;
    return { state: demo.state(), counters: demo.counters() };
  });

/** Waits (with a deadline) until the page's view satisfies `predicate`. */
async function until(page: Page, predicate: string, timeout = 15_000): Promise<void> {
  await page.waitForFunction(
    `(() => { const d = window.demo; const s = d.state(), c = d.counters(), m = d.delivery(), srv = d.server();
      return ${predicate}; })()`,
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
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
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

  it("first run: a hint before login, acknowledged messages shown delivered, a second tab's token shown as adopted, the server panel, one row of buttons at 1280 px", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${server.url}/`);

    // Before login: the hint is there, and every control sits on one row.
    expect(
      await page.evaluate(() =>
        (window as unknown as { demo: { firstRunHint(): boolean } }).demo.firstRunHint(),
      ),
    ).toBe(true);
    expect(await page.isVisible("#first-run")).toBe(true);
    expect(await page.textContent("#first-run")).toMatch(/Log in/);
    // One row: every control starts above the bottom of every other (controls of different heights differ by a
    // pixel or two in offsetTop on the same row).
    const oneRow = await page.$$eval("#controls > *", (els) => {
      const boxes = els.map((e) => e.getBoundingClientRect());
      const lowestTop = Math.max(...boxes.map((b) => b.top));
      const highestBottom = Math.min(...boxes.map((b) => b.bottom));
      return lowestTop < highestBottom;
    });
    expect(oneRow).toBe(true);
    expect(await page.$eval("#controls", (el) => el.scrollWidth <= el.clientWidth)).toBe(true);
    await page.screenshot({ path: `${SHOTS}/spa-first-run.png`, fullPage: true });

    await page.click("#login");
    await until(page, 's === "authenticated"');
    expect(await page.isVisible("#first-run")).toBe(false);

    // Three acknowledged messages, each marked delivered when its ack arrives.
    for (const text of ["one", "two", "three"]) {
      await page.fill("#message", text);
      await page.click("#send");
    }
    await until(page, "m.delivered === 3 && m.sent === 3 && m.failed === 0");
    expect(await page.$$eval('#messages li[data-status="delivered"]', (els) => els.length)).toBe(3);
    expect(await page.textContent("#delivered")).toBe("3");

    // A second tab of the same origin joins the session: its refresh reaches the first tab as an adopted token.
    const second = await context.newPage();
    second.on("pageerror", (e) => errors.push(e.message));
    await second.goto(`${server.url}/`);
    await until(second, 's === "authenticated"');
    expect(await second.isVisible("#first-run")).toBe(false);
    await until(page, "c.adopted >= 1", 20_000);
    expect(await page.textContent('#timeline li[data-kind="adopted"]')).toMatch(/another tab/);

    // The server panel: both devices of alice, in-band rotations, and a refusal by its code.
    const intruder = connectRaw(server.url, {
      auth: { token: "not-a-jwt" },
      transports: ["websocket"],
      reconnection: false,
    });
    await new Promise<void>((resolve) => intruder.once("connect_error", () => resolve()));
    intruder.close();
    await until(
      page,
      "srv && srv.devices.alice === 2 && srv.inBand >= 1 && (srv.refusals.TOKEN_INVALID ?? 0) >= 1",
    );
    await page.waitForFunction(
      () => document.querySelector('#srv-refusals dd[data-key="TOKEN_INVALID"]') !== null,
      undefined,
      { timeout: 5000 },
    );
    expect(await page.textContent('#srv-devices dd[data-key="alice"]')).toBe("2");
    expect(Number(await page.textContent("#srv-inband"))).toBeGreaterThanOrEqual(1);
    await page.screenshot({ path: `${SHOTS}/spa-two-tabs.png`, fullPage: true });

    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);
});
