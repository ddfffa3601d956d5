/**
 * Headless Chromium for browser tests (Labs 16 and 20): Debian's `chromium` driven by
 * `npm:playwright-core` (never `playwright install`: its download cannot be reached here),
 * with the launch arguments that work on these machines, and a screenshot of the page
 * when a check fails.
 *
 * @module
 */

import type { Browser, Page } from "playwright-core";

/** Where Chromium lives (Debian's package). */
export const CHROMIUM = "/usr/bin/chromium";

/**
 * Why browser tests cannot run here, or undefined when they can.
 *
 * @example
 * ```ts
 * import { browserUnavailable } from "@lib/testing/browser.ts";
 * const why = browserUnavailable();
 * if (why) console.log(`skipped: ${why}`);
 * ```
 */
export function browserUnavailable(): string | undefined {
  try {
    Deno.statSync(CHROMIUM);
    return undefined;
  } catch {
    return `${CHROMIUM} not found (apt-get install chromium fonts-dejavu-core)`;
  }
}

/**
 * Launches headless Chromium; `await using` closes it.
 *
 * @example
 * ```ts
 * import { launchBrowser } from "@lib/testing/browser.ts";
 * await using browser = await launchBrowser();
 * const page = await browser.newPage();
 * await page.goto("http://127.0.0.1:5516/");
 * ```
 */
export async function launchBrowser(): Promise<Browser & AsyncDisposable> {
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 60_000,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return Object.assign(browser, {
    [Symbol.asyncDispose]: async () => {
      await browser.close().catch(() => {});
    },
  });
}

/**
 * Runs `body`; when it throws, saves a full-page screenshot of `page` into `dir`
 * (`TEST_OUTPUT_DIR` when set), says where on stderr, and rethrows.
 *
 * @example
 * ```ts
 * import { launchBrowser, withScreenshotOnFailure } from "@lib/testing/browser.ts";
 * await using browser = await launchBrowser();
 * const page = await browser.newPage();
 * await withScreenshotOnFailure(page, "test-output", "renders", async () => {
 *   await page.goto("http://127.0.0.1:5516/");
 * });
 * ```
 */
export async function withScreenshotOnFailure<T>(
  page: Page,
  dir: string,
  name: string,
  body: () => Promise<T>,
): Promise<T> {
  try {
    return await body();
  } catch (error) {
    const out = Deno.env.get("TEST_OUTPUT_DIR") ?? dir;
    const path = `${out}/${name.replace(/[^a-z0-9_-]+/gi, "_")}.png`;
    try {
      await Deno.mkdir(out, { recursive: true });
      await page.screenshot({ path, fullPage: true });
      console.error(`screenshot: ${path}`);
    } catch (shotError) {
      console.error(`screenshot failed: ${shotError}`);
    }
    throw error;
  }
}
