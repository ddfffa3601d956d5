// Fixture for test_all_test.ts: the process is killed in the middle of the run.
Deno.test("quick", () => {});
Deno.test("crashes", () => {
  Deno.kill(Deno.pid, "SIGKILL");
});
Deno.test("never reached", () => {});
