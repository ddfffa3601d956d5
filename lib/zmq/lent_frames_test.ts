import assert from "node:assert/strict";
import { libzmq, zmqContext } from "./context.ts";
import { createLentFrames } from "./lent_frames.ts";
import { platform } from "./libc.ts";

const z = libzmq().symbols;
const cstring = (value: string) => new TextEncoder().encode(value + "\0");

Deno.test("without a native no-op function there is no lent path (the callback path stays)", () => {
  assert.equal(createLentFrames(z, null, () => {}), null);
});

Deno.test({
  name: "a lent frame is released only once libzmq dropped its copy, on this thread",
  ignore: Deno.build.os !== "linux",
  fn() {
    const released: Uint8Array[] = [];
    const lent = createLentFrames(z, platform().noopFunction, (frame) => released.push(frame));
    assert.ok(lent, "the bundled libzmq's layout is the expected one");
    let pull: Deno.PointerObject | null = z.zmq_socket(zmqContext(), 7)!;
    const push = z.zmq_socket(zmqContext(), 8)!;
    const endpoint = cstring(`inproc://lent-test-${crypto.randomUUID()}`);
    const msg = new Uint8Array(new ArrayBuffer(64));
    const received = new Uint8Array(new ArrayBuffer(64));
    try {
      assert.equal(z.zmq_bind(pull, endpoint), 0);
      assert.equal(z.zmq_connect(push, endpoint), 0);
      const frame = new Uint8Array(64 * 1024).fill(3);
      assert.equal(lent.send(frame, push, 0, msg), frame.byteLength);
      assert.equal(lent.size, 1);
      lent.reclaimAll();
      assert.equal(released.length, 0, "the receiving pipe still holds a reference");
      z.zmq_msg_init(received);
      assert.equal(z.zmq_msg_recv(received, pull, 0), frame.byteLength);
      lent.reclaimAll();
      assert.equal(released.length, 0, "the received message shares the caller's bytes");
      z.zmq_msg_close(received);
      lent.reclaimAll();
      assert.deepEqual(released, [frame]);
      assert.equal(lent.size, 0);
      // A send that cannot go out keeps nothing lent.
      z.zmq_close(pull);
      pull = null;
      const orphan = z.zmq_socket(zmqContext(), 8)!;
      try {
        assert.ok(lent.send(frame, orphan, 1, /* ZMQ_DONTWAIT */ msg) < 0, "no peer: EAGAIN");
        assert.equal(lent.size, 0);
      } finally {
        z.zmq_close(orphan);
      }
    } finally {
      z.zmq_close(push);
      if (pull) z.zmq_close(pull);
    }
  },
});
