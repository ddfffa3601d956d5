/**
 * Lab 16 in a real browser: headless Chromium (Debian's `chromium`, driven by
 * `npm:playwright-core`) opens `web_client.html` from the real zmq_bridge, which subscribes
 * to an in-process XPUB publishing Lab 04 updates. Each test saves a screenshot to the test
 * output directory when it fails (`TEST_OUTPUT_DIR`, default `test-output/lab16`).
 */
import assert from "node:assert/strict";
import { tempDir } from "@lib/testing/mod.ts";
import type { Browser, Page } from "playwright-core";
import {
  browserUnavailable,
  launchBrowser,
  startBridge,
  TelemetryPublisher,
  TOKEN,
  withScreenshotOnFailure,
} from "./testing.ts";

const skip = browserUnavailable();
if (skip) console.log(`browser tests skipped: ${skip}`);

/** What the page exposes as `window.bridgeClient`. */
interface PageClient {
  state: string;
  epoch: string | null;
  lastSeq: number;
  seqs: number[];
  conflated: number;
  missed: number;
  welcomes: { epoch: string; seq: number; resumed: boolean; replayed: number; missed: number }[];
  closes: { code: number; reason: string }[];
}

function client(page: Page): Promise<PageClient> {
  return page.evaluate(() => (globalThis as unknown as { bridgeClient: PageClient }).bridgeClient);
}

async function newPage(browser: Browser): Promise<Page & AsyncDisposable> {
  const page = await browser.newPage();
  return Object.assign(page, { [Symbol.asyncDispose]: () => page.close().catch(() => {}) });
}

async function cellText(page: Page, topic: string, cell: string): Promise<string | null> {
  return await page.locator(`tr[data-topic="${topic}"] td.${cell}`).textContent({
    timeout: 20_000,
  });
}

async function renders(browser: Browser): Promise<void> {
  await using pub = await new TelemetryPublisher().start();
  await using bridge = await startBridge(pub.endpoint);
  await using page = await newPage(browser);
  await withScreenshotOnFailure(page, "lab16-renders", async () => {
    await page.goto(bridge.pageUrl("&topics=plant-a/temperature/"));
    await page.waitForSelector('#state[data-state="open"]', { timeout: 30_000 });
    await pub.subscribed("plant-a/temperature/");
    for (let i = 0; i < 5; i++) await pub.publish("plant-a/temperature/00001", 20 + i / 4);
    await pub.publish("plant-a/temperature/00002", 19.25);
    await page.waitForFunction(
      `document.querySelector('tr[data-topic="plant-a/temperature/00001"] td.value')
          ?.textContent === "21.000"`,
      undefined,
      { timeout: 20_000 },
    );
    assert.equal(await cellText(page, "plant-a/temperature/00002", "value"), "19.250");
    assert.equal(await cellText(page, "plant-a/temperature/00001", "src-seq"), "5");
    assert.equal(await cellText(page, "plant-a/temperature/00001", "units"), "degC");
    assert.equal(await page.locator("#last-seq").textContent(), "6");
    // The chart draws the first topic's series.
    assert.equal(await page.locator("#chart-topic").textContent(), "plant-a/temperature/00001");
    const inked = await page.evaluate(`(() => {
        const canvas = document.getElementById("chart");
        const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
        let n = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
        return n;
      })()`) as number;
    assert.ok(inked > 200, `chart drew ${inked} pixels`);

    // The picker: subscribe to plant-b/, unsubscribe plant-a/temperature/.
    await page.fill("#topic-input", "plant-b/");
    await page.click("#topic-add");
    await bridge.proc.event("zmq_subscribe", (e) => e.prefix === "plant-b/");
    await pub.subscribed("plant-b/");
    await pub.publish("plant-b/humidity/00007", 55.5);
    assert.equal(await cellText(page, "plant-b/humidity/00007", "value"), "55.500");
    await page.click('#topics li[data-topic="plant-a/temperature/"] button.remove');
    await bridge.proc.event("zmq_unsubscribe", (e) => e.prefix === "plant-a/temperature/");
    assert.equal(await page.locator('tr[data-topic="plant-a/temperature/00001"]').count(), 0);
    const c = await client(page);
    assert.deepEqual(c.seqs, [1, 2, 3, 4, 5, 6, 7]);
  });
  await bridge.proc.stop();
}

async function resumes(browser: Browser): Promise<void> {
  await using dir = await tempDir();
  const state = `${dir.path}/ring.json`;
  const args = ["--state", state, "--topic", "*", "--ping-interval", "1000"];
  await using pub = await new TelemetryPublisher().start();
  const first = await startBridge(pub.endpoint, args);
  await using _first = first;
  await using page = await newPage(browser);
  let publishing = true;
  let loop: Promise<void> = Promise.resolve();
  await withScreenshotOnFailure(page, "lab16-resume", async () => {
    await page.goto(first.pageUrl("&backoff=200&backoff_max=1000"));
    await page.waitForSelector('#state[data-state="open"]', { timeout: 30_000 });
    await pub.subscribed("");
    loop = (async () => {
      for (let i = 0; publishing; i++) {
        await pub.publish(`plant-a/temperature/0000${i % 3}`, i);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await page.waitForFunction(
      () => (globalThis as unknown as { bridgeClient: PageClient }).bridgeClient.lastSeq >= 30,
      undefined,
      { timeout: 30_000 },
    );
    await first.proc.stop();
    const saved = await first.proc.event("state_saved");
    await page.waitForFunction(
      () => (globalThis as unknown as { bridgeClient: PageClient }).bridgeClient.closes.length > 0,
      undefined,
      { timeout: 20_000 },
    );
    assert.equal((await client(page)).closes[0].code, 1001);

    // Same port, same state file: the ring (epoch, seq) carries on.
    await using second = await startBridge(pub.endpoint, args, `127.0.0.1:${first.port}`);
    const loaded = await second.proc.event("state_loaded");
    assert.equal(loaded.seq, saved.seq);
    await page.waitForFunction(
      (target) =>
        (globalThis as unknown as { bridgeClient: PageClient }).bridgeClient.lastSeq >= target,
      Number(saved.seq) + 30,
      { timeout: 30_000 },
    );
    publishing = false;
    await loop;
    const c = await client(page);
    assert.equal(c.welcomes.length, 2);
    assert.equal(c.welcomes[1].resumed, true);
    assert.equal(c.welcomes[1].epoch, c.welcomes[0].epoch);
    assert.equal(c.welcomes[1].missed, 0);
    assert.equal(c.missed, 0);
    assert.deepEqual(
      c.seqs,
      Array.from({ length: c.seqs.length }, (_, i) => i + 1),
      "every seq from 1 on, once, in order, across the restart",
    );
    assert.ok(c.seqs.includes(Number(saved.seq) + 1), "the new bridge's first seq arrived");
    await second.proc.event("client_resumed", (e) => e.from_seq === saved.seq);
    console.log(
      `resume: old bridge stopped at seq ${saved.seq}; page replayed ${
        c.welcomes[1].replayed
      } from the new bridge's ring`,
    );
    await second.proc.stop();
  }).finally(async () => {
    publishing = false;
    await loop;
  });
}

async function refuses(browser: Browser): Promise<void> {
  await using pub = await new TelemetryPublisher().start();
  await using bridge = await startBridge(pub.endpoint);
  await using page = await newPage(browser);
  // A page on another origin (another port) that tries the bridge with the right token.
  const script = `window.attempt = new Promise((resolve) => {
      const ws = new WebSocket("ws://127.0.0.1:${bridge.port}/ws?token=${TOKEN}");
      ws.onopen = () => resolve("open");
      ws.onclose = (e) => resolve("closed " + e.code);
    });`;
  await using foreign = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () =>
      new Response(`<!doctype html><title>elsewhere</title><script>${script}</script>`, {
        headers: { "content-type": "text/html" },
      }),
  );
  await withScreenshotOnFailure(page, "lab16-refused", async () => {
    await page.goto(`${bridge.url}#token=wrong-token-16&backoff=5000`);
    await bridge.proc.event("upgrade_refused", (e) => e.reason === "bad token", {
      timeout: 20_000,
    });
    await page.waitForFunction(
      () => (globalThis as unknown as { bridgeClient: PageClient }).bridgeClient.closes.length > 0,
      undefined,
      { timeout: 20_000 },
    );
    const refused = await client(page);
    assert.equal(refused.welcomes.length, 0);
    assert.equal(refused.closes[0].code, 1006, "the handshake failed");
    assert.equal(await page.locator("#state").getAttribute("data-state"), "waiting");

    await page.goto(`http://127.0.0.1:${foreign.addr.port}/`);
    assert.equal(await page.evaluate("window.attempt"), "closed 1006");
    const event = await bridge.proc.event(
      "upgrade_refused",
      (e) => e.reason === "origin not allowed",
    );
    assert.equal(event.origin, `http://127.0.0.1:${foreign.addr.port}`);
    // The same script from the bridge's own origin gets in.
    await page.goto(bridge.url);
    await page.evaluate(script);
    assert.equal(await page.evaluate("window.attempt"), "open");
  });
  await bridge.proc.stop();
}

Deno.test({
  name: "web_client.html in headless Chromium",
  ignore: skip !== undefined,
  async fn(t) {
    // One browser for the steps: launching Chromium is the slow part.
    await using browser = await launchBrowser();
    await t.step(
      "the page connects, subscribes with its topic picker and renders values from ZeroMQ",
      () => renders(browser),
    );
    await t.step(
      "the page reconnects after the bridge restarts and resumes from its last seq without gaps",
      () => resumes(browser),
    );
    await t.step("a wrong token or a foreign Origin is refused", () => refuses(browser));
  },
});
