// Fixture for test_all_test.ts: the second test never ends (the runner's time limit must).
Deno.test("quick", () => {});
Deno.test("hangs", async () => {
  await new Promise(() => setInterval(() => {}, 1000));
});
Deno.test("never reached", () => {});
