import assert from "node:assert/strict";
import { CoalescingWriter } from "./coalescing_writer.ts";

Deno.test("a burst of 1000 changes while a write is in flight costs two writes, the last one the latest state", async () => {
  let state = 0;
  const writes: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const writer = new CoalescingWriter({
    render: () => String(state),
    write: async (text) => {
      writes.push(text);
      if (writes.length === 1) await gate; // the first write is slow
    },
  });
  for (let i = 1; i <= 1000; i++) {
    state = i;
    writer.request();
  }
  release();
  await writer.flush();
  assert.deepEqual(writes, ["1", "1000"]);
  state = 1001;
  writer.request();
  await writer.flush();
  assert.deepEqual(writes, ["1", "1000", "1001"], "a later change is written too");
});

Deno.test("a failed write is reported and the next request writes again", async () => {
  const errors: unknown[] = [];
  let fail = true;
  const writes: string[] = [];
  const writer = new CoalescingWriter({
    render: () => "x",
    write: (text) => {
      if (fail) return Promise.reject(new Error("disk full"));
      writes.push(text);
      return Promise.resolve();
    },
    onError: (error) => errors.push(error),
  });
  writer.request();
  await writer.flush();
  assert.equal(errors.length, 1);
  fail = false;
  writer.request();
  await writer.flush();
  assert.deepEqual(writes, ["x"]);
});
