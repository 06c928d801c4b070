/**
 * Three tabs of one origin against the demo server's rotating refresh tokens with reuse detection. Without
 * coordination each tab refreshes on its own, the second one presents a spent refresh token, and the server logs the
 * user out everywhere. With `crossTab` exactly one tab refreshes per token lifetime and the others adopt its token.
 */
import { mkdirSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DemoServer, startDemoServer } from "../../demo/server.js";
import { chromiumAvailable, launchChromium } from "../helpers/chromium.js";

const SHOTS = ".test-results/browser";
const TTL_SEC = 2;

const state = (page: Page) =>
  page.evaluate(() => (window as unknown as { demo: { state(): string } }).demo.state());
const counters = (page: Page) =>
  page.evaluate(() =>
    (window as unknown as { demo: { counters(): { refreshes: number; inband: number } } }).demo.counters(),
  );

describe.runIf(chromiumAvailable("browser tests"))("several tabs, one refresh", () => {
  let browser: Browser;
  let server: DemoServer;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    browser = await launchChromium();
    server = await startDemoServer({
      port: 0,
      ttlSec: TTL_SEC,
      users: { alice: "alice-pw", mallory: "mallory-pw" },
      spa: true,
    });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("3 tabs over 5 token lifetimes: about one refresh per lifetime in total, nobody logged out", async () => {
    const context = await browser.newContext({ viewport: { width: 1000, height: 760 } });
    const first = await context.newPage();
    await first.goto(`${server.url}/`);
    await first.click("#login");
    await first.waitForFunction(
      () => (window as unknown as { demo: { state(): string } }).demo.state() === "authenticated",
    );
    const others = [await context.newPage(), await context.newPage()];
    for (const page of others) {
      await page.goto(`${server.url}/`); // joins the session stored by the first tab
      await page.waitForFunction(
        () => (window as unknown as { demo: { state(): string } }).demo.state() === "authenticated",
      );
    }
    const pages = [first, ...others];
    const refreshesAtStart = server.tokens.stats.refreshes;

    // Five lifetimes, measured by the server's clock of events rather than a sleep: wait until the first tab has
    // rotated its token in band five more times.
    const { inband: inbandAtStart } = await counters(first);
    await first.waitForFunction(
      (target) =>
        (window as unknown as { demo: { counters(): { inband: number } } }).demo.counters().inband >= target,
      inbandAtStart + 5,
      { timeout: 30_000, polling: 50 },
    );

    const refreshes = server.tokens.stats.refreshes - refreshesAtStart;
    const perTab = await Promise.all(pages.map(counters));
    const states = await Promise.all(pages.map(state));
    await first.screenshot({ path: `${SHOTS}/tabs-first.png`, fullPage: true });
    console.log(
      JSON.stringify({
        lifetimes: 5,
        refreshes,
        perTab: perTab.map((c) => c.refreshes),
        reuse: server.tokens.stats.reuseDetected,
      }),
    );

    // Live in every tab (a tab may be mid-rotation at this instant), and no tab ever logged out.
    for (const s of states) expect(["authenticated", "refreshing"]).toContain(s);
    const loggedOut = await Promise.all(
      pages.map((p) => p.evaluate(() => document.querySelectorAll('li[data-kind="logged_out"]').length)),
    );
    expect(loggedOut).toEqual([0, 0, 0]);
    expect(server.tokens.stats.reuseDetected).toBe(0);
    // One per lifetime, not one per tab (15): allow one extra for a lifetime boundary at each end of the window.
    expect(refreshes).toBeGreaterThanOrEqual(4);
    expect(refreshes).toBeLessThanOrEqual(7);
    await context.close();
  }, 60_000);
  /** Three tabs of one context logged in as alice. */
  async function aliceTabs() {
    const context = await browser.newContext();
    const first = await context.newPage();
    await first.goto(`${server.url}/`);
    await first.click("#login");
    await first.waitForFunction(
      () => (window as unknown as { demo: { state(): string } }).demo.state() === "authenticated",
    );
    const pages = [first];
    for (let i = 0; i < 2; i++) {
      const page = await context.newPage();
      await page.goto(`${server.url}/`);
      await page.waitForFunction(
        () => (window as unknown as { demo: { state(): string } }).demo.state() === "authenticated",
      );
      pages.push(page);
    }
    return { context, pages };
  }

  /** A same-origin script posts on the tabs' channel (name: "authed-socket:" + origin, the default). */
  const inject = (page: Page, message: unknown) =>
    page.evaluate((m) => {
      const channel = new BroadcastChannel(`authed-socket:${location.origin}`);
      channel.postMessage(m);
      channel.close();
    }, message);

  /** Waits until the first tab has rotated its token in band `n` more times. */
  async function lifetimes(page: Page, n: number): Promise<void> {
    const { inband } = await counters(page);
    await page.waitForFunction(
      (target) =>
        (window as unknown as { demo: { counters(): { inband: number } } }).demo.counters().inband >= target,
      inband + n,
      { timeout: 30_000, polling: 50 },
    );
  }

  const subjects = async () =>
    (await server.io.fetchSockets()).map((s) => (s.data as { auth?: { subject: string } }).auth?.subject);

  it("a foreign-subject token injected on the channel makes no tab switch account", async () => {
    const { context, pages } = await aliceTabs();
    const mallory = await server.tokens.login("mallory", "mallory-pw", "attacker");
    // Every connection and every in-band refresh the server sees from now on, by subject.
    const seen: (string | undefined)[] = [];
    const record = (socket: { data: unknown; onAny(h: (e: string, p: unknown) => void): void }) => {
      seen.push((socket.data as { auth?: { subject: string } }).auth?.subject);
    };
    server.io.on("connection", record as never);
    const live = await server.io.fetchSockets();
    await inject(pages[0] as Page, {
      type: "token",
      version: Date.now(),
      token: mallory?.accessToken,
      expiresIn: 60_000,
    });
    await lifetimes(pages[0] as Page, 2);
    server.io.off("connection", record as never);
    expect(live.length).toBe(3);
    expect({
      newConnections: seen.filter((s) => s !== "alice"),
      live: [...new Set(await subjects())],
    }).toEqual({
      newConnections: [],
      live: ["alice"],
    });
    const texts = await Promise.all(pages.map((p) => p.evaluate(() => document.body.textContent ?? "")));
    for (const text of texts) expect(text).not.toContain("mallory");
    for (const p of pages) expect(["authenticated", "refreshing"]).toContain(await state(p));
    await context.close();
  }, 60_000);

  it("a huge or Infinity version injected on the channel does not stop the tabs sharing refreshes", async () => {
    const { context, pages } = await aliceTabs();
    const reuseAtStart = server.tokens.stats.reuseDetected;
    for (const version of [Number.POSITIVE_INFINITY, Number.MAX_VALUE, Date.now() + 365 * 86_400_000])
      await inject(pages[0] as Page, {
        type: "token",
        version,
        token: "eyJhbGciOiJub25lIn0.e30.x",
        expiresIn: 60_000,
      });
    const refreshesAtStart = server.tokens.stats.refreshes;
    await lifetimes(pages[0] as Page, 3);
    const refreshes = server.tokens.stats.refreshes - refreshesAtStart;
    expect(server.tokens.stats.reuseDetected - reuseAtStart).toBe(0);
    for (const p of pages) expect(["authenticated", "refreshing"]).toContain(await state(p));
    // Shared: about one refresh per lifetime (3 here), not one per tab (9).
    expect(refreshes).toBeLessThanOrEqual(5);
    await context.close();
  }, 60_000);
});
