import assert from "node:assert/strict";
import { validateTable } from "@lib/patterns/fsm.ts";
import { FramePool, SLOT_TABLE } from "./frame_pool.ts";

/** A fake libzmq: views it holds, released on demand; probes see a release only after collect(). */
function fakeLibzmq() {
  const held = new Set<Uint8Array>();
  let collections = 0;
  return {
    held,
    collections: () => collections,
    hooks: {
      inFlight: () => held.size,
      collect: () => {
        collections++;
        return 0;
      },
      watch: (view: Uint8Array) => () => !held.has(view) && collections > 0,
    },
    release(view: Uint8Array) {
      held.delete(view);
    },
  };
}

Deno.test("the slot table is complete", () => {
  validateTable(SLOT_TABLE);
});

Deno.test("a buffer libzmq still holds is never handed out again", () => {
  const lib = fakeLibzmq();
  const pool = new FramePool({ slots: 2, size: 8, zeroCopy: true, ...lib.hooks });
  const views: Uint8Array[] = [];
  for (let i = 0; i < 2; i++) {
    const slot = pool.acquire()!;
    const view = pool.view(slot);
    lib.held.add(view);
    views.push(view);
    pool.sent(slot);
    pool.accepted(slot);
  }
  assert.equal(pool.acquire(), null, "both held");
  assert.equal(lib.collections(), 0, "no GC while none of ours was released");
  lib.release(views[1]); // out of order: the second frame goes first
  const slot = pool.acquire();
  assert.equal(slot?.index, 1, "exactly the released one comes back");
  assert.equal(lib.collections(), 1);
  assert.equal(pool.stats().freedByProbe, 1);
});

Deno.test("inFlight() = 0 frees every held buffer without a GC", () => {
  const lib = fakeLibzmq();
  const pool = new FramePool({ slots: 3, size: 8, zeroCopy: true, ...lib.hooks });
  for (let i = 0; i < 3; i++) {
    const slot = pool.acquire()!;
    const view = pool.view(slot);
    pool.sent(slot);
    pool.accepted(slot);
    void view; // released at once by this fake libzmq (never added to held)
  }
  assert.ok(pool.acquire());
  assert.equal(lib.collections(), 0);
  assert.equal(pool.stats().freedByCount, 3);
});

Deno.test("fifo: a frame older than inFlight() frames is released; taint turns the rule off", () => {
  const lib = fakeLibzmq();
  const pool = new FramePool({ slots: 3, size: 8, zeroCopy: true, fifo: true, ...lib.hooks });
  const views: Uint8Array[] = [];
  for (let i = 0; i < 3; i++) {
    const slot = pool.acquire()!;
    const view = pool.view(slot);
    lib.held.add(view);
    views.push(view);
    pool.sent(slot);
    pool.accepted(slot);
  }
  lib.release(views[0]);
  lib.release(views[1]); // two frames left libzmq: inFlight 1 < 3 - 0 and < 3 - 1
  pool.taint(); // an engine left: the order rule is off, the WeakRef path still works
  const tainted = pool.acquire();
  assert.ok(tainted, "the WeakRef path still finds them");
  assert.equal(pool.stats().freedByOrder, 0);
  const pool2 = new FramePool({ slots: 3, size: 8, zeroCopy: true, fifo: true, ...lib.hooks });
  const lib2Held: Uint8Array[] = [];
  for (let i = 0; i < 3; i++) {
    const slot = pool2.acquire()!;
    const view = pool2.view(slot);
    lib.held.add(view);
    lib2Held.push(view);
    pool2.sent(slot);
    pool2.accepted(slot);
  }
  lib.held.clear();
  lib.held.add(lib2Held[2]); // only the newest frame is still in flight
  const collections = lib.collections();
  const slot = pool2.acquire();
  assert.equal(slot?.index, 0);
  assert.equal(pool2.stats().freedByOrder, 2);
  assert.equal(lib.collections(), collections, "no GC needed");
});

Deno.test("copied (small) frames are free once the send was accepted", () => {
  const lib = fakeLibzmq();
  const pool = new FramePool({ slots: 1, size: 8, zeroCopy: false, ...lib.hooks });
  const slot = pool.acquire()!;
  pool.view(slot);
  pool.sent(slot);
  assert.equal(pool.acquire(), null, "still sending");
  pool.accepted(slot);
  assert.equal(pool.acquire()?.index, 0);
});

Deno.test("the unsafe pool hands buffers out round-robin regardless (for the corruption test)", () => {
  const lib = fakeLibzmq();
  const pool = new FramePool({ slots: 2, size: 8, zeroCopy: true, unsafe: true, ...lib.hooks });
  const a = pool.acquire()!;
  lib.held.add(pool.view(a));
  pool.sent(a);
  pool.accepted(a);
  assert.equal(pool.acquire()?.index, 1);
  assert.equal(pool.acquire()?.index, 0, "reused while libzmq holds it");
});

Deno.test("the default probe is a WeakRef: a view nobody references reads as released after GC", async () => {
  const { fullGc, gcAvailable } = await import("./gc.ts");
  if (!gcAvailable()) {
    console.log("skipped: gc() not available in this runtime");
    return;
  }
  let inFlight = 1;
  const pool = new FramePool({
    slots: 1,
    size: 8,
    zeroCopy: true,
    inFlight: () => inFlight,
    collect: fullGc,
  });
  const slot = pool.acquire()!;
  pool.view(slot); // dropped at once, as lib/zmq drops it after the free callback
  pool.sent(slot);
  pool.accepted(slot);
  await new Promise((resolve) => setTimeout(resolve, 0)); // WeakRef targets live to the job's end
  inFlight = 1; // somebody else's frame: the count alone cannot tell
  assert.equal(pool.acquire(), null, "count equals ours: no GC, no release");
  inFlight = 0;
  assert.ok(pool.acquire());
});

Deno.test("a send libzmq released at once (no subscriber took it) frees the buffer without a GC", () => {
  const lib = fakeLibzmq();
  const pool = new FramePool({ slots: 1, size: 8, zeroCopy: true, ...lib.hooks });
  const other = new Uint8Array(1);
  lib.held.add(other); // somebody else's frame keeps inFlight() above 0
  const slot = pool.acquire()!;
  pool.view(slot);
  pool.sent(slot);
  pool.accepted(slot, true);
  assert.equal(pool.acquire()?.index, 0);
  assert.equal(lib.collections(), 0);
  assert.equal(pool.stats().freedAtOnce, 1);
});
