// Fixture for test_all_test.ts (28880).
Deno.test("passes", () => {});
Deno.test("fails", () => {
  throw new Error("expected failure");
});
