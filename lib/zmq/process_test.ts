import assert from "node:assert/strict";
import {
  Dealer,
  Publisher,
  Pull,
  Push,
  Subscriber,
  zeroCopyFramesInFlight,
  zeroCopyHeld,
} from "./mod.ts";
import { deadline, spawnFixture, until } from "./test_util.ts";

async function runFixture(name: string): Promise<{ code: number; stdout: string }> {
  const child = spawnFixture(name);
  try {
    const { code, stdout } = await deadline(child.output(), 15_000, `${name} to exit`);
    return { code, stdout: new TextDecoder().decode(stdout) };
  } catch (error) {
    child.kill("SIGKILL");
    await child.status;
    throw error;
  }
}

Deno.test("closing the last socket lets the process exit", async () => {
  const { code, stdout } = await runFixture("exit_after_close.ts");
  assert.equal(code, 0);
  assert.equal(stdout.trim(), "closed");
});

Deno.test("an idle process waiting on a receive uses ~0 % CPU", async () => {
  const child = spawnFixture("idle_cpu.ts");
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const { value } = await deadline(reader.read(), 10_000, "the fixture to wait");
    assert.equal(value?.trim(), "waiting");
    reader.releaseLock();
    const cpuTicks = () => {
      const stat = Deno.readTextFileSync(`/proc/${child.pid}/stat`).split(") ")[1].split(" ");
      return Number(stat[11]) + Number(stat[12]); // utime + stime in clock ticks (1/100 s)
    };
    const start = cpuTicks();
    const started = performance.now();
    await until(() => performance.now() - started >= 1000, 2000, "one second to pass");
    const ticks = cpuTicks() - start;
    // A busy-waiting reactor would burn ~100 ticks (one core) in this second.
    assert.ok(ticks <= 5, `expected <= 5 clock ticks of CPU in 1 s idle, got ${ticks}`);
  } finally {
    child.kill("SIGKILL");
    await child.status;
    await child.stdout.cancel().catch(() => {});
  }
});

Deno.test("frames of ZERO_COPY_THRESHOLD (16 KiB) and more are sent zero-copy and released by libzmq", async () => {
  await using pull = new Pull();
  await pull.bind("tcp://127.0.0.1:*");
  await using push = new Push();
  push.connect(pull.lastEndpoint!);
  const frame = new Uint8Array(1 << 20).fill(7);
  const before = zeroCopyFramesInFlight();
  const sent = push.send(frame);
  assert.equal(zeroCopyFramesInFlight(), before + 1, "libzmq holds the caller's buffer");
  await sent;
  const [got] = await deadline(pull.receive(), 5000, "zero-copy frame");
  assert.equal(got.length, frame.length);
  assert.ok(got.every((b) => b === 7));
  await until(() => zeroCopyFramesInFlight() === before, 5000, "libzmq to release the frame");
});

Deno.test("zeroCopyHeld says which frame libzmq still holds: a PUB frame is held until its slowest subscriber has it", async () => {
  await using pub = new Publisher({ sendHighWaterMark: 10 });
  await pub.bind("tcp://127.0.0.1:*");
  await using fast = new Subscriber();
  fast.subscribe();
  fast.connect(pub.lastEndpoint!);
  // The slow subscriber reads nothing until told: its pipe keeps the frames.
  await using slow = new Subscriber({ receiveHighWaterMark: 10 });
  slow.subscribe();
  slow.connect(pub.lastEndpoint!);
  const a = new Uint8Array(1 << 20).fill(1);
  const small = new Uint8Array(16);
  // Wait until both subscriptions reached the publisher (each receives a probe).
  let fastUp = false;
  let slowUp = false;
  const fastFirst = fast.receive().then(() => fastUp = true);
  const slowFirst = slow.receive().then(() => slowUp = true);
  await until(
    async () => {
      if (!(fastUp && slowUp)) await pub.send(small);
      return fastUp && slowUp;
    },
    10_000,
    "both subscribers",
  );
  await Promise.all([fastFirst, slowFirst]);
  /** The next big frame (probes sent while subscribing may still be queued). */
  const nextBig = async (sub: Subscriber) => {
    for (;;) {
      const [frame] = await sub.receive();
      if (frame.length === a.length) return frame;
    }
  };
  await pub.send(a);
  assert.equal(zeroCopyHeld(a), true, "held once sent");
  await deadline(nextBig(fast), 5000, "the fast copy");
  assert.equal(zeroCopyHeld(small), false, "small frames are copied, never held");
  await deadline(nextBig(slow), 5000, "the slow copy");
  await until(() => !zeroCopyHeld(a), 5000, "libzmq to release the frame");
});

Deno.test("sends issued right after a receive failed cannot hide the replies from it (ZMQ_FD's edge)", async () => {
  // A send may process libzmq's commands, including the one that announces a reply; the
  // waiting receive must then read ZMQ_EVENTS instead of sleeping on a drained ZMQ_FD.
  const child = spawnFixture("echo_router.ts");
  const dealer = new Dealer({
    sendHighWaterMark: 0,
    receiveHighWaterMark: 0,
    linger: 0,
    sendQueueLimit: Infinity,
  });
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const { value } = await deadline(reader.read(), 10_000, "the echo fixture's endpoint");
    reader.releaseLock();
    dealer.connect(value!.trim());
    // Under the synchronous-completion budget (512), so every send completes in the tick.
    const sends = 450;
    const body = new Uint8Array(8 * 1024);
    for (let round = 0; round < 100; round++) {
      // One tick: a receive that fails now, then sends for a few ms while replies come in.
      const first = dealer.receive();
      for (let i = 0; i < sends; i++) dealer.send(body).catch(() => {});
      await deadline(first, 10_000, `round ${round}: the first reply`);
      for (let i = 1; i < sends; i++) {
        await deadline(dealer.receive(), 10_000, `round ${round}: reply ${i}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 2)); // libzmq's command throttle
    }
  } finally {
    dealer.close();
    child.kill("SIGKILL");
    await child.status;
  }
});
