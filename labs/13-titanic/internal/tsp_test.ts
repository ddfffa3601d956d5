import assert from "node:assert/strict";
import { BadMessageError } from "@lib/codec/mod.ts";
import { newUuid, parseTitanicRequest, parseUuidFrame, replyAnswer, retryDecision } from "./tsp.ts";

const e = new TextEncoder();
const text = (frames: Uint8Array[]) => frames.map((f) => new TextDecoder().decode(f));

Deno.test("newUuid: 32 lower-case hex characters from 16 random bytes", () => {
  assert.equal(newUuid(() => new Uint8Array(16).fill(0xab)), "ab".repeat(16));
  assert.match(newUuid(), /^[0-9a-f]{32}$/);
});

Deno.test("parseTitanicRequest / parseUuidFrame reject malformed bodies", () => {
  assert.deepEqual(parseTitanicRequest([e.encode("echo"), e.encode("x")]).service, "echo");
  for (
    const bad of [
      [e.encode("echo")],
      [e.encode("mmi.service"), e.encode("x")],
      [e.encode("titanic.reply"), e.encode("x")],
      [new Uint8Array(0), e.encode("x")],
    ]
  ) {
    assert.throws(() => parseTitanicRequest(bad), BadMessageError);
  }
  assert.equal(parseUuidFrame([e.encode("AB".repeat(16))]), "ab".repeat(16));
  assert.throws(() => parseUuidFrame([e.encode("g".repeat(32))]), /expected a UUID/);
  assert.throws(() => parseUuidFrame([]), /expected 1 UUID frame, got 0/);
});

Deno.test("replyAnswer: 200 with the body, 300, 400, 500 with the dead letter's reason", () => {
  assert.deepEqual(text(replyAnswer({ state: "done", body: [e.encode("r")] })), ["200", "r"]);
  assert.deepEqual(text(replyAnswer({ state: "pending", attempts: 2 })), ["300"]);
  assert.deepEqual(text(replyAnswer({ state: "unknown" })), ["400"]);
  assert.deepEqual(text(replyAnswer({ state: "dead", attempts: 3, reason: "gone" })), [
    "500 dead letter after 3 attempts: gone",
  ]);
});

Deno.test("retryDecision: capped exponential delays, then a dead letter", () => {
  const backoff = { initialMs: 100, maxMs: 350, jitter: "none" } as const;
  assert.deepEqual(retryDecision(1, 4, backoff, 1000), { retryAt: 1100, delayMs: 100 });
  assert.deepEqual(retryDecision(2, 4, backoff, 1000), { retryAt: 1200, delayMs: 200 });
  assert.deepEqual(retryDecision(3, 4, backoff, 1000), { retryAt: 1350, delayMs: 350 });
  assert.deepEqual(retryDecision(4, 4, backoff, 1000), { retryAt: null });
});
