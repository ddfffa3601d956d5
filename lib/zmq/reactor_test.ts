import assert from "node:assert/strict";
import {
  configureReactor,
  POLL_FAILURE_LIMIT,
  Pull,
  Push,
  Reply,
  Request,
  ZmqError,
} from "./mod.ts";
import { percentiles } from "@lib/async/mod.ts";
import { reactor } from "./reactor.ts";
import { deadline, spawnFixture, text, until } from "./test_util.ts";

/**
 * CPU time of the calling thread in ms (clock_gettime(CLOCK_THREAD_CPUTIME_ID) on Linux),
 * or null elsewhere.
 */
const threadCpuMs: (() => number) | null = (() => {
  if (Deno.build.os !== "linux") return null;
  const libc = Deno.dlopen("libc.so.6", {
    clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  });
  const timespec = new BigInt64Array(2);
  const bytes = new Uint8Array(timespec.buffer);
  const CLOCK_THREAD_CPUTIME_ID = 3;
  return () => {
    libc.symbols.clock_gettime(CLOCK_THREAD_CPUTIME_ID, bytes);
    return Number(timespec[0]) * 1000 + Number(timespec[1]) / 1e6;
  };
})();

/**
 * Reads a flood for `ms` while a 10 ms interval runs: the interval's worst gap in wall
 * time and in this thread's CPU time. A starved timer shows in both; a process the OS did
 * not run for a while (this machine is shared) shows only in wall time.
 */
async function floodWindow(pull: Pull, ms: number) {
  const gaps: number[] = [];
  const cpuGaps: number[] = [];
  let received = 0;
  let last = performance.now();
  let lastCpu = threadCpuMs?.() ?? 0;
  const tick = () => {
    const now = performance.now();
    const cpu = threadCpuMs?.() ?? 0;
    gaps.push(now - last);
    cpuGaps.push(cpu - lastCpu);
    last = now;
    lastCpu = cpu;
  };
  const timer = setInterval(tick, 10);
  const started = performance.now();
  try {
    for await (const [frame] of pull) {
      if (frame.length !== 16) assert.fail(`expected 16-byte frames, got ${frame.length}`);
      if (++received % 64 === 0 && performance.now() - started > ms) break;
    }
  } finally {
    clearInterval(timer);
  }
  tick(); // a timer that never fired shows here
  const worst = Math.max(...gaps);
  const worstCpu = threadCpuMs ? Math.max(...cpuGaps) : worst;
  const [median] = percentiles(gaps, [0.5]);
  return { worst, worstCpu, median, ticks: gaps.length - 1, received };
}

Deno.test("a flood from another process does not starve a 10 ms interval (worst gap < 50 ms)", async () => {
  await using pull = new Pull({ receiveHighWaterMark: 10_000 });
  await pull.bind("tcp://127.0.0.1:*");
  const flooder = spawnFixture("flood.ts", [pull.lastEndpoint!], "null");
  try {
    await deadline(pull.receive(), 15_000, "the flood to start");
    // The machine is shared: while the OS does not run this process the wall-clock gap grows
    // whatever the binding does, so a window passes when its worst gap is under 50 ms in
    // wall time or in this thread's CPU time (what the binding controls); up to 3 windows.
    // Without the yield every window fails both ways: the thread runs for the whole window
    // and the timer never fires.
    const windows: string[] = [];
    let passed = false;
    for (let attempt = 0; attempt < 3 && !passed; attempt++) {
      const { worst, worstCpu, ticks, received, median } = await floodWindow(pull, 2000);
      windows.push(
        `worst ${worst.toFixed(1)} ms (${worstCpu.toFixed(1)} ms of CPU), median ` +
          `${median.toFixed(1)} ms, ${ticks} ticks, ${received} messages`,
      );
      // A flood that never left the synchronous path would not test anything.
      assert.ok(received > 20_000, `expected a flood of > 20,000 messages in 2 s, got ${received}`);
      passed = worst < 50 || worstCpu < 50;
    }
    console.log(`fairness windows: ${windows.join("; ")}`);
    assert.ok(
      passed,
      `expected the 10 ms interval's worst gap under 50 ms, got ${windows.join("; ")}`,
    );
  } finally {
    flooder.kill("SIGKILL");
    await flooder.status;
  }
});

Deno.test("an error in a socket's processing rejects its pending operations and is an event", async () => {
  await using pull = new Pull();
  await pull.bind("tcp://127.0.0.1:*");
  await using push = new Push();
  push.connect(pull.lastEndpoint!);
  using events = pull.events.consumer();
  const r = reactor();
  r.faults.process = (socket) => {
    if (socket.fd !== pull.fd) return;
    r.faults.process = undefined;
    throw new Error("injected processing failure");
  };
  try {
    const pending = [pull.receive(), pull.receive()];
    for (const p of pending) {
      await assert.rejects(deadline(p, 5000, "the rejection"), /injected processing failure/);
    }
    for await (const event of events) {
      if (event.type === "error") {
        assert.match(event.error.message, /injected processing failure/);
        break;
      }
    }
  } finally {
    r.faults.process = undefined;
  }
  // The socket still works.
  const next = pull.receive();
  await push.send("after");
  assert.equal(text((await deadline(next, 5000, "a message after the failure"))[0]), "after");
});

Deno.test("a poll that fails is retried", async () => {
  await using pull = new Pull();
  await pull.bind("tcp://127.0.0.1:*");
  await using push = new Push();
  push.connect(pull.lastEndpoint!);
  const r = reactor();
  let failures = 0;
  r.faults.poll = () => failures < 2 ? new Error(`poll failure ${++failures}`) : undefined;
  try {
    const pending = pull.receive();
    await until(() => failures === 2, 5000, "both injected poll failures");
    await push.send("through");
    const [frame] = await deadline(pending, 5000, "a message despite failed polls");
    assert.equal(text(frame), "through");
    assert.equal(failures, 2, "both injected poll failures were hit");
  } finally {
    r.faults.poll = undefined;
  }
});

Deno.test("a poll that keeps failing rejects every waiting operation loudly, then recovers", async () => {
  await using pull = new Pull();
  await pull.bind("tcp://127.0.0.1:*");
  await using push = new Push();
  push.connect(pull.lastEndpoint!);
  const r = reactor();
  let polls = 0;
  r.faults.poll = () => {
    polls++;
    return new Error("poll is broken");
  };
  try {
    await assert.rejects(deadline(pull.receive(), 5000, "the rejection"), (error: unknown) => {
      assert.ok(error instanceof ZmqError);
      assert.equal(error.code, "EIO");
      assert.match(error.message, /poll failed 5 times in a row \(poll is broken\)/);
      return true;
    });
    assert.equal(polls, POLL_FAILURE_LIMIT);
  } finally {
    r.faults.poll = undefined;
  }
  const next = pull.receive();
  await push.send("recovered");
  assert.equal(text((await deadline(next, 5000, "a message after recovery"))[0]), "recovered");
});

Deno.test("configureReactor: park and pool both carry round trips; bad options say what they got", async () => {
  const initial = configureReactor();
  assert.equal(initial.mode, Deno.build.os === "linux" ? "park" : "pool");
  await using rep = new Reply();
  await rep.bind("tcp://127.0.0.1:*");
  await using req = new Request();
  req.connect(rep.lastEndpoint!);
  const echo = (async () => {
    for await (const [msg] of rep) await rep.send(msg);
  })();
  try {
    for (const mode of ["pool", "park"] as const) {
      assert.equal(configureReactor({ mode }).mode, Deno.build.os === "linux" ? mode : "pool");
      for (let i = 0; i < 200; i++) {
        await req.send(`${mode} ${i}`);
        const [reply] = await deadline(req.receive(), 5000, `${mode} round trip ${i}`);
        assert.equal(text(reply), `${mode} ${i}`);
      }
    }
  } finally {
    configureReactor(initial);
    rep.close();
    await echo;
  }
  assert.throws(
    () => configureReactor({ mode: "spin" as never }),
    /expected "park" or "pool", got spin/,
  );
  assert.throws(() => configureReactor({ parkMaxUs: -1 }), /expected 0\.\.100000 us, got -1/);
});
