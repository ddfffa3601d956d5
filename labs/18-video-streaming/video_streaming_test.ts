/**
 * Process tests of Lab 18: the real camera_feed and analytics_engine processes, run with
 * the manifest's permissions on ephemeral tcp ports or ipc paths in a temp dir, observed
 * through their JSON stats lines and log events.
 */
import assert from "node:assert/strict";
import { spawnRole, tempDir, waitFor } from "@lib/testing/mod.ts";
import { Dealer, Publisher } from "@lib/zmq/mod.ts";
import { delay } from "@lib/async/mod.ts";
import { frameChecksum } from "./internal/checksum.ts";
import { nv12Size } from "./internal/nv12.ts";
import { encode } from "@lib/codec/mod.ts";
import { encodeCredit, encodeHeader } from "./internal/protocol.ts";
import {
  allStats,
  camera,
  engine,
  HD,
  statsLine,
  writeUntilCut,
  zmtpHandshake,
  zmtpLongFrameHeader,
} from "./testing.ts";

const num = (s: Record<string, unknown>, key: string) => Number(s[key]);

Deno.test("4K frames arrive intact over ipc at two engines (credit mode: every checksum verified, none lost)", async () => {
  await using dir = await tempDir();
  await using cam = await camera(`ipc://${dir.path}/cam.sock`, ["--mode", "credit", "--fps", "0"]);
  await using a = await engine(cam.endpoint, ["--mode", "credit", "--name", "a", "--frames", "12"]);
  await using b = await engine(cam.endpoint, ["--mode", "credit", "--name", "b", "--frames", "12"]);
  for (const proc of [a, b]) {
    const done = await statsLine(proc, "engine_done", undefined, 90_000);
    assert.equal(num(done, "frames"), 12);
    assert.equal(num(done, "bytes"), 12 * 12_441_600, "3840x2160 NV12 frames");
    assert.equal(num(done, "mismatches"), 0, "every checksum matched");
    assert.equal(num(done, "dropped"), 0, "credit mode loses nothing");
    assert.equal(num(done, "bad_messages"), 0);
    assert.equal((await proc.wait()).code, 0);
  }
  await cam.proc.stop({ timeout: 20_000 });
});

Deno.test("the checksum check catches corruption: flipped bytes, and an unsafe pool reusing buffers in flight", async () => {
  // 1. Deliberate: every 4th frame gets a byte flipped after its checksum was taken.
  {
    await using cam = await camera("tcp://127.0.0.1:*", [
      ...HD,
      ...["--mode", "credit", "--fps", "0", "--corrupt-every", "4"],
    ]);
    await using e = await engine(cam.endpoint, ["--mode", "credit", "--frames", "18"]);
    const done = await statsLine(e, "engine_done", undefined, 60_000);
    assert.equal(num(done, "frames"), 18);
    assert.equal(num(done, "mismatches"), 4, "frames 4, 8, 12, 16 and only those");
    assert.equal(num(done, "last_mismatch_id"), 16);
    await e.event("checksum_mismatch", (ev) => ev.frame_id === 4);
  }
  // 2. Real: a pool of 2 reused round-robin while a slow engine's frames are still in
  //    libzmq's hands. The engines' checksums must see torn frames.
  {
    await using cam = await camera("tcp://127.0.0.1:*", [
      ...HD,
      ...["--fps", "0", "--pool", "2", "--unsafe-pool"],
    ]);
    await using slow = await engine(cam.endpoint, ["--work-ms", "100", "--name", "slow"]);
    await statsLine(slow, "engine_stats", (s) => num(s, "mismatches") > 0, 60_000);
  }
});

Deno.test("the pool never hands out a buffer still in flight: tiny pool, slow engine, no mismatch", async () => {
  // The same setup as the unsafe run above, with the real pool: it must wait for libzmq.
  await using cam = await camera("tcp://127.0.0.1:*", [...HD, "--fps", "0", "--pool", "2"]);
  await using slow = await engine(cam.endpoint, ["--work-ms", "100", "--name", "slow"]);
  await using fast = await engine(cam.endpoint, ["--name", "fast"]);
  const s = await statsLine(slow, "engine_stats", (s) => num(s, "frames") >= 15, 60_000);
  const f = await statsLine(fast, "engine_stats", (s) => num(s, "frames") >= 30, 60_000);
  assert.equal(num(s, "mismatches"), 0);
  assert.equal(num(f, "mismatches"), 0);
  const c = await statsLine(cam.proc, "camera_stats", (c) => num(c, "pool_waits") > 0, 30_000);
  assert.ok(num(c, "freed_by_probe") + num(c, "freed_by_count") > 0, JSON.stringify(c));
  await slow.stop();
  await fast.stop();
  await cam.proc.stop();
});

Deno.test("RSS stays bounded over 1,000 frames (camera and engine, as they report it)", async () => {
  // Credit mode: every one of the 1,000 frames really goes through both processes.
  await using cam = await camera("tcp://127.0.0.1:*", [
    ...HD,
    ...["--mode", "credit", "--fps", "0", "--pool", "6"],
  ]);
  await using e = await engine(cam.endpoint, ["--mode", "credit", "--frames", "1000"]);
  const camEarly = await statsLine(cam.proc, "camera_stats", (s) => num(s, "sent") >= 150, 60_000);
  const engEarly = await statsLine(e, "engine_stats", (s) => num(s, "frames") >= 150, 60_000);
  const engLate = await statsLine(e, "engine_done", undefined, 120_000);
  const camLate = await statsLine(cam.proc, "camera_stats", (s) => num(s, "sent") >= 1000, 30_000);
  assert.equal(num(engLate, "frames"), 1000);
  assert.equal(num(engLate, "mismatches"), 0);
  // Growth after warm-up stays far below one frame per 100 sent (a buffer leaked per frame
  // would be ~1,200 MB here).
  assert.ok(
    num(camLate, "rss_mb") <= num(camEarly, "rss_mb") + 60,
    `camera RSS ${camEarly.rss_mb} -> ${camLate.rss_mb} MB`,
  );
  assert.ok(
    num(engLate, "rss_mb") <= num(engEarly, "rss_mb") + 60,
    `engine RSS ${engEarly.rss_mb} -> ${engLate.rss_mb} MB`,
  );
  const frameMb = 1.3824;
  assert.ok(num(camLate, "rss_mb") < 6 * frameMb + 300, `camera RSS ${camLate.rss_mb} MB`);
  await cam.proc.stop();
});

Deno.test("latest mode: a slow engine drops frames and does not slow a fast one", async () => {
  await using cam = await camera("tcp://127.0.0.1:*", [...HD, "--fps", "25"]);
  await using slow = await engine(cam.endpoint, ["--work-ms", "200", "--name", "slow"]);
  await using fast = await engine(cam.endpoint, ["--name", "fast"]);
  // Measure a window once both run: frames the camera sent vs frames each engine got.
  await statsLine(fast, "engine_stats", (s) => num(s, "frames") >= 10, 60_000);
  await statsLine(slow, "engine_stats", (s) => num(s, "frames") >= 2, 60_000);
  const c0 = allStats(cam.proc, "camera_stats").at(-1)!;
  const f0 = allStats(fast, "engine_stats").at(-1)!;
  const s0 = allStats(slow, "engine_stats").at(-1)!;
  const c1 = await statsLine(
    cam.proc,
    "camera_stats",
    (s) => num(s, "sent") >= num(c0, "sent") + 100,
    60_000,
  );
  // The engines' next reports cover the same window.
  const fastReports = allStats(fast, "engine_stats").length;
  const slowReports = allStats(slow, "engine_stats").length;
  await waitFor(
    "a report from each engine after the camera's",
    () =>
      allStats(fast, "engine_stats").length > fastReports &&
      allStats(slow, "engine_stats").length > slowReports,
    { timeoutMs: 30_000 },
  );
  const f1 = allStats(fast, "engine_stats").at(-1)!;
  const s1 = allStats(slow, "engine_stats").at(-1)!;
  const sent = num(c1, "sent") - num(c0, "sent");
  const fastGot = num(f1, "frames") - num(f0, "frames");
  const slowGot = num(s1, "frames") - num(s0, "frames");
  assert.ok(fastGot >= 0.85 * sent, `fast engine got ${fastGot} of ${sent} frames`);
  assert.ok(slowGot < 0.5 * sent, `slow engine got ${slowGot} of ${sent} frames`);
  assert.ok(num(s1, "dropped") > 0, "the slow engine drops late frames");
  assert.equal(num(f1, "mismatches") + num(s1, "mismatches"), 0);
  await slow.stop();
  await fast.stop();
  await cam.proc.stop();
});

Deno.test("credit mode is lossless: a slow engine paces the camera, nobody drops", async () => {
  await using cam = await camera("tcp://127.0.0.1:*", [...HD, "--mode", "credit", "--fps", "0"]);
  await using slow = await engine(cam.endpoint, [
    ...["--mode", "credit", "--work-ms", "60", "--frames", "25"],
  ]);
  const first = await statsLine(cam.proc, "camera_stats", (s) => num(s, "engines") === 1, 60_000);
  await using fast = await engine(cam.endpoint, ["--mode", "credit", "--frames", "25"]);
  for (const proc of [slow, fast]) {
    const done = await statsLine(proc, "engine_done", undefined, 90_000);
    assert.equal(num(done, "frames"), 25);
    assert.equal(num(done, "dropped"), 0);
    assert.equal(num(done, "mismatches"), 0);
  }
  const last = allStats(cam.proc, "camera_stats").at(-1)!;
  assert.ok(num(last, "credit_waits") > num(first, "credit_waits"), "the camera waited for credit");
  await cam.proc.stop();
});

Deno.test("--input loops over a raw NV12 file", async () => {
  await using dir = await tempDir();
  const size = nv12Size(1280, 720);
  const file = new Uint8Array(size * 3);
  for (let k = 0; k < 3; k++) file.fill([40, 120, 200][k], k * size, k * size + 1280 * 720);
  const path = `${dir.path}/video.nv12`;
  await Deno.writeFile(path, file);
  await using cam = await camera(`ipc://${dir.path}/cam.sock`, [
    ...HD,
    ...["--mode", "credit", "--fps", "0", "--input", path],
  ]);
  await using e = await engine(cam.endpoint, ["--mode", "credit", "--frames", "6"]);
  const done = await statsLine(e, "engine_done", undefined, 60_000);
  assert.equal(num(done, "frames"), 6);
  assert.equal(num(done, "mismatches"), 0);
  assert.equal(num(done, "last_id"), 5);
  assert.equal(num(done, "luma_mean"), 200, "frame 5 is the file's third frame");
  await cam.proc.stop();
});

Deno.test("bad frames are logged as bad_message and dropped; the engine goes on", async () => {
  await using pub = new Publisher();
  await pub.bind("tcp://127.0.0.1:*");
  await using e = await engine(pub.lastEndpoint!, ["--receive-hwm", "100"]);
  const size = nv12Size(64, 32);
  const payload = new Uint8Array(size).fill(9);
  const header = (id: number, extra: Record<string, unknown> = {}) =>
    encodeHeader({
      stream: "t",
      id,
      pts_us: (performance.timeOrigin + performance.now()) * 1000,
      width: 64,
      height: 32,
      format: "NV12",
      size,
      checksum: frameChecksum(payload),
      ...extra,
    });
  // Until the engine's subscription arrived, a PUB drops: send good frames until one lands.
  let id = 0;
  const landed = statsLine(e, "engine_stats", (s) => num(s, "frames") >= 1, 30_000);
  let got = false;
  landed.then(() => got = true, () => {});
  while (!got && id < 300) {
    await pub.send([header(id++), payload]);
    await delay(100);
  }
  await landed;
  await pub.send([new TextEncoder().encode("garbage"), payload]);
  await pub.send([header(id++)]); // no payload frame
  await pub.send([header(id++, { size: 12 }), payload]); // size is not NV12 of 64x32
  await pub.send([header(id++), payload.subarray(0, 100)]); // short payload
  await pub.send([header(id++), payload, payload]); // three frames
  await pub.send([header(id++), payload]);
  await e.event("bad_message");
  const s = await statsLine(e, "engine_stats", (s) => num(s, "last_id") === id - 1, 30_000);
  assert.equal(num(s, "mismatches"), 0);
  const stopped = await e.stop();
  assert.equal(stopped.code, 0);
  const summary = await e.event("engine_summary");
  assert.equal(summary.bad_messages, 5);
});

Deno.test("bad configuration: one line and exit 2", async () => {
  for (const args of [["--width", "641"], ["--fps", "-1"], ["--mode", "both"]]) {
    await using cam = await spawnRole("18", "camera_feed", args);
    const { code } = await cam.wait();
    assert.equal(code, 2, args.join(" "));
  }
  await using dir = await tempDir();
  await Deno.writeFile(`${dir.path}/short.nv12`, new Uint8Array(10));
  await using cam = await spawnRole("18", "camera_feed", ["--input", `${dir.path}/short.nv12`]);
  assert.equal((await cam.wait()).code, 2);
  assert.ok(cam.tail().includes("less than one"), cam.tail());
});

Deno.test("a rogue publisher declaring a 2 GiB frame is cut off before the engine allocates it", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  await using e = await engine(`tcp://127.0.0.1:${listener.addr.port}`);
  using conn = await listener.accept();
  await zmtpHandshake(conn, "PUB");
  // A header frame (MORE), then a payload frame whose ZMTP header declares 2 GiB.
  await conn.write(new Uint8Array([0x01, 4, 0x78, 0x78, 0x78, 0x78]));
  await conn.write(zmtpLongFrameHeader(2 ** 31));
  // Without a size limit libzmq allocates the 2 GiB message and reads every byte into it.
  const total = 256 << 20;
  const written = await writeUntilCut(conn, total);
  assert.ok(written < total, `the engine read all ${written} bytes of the oversized frame`);
  const s = await statsLine(e, "engine_stats", () => true, 30_000);
  assert.ok(num(s, "rss_mb") < 200 + 256, `engine RSS ${s.rss_mb} MB`);
  assert.equal((await e.stop()).code, 0);
});

Deno.test("camera (credit mode): a flood of bogus credit messages and an oversized frame do not disturb a real engine", async () => {
  await using cam = await camera("tcp://127.0.0.1:*", [...HD, "--mode", "credit", "--fps", "0"]);
  await using rogue = new Dealer({ linger: 0, sendHighWaterMark: 100_000 });
  rogue.connect(cam.endpoint);
  const bogus: Uint8Array[][] = [
    [new TextEncoder().encode("garbage")],
    [encodeCredit(1), encodeCredit(1)], // two frames
    [encode({ kind: "credit", credit: 1e9 })], // over MAX_CREDIT
    [encode({ kind: "credit", credit: -1 })],
    [encode({ kind: "credit", credit: 1, extra: true })],
    [new Uint8Array(0)],
  ];
  for (let i = 0; i < 5_000; i++) await rogue.send(bogus[i % bogus.length]);
  await cam.proc.event("bad_message");
  // A raw peer declaring a 2 GiB control frame is cut off by libzmq's size limit.
  const port = Number(new URL(cam.endpoint.replace("tcp://", "http://")).port);
  using conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await zmtpHandshake(conn, "DEALER");
  await conn.write(zmtpLongFrameHeader(2 ** 31));
  const total = 256 << 20;
  const written = await writeUntilCut(conn, total);
  assert.ok(written < total, `the camera read all ${written} bytes of the oversized frame`);
  // A real engine still gets every frame, intact.
  await using e = await engine(cam.endpoint, ["--mode", "credit", "--frames", "20"]);
  const done = await statsLine(e, "engine_done", undefined, 60_000);
  assert.equal(num(done, "frames"), 20);
  assert.equal(num(done, "dropped"), 0);
  assert.equal(num(done, "mismatches"), 0);
  const c = await statsLine(cam.proc, "camera_stats", () => true, 30_000);
  assert.ok(num(c, "rss_mb") < 500, `camera RSS ${c.rss_mb} MB`);
  assert.equal((await cam.proc.stop()).code, 0);
});

Deno.test("headers claiming alternating large sizes over tiny payloads: dropped without an allocation per message", async () => {
  await using pub = new Publisher({ sendHighWaterMark: 10_000 });
  await pub.bind("tcp://127.0.0.1:*");
  await using e = await engine(pub.lastEndpoint!, ["--receive-hwm", "1000"]);
  const good = nv12Size(64, 32);
  const payload = new Uint8Array(good).fill(9);
  const header = (id: number, width: number, height: number) =>
    encodeHeader({
      stream: "t",
      id,
      pts_us: (performance.timeOrigin + performance.now()) * 1000,
      width,
      height,
      format: "NV12",
      size: nv12Size(width, height),
      checksum: frameChecksum(payload),
    });
  let id = 0;
  const landed = statsLine(e, "engine_stats", (s) => num(s, "frames") >= 1, 30_000);
  let got = false;
  landed.then(() => got = true, () => {});
  while (!got && id < 300) {
    await pub.send([header(id++, 64, 32), payload]);
    await delay(100);
  }
  await landed;
  // 16 MiB and 15.5 MiB claimed in turn, one byte sent: each a bad_message.
  const tiny = new Uint8Array(1);
  const bad = 3000; // paced: the receive HWM (1000) never fills
  for (let i = 0; i < bad; i++) {
    await pub.send([i % 2 ? header(id++, 4096, 2730) : header(id++, 4000, 2712), tiny]);
    if (i % 100 === 99) await delay(20);
  }
  await pub.send([header(id++, 64, 32), payload]);
  await statsLine(e, "engine_stats", (s) => num(s, "last_id") === id - 1, 60_000);
  assert.equal((await e.stop()).code, 0);
  const summary = await e.event("engine_summary");
  assert.ok(Number(summary.bad_messages) >= bad * 0.9, `bad_messages ${summary.bad_messages}`);
  // One ~16 MiB buffer at most is kept; an allocation per message would churn 48 GB.
  assert.ok(Number(summary.rss_mb) < 250, `engine RSS ${summary.rss_mb} MB`);
});
