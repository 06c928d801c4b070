/**
 * The React example (examples/react) in real Chromium against the demo server, React's development build with
 * StrictMode on: one connection for the whole session, rotations of 2-s tokens on the live connection, acknowledged
 * messages, and logout back to the login screen with the connection closed.
 */
import { mkdirSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DemoServer, startDemoServer } from "../../demo/server.js";
import { mountReactExample } from "../../examples/react/serve.js";
import { chromiumAvailable, launchChromium } from "../helpers/chromium.js";
import { waitUntil } from "../helpers/wait.js";

const SHOTS = ".test-results/browser";
const USERS = { alice: "alice-pw", bob: "bob-pw" };

/** Sockets of `user` connected to the demo server now (read synchronously from socket.io's own table). */
const connectedAs = (user: string) =>
  [...server.io.sockets.sockets.values()].filter(
    (socket) => (socket.data as { auth?: { subject?: string } }).auth?.subject === user,
  ).length;

const text = async (page: Page, selector: string) => (await page.textContent(selector)) ?? "";
const count = async (page: Page, id: string) => Number(await text(page, `#${id}`));

/** Waits (with a deadline) until the page satisfies `predicate`, a function body over `document`. */
async function until(page: Page, predicate: string, timeout = 15_000): Promise<void> {
  await page.waitForFunction(
    `(() => { const $ = (s) => document.querySelector(s); const n = (id) => Number($("#" + id)?.textContent);
      return ${predicate}; })()`,
    undefined,
    { timeout, polling: 50 },
  );
}

let browser: Browser;
let server: DemoServer;

describe.runIf(chromiumAvailable("React browser test"))("the React example in Chromium", () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    browser = await launchChromium();
    server = await startDemoServer({ port: 0, ttlSec: 2, users: USERS });
    await mountReactExample(server.http);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("StrictMode: log in → one connection through in-band rotations → acknowledged messages → logout shows the login screen", async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    // Counts the WebSockets the page opens: a StrictMode double render or mount that connected a second client would
    // show here even when it was closed before its handshake reached the server (the provider's discarded-render
    // client is created with autoConnect: false and must never open one).
    await page.addInitScript(() => {
      const Native = window.WebSocket;
      const w = window as unknown as { sockets: number };
      w.sockets = 0;
      window.WebSocket = class extends Native {
        constructor(...args: ConstructorParameters<typeof WebSocket>) {
          super(...args);
          w.sockets++;
        }
      };
    });
    await page.goto(`${server.url}/`);
    expect(await page.isVisible('[data-screen="login"]')).toBe(true);
    expect(server.stats.handshakes).toBe(0);

    await page.click("#login");
    await until(page, '$("#state")?.dataset.state === "authenticated"');
    expect(await text(page, "#countdown")).toMatch(/^\d+\.\d s left$/);

    // 2-s tokens: three rotations on the live connection, no disconnect, and the countdown jumping back up when
    // a rotation lands (the page keeps the lowest value seen before each jump).
    await page.evaluate(() => {
      const w = window as unknown as { jumps: number };
      w.jumps = 0;
      let last = Number.POSITIVE_INFINITY;
      setInterval(() => {
        const left = Number.parseFloat(document.querySelector("#countdown")?.textContent ?? "");
        if (left > last + 0.3) w.jumps++;
        last = left;
      }, 50);
    });
    await until(page, 'n("inband") >= 3 && window.jumps >= 2', 20_000);
    expect(await count(page, "handshakes")).toBe(1);
    expect(await count(page, "disconnects")).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { sockets: number }).sockets)).toBe(1);
    // The server's view: one handshake in all, one connection for alice, every refresh a rotation, no reuse.
    expect(server.stats.handshakes).toBe(1);
    expect(connectedAs("alice")).toBe(1);
    expect(server.tokens.stats.reuseDetected).toBe(0);
    expect(server.tokens.stats.refreshes).toBe(server.stats.inBand);

    for (const message of ["one", "two", "three"]) {
      await page.fill("#message", message);
      await page.click("#send");
    }
    await until(page, 'document.querySelectorAll("#messages li[data-status=delivered]").length === 3');
    expect(await page.$$eval('#messages li[data-status="failed"]', (els) => els.length)).toBe(0);
    expect(await text(page, "#messages li:first-child")).toMatch(/three\s+delivered ✓ #3/);
    await page.screenshot({ path: `${SHOTS}/react-chat.png`, fullPage: true });

    expect(server.stats.handshakes).toBe(1);
    expect(await page.evaluate(() => (window as unknown as { sockets: number }).sockets)).toBe(1);
    await page.click("#logout");
    await until(page, '$("[data-screen=login]") !== null');
    expect(await text(page, "#ended")).toBe("Logged out (logout).");
    await waitUntil(() => connectedAs("alice") === 0, { what: "alice's connection to close" });
    await page.screenshot({ path: `${SHOTS}/react-logged-out.png`, fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it("a revocation by the server ends the session: the login screen says why, and nothing reconnects", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${server.url}/`);
    await page.fill("#user", "bob");
    await page.fill("#password", "bob-pw");
    const before = server.stats.handshakes;
    await page.click("#login");
    await until(page, '$("#state")?.dataset.state === "authenticated"');
    expect(server.stats.handshakes).toBe(before + 1);
    await page.click("#revoke");
    await until(page, '$("[data-screen=login]") !== null');
    expect(await text(page, "#ended")).toBe("Logged out (revoked).");
    await waitUntil(() => connectedAs("bob") === 0, { what: "bob's connection to close" });
    expect(server.stats.handshakes).toBe(before + 1);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
