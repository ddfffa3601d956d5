// Fixture for test_all_test.ts (22036).
Deno.test("one", () => {});
Deno.test("two", () => {});
Deno.test("three", () => {});
