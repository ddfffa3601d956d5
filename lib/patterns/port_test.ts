import assert from "node:assert/strict";
import { trySend } from "./port.ts";

Deno.test("trySend turns a throwing send into false", () => {
  const sent: Uint8Array[][] = [];
  assert.equal(trySend((f) => void sent.push(f), [new Uint8Array([1])]), true);
  assert.equal(sent.length, 1);
  assert.equal(
    trySend(() => {
      throw new Error("EAGAIN");
    }, []),
    false,
  );
});
