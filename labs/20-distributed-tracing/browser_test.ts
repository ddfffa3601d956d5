/**
 * Lab 20 in a real browser: headless Chromium (Debian's `chromium`, driven by
 * `npm:playwright-core`) opens the real trace_collector's waterfall page after a 4-hop
 * request (and a failed one) went through the real chain, and the test asserts the DOM. On
 * failure a screenshot is saved in the test's own temporary directory (kept then, and named
 * on stderr) or in `TEST_OUTPUT_DIR` when set.
 */
import assert from "node:assert/strict";
import {
  browserUnavailable,
  CHAIN,
  launchBrowser,
  runLoad,
  startChain,
  startCollector,
  withScreenshotOnFailure,
} from "./testing.ts";

const skip = browserUnavailable();
if (skip) console.log(`browser tests skipped: ${skip}`);

interface Row {
  spanId: string;
  parentId: string;
  service: string;
  name: string;
  depth: number;
  critical: boolean;
  status: string;
  left: number;
  width: number;
}

Deno.test({
  name:
    "the waterfall page renders a 4-hop trace (parents, depth, critical path) and marks a failed one",
  ignore: skip !== undefined,
  async fn() {
    await using collector = await startCollector(["--trace-timeout", "300"]);
    await using chain = await startChain(collector.endpoint, ["--batch-interval", "20"], {
      inventory: ["--work-ms", "5"],
    });
    const ok = await runLoad(chain.endpoint, ["--requests", "1"]);
    const failed = await runLoad(chain.endpoint, ["--requests", "1", "--fail-at", "auth"]);
    const okId = ok.replies[0].traceId!;
    const failedId = failed.replies[0].traceId!;
    for (const id of [okId, failedId]) {
      await collector.proc.event("trace_complete", (e) => e.trace_id === id, { timeout: 30_000 });
    }
    const dir = await Deno.makeTempDir({ prefix: "lab20-browser-" });
    let passed = false;
    await using browser = await launchBrowser();
    const page = await browser.newPage();
    try {
      await withScreenshotOnFailure(page, dir, "lab20-waterfall", async () => {
        await page.goto(`${collector.url}?trace=${okId}`);
        await page.waitForSelector(`#trace-title[data-trace-id="${okId}"]`, { timeout: 30_000 });
        // Evaluated in the page (a string: Deno's type check has no DOM types).
        const rows = await page.evaluate(`[...document.querySelectorAll(".span-row")].map((e) => {
          const bar = e.querySelector(".bar");
          return {
            spanId: e.dataset.spanId,
            parentId: e.dataset.parentId,
            service: e.dataset.service,
            name: e.dataset.name,
            depth: Number(e.dataset.depth),
            critical: e.dataset.critical === "true",
            status: e.dataset.status,
            left: parseFloat(bar.style.left),
            width: parseFloat(bar.style.width),
          };
        })`) as Row[];
        // Seven rows in tree order: gateway server, gateway client, auth server, ...
        assert.equal(rows.length, 7);
        assert.deepEqual(rows.map((r) => r.depth), [0, 1, 2, 3, 4, 5, 6]);
        assert.deepEqual(
          rows.map((r) => r.service),
          ["gateway", "gateway", "auth", "auth", "orders", "orders", "inventory"],
        );
        assert.equal(rows[0].parentId, "");
        for (let i = 1; i < rows.length; i++) assert.equal(rows[i].parentId, rows[i - 1].spanId);
        assert.ok(rows.every((r) => r.critical), "a chain is all critical path");
        assert.ok(rows.every((r) => r.status === "ok"));
        // The root spans the whole width; children start no earlier.
        assert.equal(rows[0].left, 0);
        assert.ok(rows[0].width > 99);
        assert.ok(rows[6].left > 0);
        const path = await page.locator("#critical-path").textContent();
        assert.match(path ?? "", /^critical path: gateway\/handle request/);
        assert.match(path ?? "", /inventory\/handle request/);
        // The list has both traces; the failed one is marked.
        await page.waitForSelector(`#traces tr[data-trace-id="${failedId}"].error`, {
          timeout: 30_000,
        });

        // The failed trace: auth failed, so gateway (server, client) and auth are errors.
        await page.click(`#traces tr[data-trace-id="${failedId}"]`);
        await page.waitForSelector(`#trace-title[data-trace-id="${failedId}"]`, {
          timeout: 30_000,
        });
        const statuses = await page.evaluate(
          `[...document.querySelectorAll(".span-row")]
            .map((e) => e.dataset.service + ":" + e.dataset.status)`,
        ) as string[];
        assert.deepEqual(statuses, ["gateway:error", "gateway:error", "auth:error"]);
        assert.match(await page.locator("#trace-title").textContent() ?? "", /ERROR/);
        assert.equal(CHAIN.length, 4);
      });
      passed = true;
    } finally {
      await page.close().catch(() => {});
      if (passed) await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
    for (const service of chain.services) await service.stop();
    await collector.proc.stop();
  },
});
