import assert from "node:assert/strict";
import { seededRandom } from "@lib/random/mod.ts";
import { checkRegister, type RegisterOp } from "./linearizability.ts";

const w = (value: string, call: number, ret: number): RegisterOp => ({
  kind: "write",
  value,
  call,
  ret,
});
const r = (value: string | null, call: number, ret: number): RegisterOp => ({
  kind: "read",
  value,
  call,
  ret,
});

Deno.test("linearizable histories pass", () => {
  const cases: [string, RegisterOp[]][] = [
    ["empty", []],
    ["sequential", [w("a", 0, 1), r("a", 2, 3), w("b", 4, 5), r("b", 6, 7)]],
    ["read of the initial value", [r(null, 0, 1), w("a", 2, 3)]],
    ["concurrent read sees the new value", [w("a", 0, 10), r("a", 1, 2)]],
    ["concurrent read sees the old value", [w("a", 0, 1), w("b", 2, 10), r("a", 3, 4)]],
    ["overlapping writes in either order", [w("a", 0, 10), w("b", 0, 10), r("a", 11, 12)]],
    ["unknown write that took effect", [w("a", 0, Infinity), r("a", 5, 6)]],
    ["unknown write that never did", [w("a", 0, Infinity), r(null, 5, 6), r(null, 7, 8)]],
    ["two writers, reads in between", [
      w("0", 0, 5),
      w("100", 6, 100),
      r("0", 10, 20),
      r("100", 30, 40),
      r("100", 50, 60),
    ]],
  ];
  for (const [name, history] of cases) {
    assert.equal(checkRegister(history).ok, true, name);
  }
});

Deno.test("non-linearizable histories fail", () => {
  const cases: [string, RegisterOp[]][] = [
    ["stale read after the write returned", [w("a", 0, 1), r(null, 2, 3)]],
    ["read of a value never written", [r("x", 0, 1)]],
    ["new then old (a value going back in time)", [
      w("a", 0, 1),
      w("b", 2, 20),
      r("b", 3, 4),
      r("a", 5, 6),
    ]],
    ["two readers disagree about order", [
      w("a", 0, 1),
      w("b", 2, 100),
      r("b", 3, 4),
      r("a", 10, 11),
    ]],
    ["unknown write read, then gone", [w("a", 0, Infinity), r("a", 5, 6), r(null, 7, 8)]],
  ];
  for (const [name, history] of cases) {
    const result = checkRegister(history);
    assert.equal(result.ok, false, name);
  }
});

Deno.test("a generated linearizable history of 300 operations by 4 clients passes quickly", () => {
  // Simulate a real register: each op takes effect at a random instant inside its interval.
  const random = seededRandom(7);
  type Pending = RegisterOp & { at: number };
  const ops: Pending[] = [];
  for (let c = 0; c < 4; c++) {
    let t = random() * 5;
    for (let i = 0; i < 75; i++) {
      const call = t;
      const ret = call + 1 + random() * 10;
      const at = call + random() * (ret - call);
      const write = random() < 0.5;
      ops.push({
        kind: write ? "write" : "read",
        value: write ? `c${c}-${i}` : null,
        call,
        ret,
        at,
      });
      t = ret + random() * 3;
    }
  }
  let value: string | null = null;
  for (const op of [...ops].sort((a, b) => a.at - b.at)) {
    if (op.kind === "write") value = op.value;
    else op.value = value;
  }
  const result = checkRegister(ops);
  assert.equal(result.ok, true);
  // The same history with one read corrupted is caught.
  const reads = ops.filter((o) => o.kind === "read" && o.value !== null);
  reads[reads.length >> 1].value = "never-written";
  assert.equal(checkRegister(ops).ok, false);
});
