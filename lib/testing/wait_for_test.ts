import assert from "node:assert/strict";
import { waitFor } from "./mod.ts";

Deno.test("waitFor resolves at once with a value that is already there", async () => {
  let calls = 0;
  const value = await waitFor("a ready value", () => {
    calls++;
    return { port: 5501 };
  });
  assert.deepEqual(value, { port: 5501 });
  assert.equal(calls, 1);
});

Deno.test("waitFor polls until the check returns a truthy value and resolves with it", async () => {
  const lines: string[] = [];
  setTimeout(() => lines.push("noise"), 10);
  setTimeout(() => lines.push("ready 42"), 60);
  const line = await waitFor("the ready line", () => lines.find((l) => l.startsWith("ready")), {
    intervalMs: 5,
  });
  assert.equal(line, "ready 42");
});

Deno.test("waitFor skips every falsy result (undefined, null, false, 0, empty string)", async () => {
  const results: unknown[] = [undefined, null, false, 0, "", "found"];
  let i = 0;
  const value = await waitFor("the sixth result", () => results[i++] as string | false, {
    intervalMs: 1,
  });
  assert.equal(value, "found");
  assert.equal(i, 6);
});

Deno.test("waitFor awaits an async check", async () => {
  let n = 0;
  const value = await waitFor("n to reach 3", async () => {
    await Promise.resolve();
    n++;
    return n >= 3 && n;
  }, { intervalMs: 1 });
  assert.equal(value, 3);
});

Deno.test("waitFor rejects after the timeout, saying how long and what for", async () => {
  let calls = 0;
  const started = performance.now();
  await assert.rejects(
    waitFor("the broker", () => {
      calls++;
      return false;
    }, { timeoutMs: 100, intervalMs: 10 }),
    (error: Error) => {
      assert.equal(error.message, "timed out after 100 ms waiting for the broker");
      return true;
    },
  );
  assert.ok(performance.now() - started >= 100);
  assert.ok(calls >= 2, `checked ${calls} times`);
});

Deno.test("waitFor polls every 20 ms by default and stops when its signal aborts", async () => {
  let calls = 0;
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error("enough")), 100);
  await assert.rejects(
    waitFor("never", () => {
      calls++;
      return undefined;
    }, { signal: controller.signal }),
    /enough/,
  );
  assert.ok(calls >= 1 && calls <= 6, `checked ${calls} times in 100 ms at a 20 ms interval`);
});

Deno.test("waitFor: a check that never settles still times out", async () => {
  await assert.rejects(
    waitFor("a hung check", () => new Promise<string>(() => {}), { timeoutMs: 50 }),
    /^Error: timed out after 50 ms waiting for a hung check$/,
  );
});

Deno.test("waitFor passes a check's error through", async () => {
  await assert.rejects(
    waitFor("a bad check", () => {
      throw new TypeError("bad check");
    }),
    TypeError,
  );
  await assert.rejects(
    waitFor("a bad async check", () => Promise.reject(new RangeError("bad async"))),
    RangeError,
  );
});

Deno.test("waitFor rejects with the signal's reason, before the first check if already aborted", async () => {
  let calls = 0;
  const aborted = AbortSignal.abort(new Error("stop now"));
  await assert.rejects(
    waitFor("x", () => {
      calls++;
      return true;
    }, { signal: aborted }),
    /stop now/,
  );
  assert.equal(calls, 0);
});
