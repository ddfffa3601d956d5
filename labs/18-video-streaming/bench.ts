/**
 * Lab 18 benchmark (the lab's headline): 4K NV12 frames (12,441,600 B) from camera_feed to
 * 1 and 2 analytics_engines over ipc and tcp, in fps per engine, GB/s delivered and CPU
 * seconds (camera + engines) per GB delivered, beside native C libzmq (the C peer of
 * `deno task bench:zmq`, `lib/zmq/bench/c_peer.c`, compiled here the same way) moving the
 * same frames PUSH → PULL over the same transport in the same run.
 *
 * Rows:
 * - `transport`: credit mode (lossless, like C's blocking PUSH), `camera --static` (each pool
 *   buffer rendered once: no per-frame render or checksum) and `engine --no-verify
 *   --analyze-step 0`: what the zero-copy path costs, the figure to hold against C.
 * - `full`: the lab as it runs: a fresh pattern and checksum per frame, engines verify the
 *   checksum and compute histogram and motion.
 * - `latest`: latest-frame mode (PUB, HWM 1) with the transport settings, the camera at
 *   `--latest-fps` (60): engines drop what they cannot take; fps counts processed frames.
 *
 * Run: `deno run -A labs/18-video-streaming/bench.ts [--seconds 8] [--repeats 1] [--latest-fps 60] [--quick]`.
 * Figures are never asserted: the machine is shared.
 *
 * @module
 */

import { loadLibzmq } from "@lib/zmq/mod.ts";

const args = Deno.args;
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const quick = args.includes("--quick");
const SECONDS = flag("--seconds", quick ? 3 : 8);
const REPEATS = flag("--repeats", 1);
const C_FRAMES = flag("--c-frames", quick ? 30 : 200);
const FRAME = 12_441_600;
/** Camera rate in the latest-mode row. */
const LATEST_FPS = flag("--latest-fps", 60);
const here = new URL(".", import.meta.url).pathname;
const cPeerSource = new URL("../../lib/zmq/bench/c_peer.c", import.meta.url).pathname;
const PERMS = ["--allow-ffi", "--allow-env", "--allow-read"];

/** Compiles lib/zmq's C peer as lib/zmq/bench.ts does (napi stubs for the npm libzmq). */
async function buildC(): Promise<string | null> {
  try {
    const lib = loadLibzmq().path;
    const nm = await new Deno.Command("nm", { args: ["-D", "--undefined-only", lib] }).output();
    const stubs = new TextDecoder().decode(nm.stdout).split("\n")
      .map((line) => line.trim().split(/\s+/).pop() ?? "")
      .filter((name) => /^(napi|uv|node)_/.test(name))
      .map((name) => `void ${name}(void) {}`).join("\n");
    const dir = await Deno.makeTempDir({ prefix: "lab18-bench-" });
    await Deno.writeTextFile(`${dir}/stubs.c`, stubs + "\n");
    const out = `${dir}/c_peer`;
    const cc = await new Deno.Command("gcc", {
      args: ["-O2", "-rdynamic", "-o", out, cPeerSource, `${dir}/stubs.c`, "-ldl"],
      stderr: "piped",
    }).output();
    if (!cc.success) throw new Error(new TextDecoder().decode(cc.stderr));
    return out;
  } catch (error) {
    console.error(`C peer unavailable: ${(error as Error).message.split("\n")[0]}`);
    return null;
  }
}

interface Proc {
  child: Deno.ChildProcess;
  lines: { at: number; json: Record<string, number | string> }[];
  waiters: Set<() => void>;
}

function spawn(cmd: string, cmdArgs: string[]): Proc {
  const child = new Deno.Command(cmd, {
    args: cmdArgs,
    stdout: "piped",
    stderr: "null",
    stdin: "null",
  }).spawn();
  const proc: Proc = { child, lines: [], waiters: new Set() };
  (async () => {
    let buffer = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      const parts = buffer.split("\n");
      buffer = parts.pop()!;
      for (const part of parts) {
        if (!part.startsWith("{")) continue;
        try {
          proc.lines.push({ at: performance.now(), json: JSON.parse(part) });
        } catch {
          continue;
        }
        for (const wake of proc.waiters) wake();
      }
    }
  })();
  return proc;
}

async function until<T>(
  proc: Proc,
  pick: (json: Record<string, number | string>) => T | undefined,
  timeoutMs = 120_000,
): Promise<{ at: number; value: T }> {
  const started = performance.now();
  for (;;) {
    for (const line of proc.lines) {
      const value = pick(line.json);
      if (value !== undefined) return { at: line.at, value };
    }
    if (performance.now() - started > timeoutMs) throw new Error("bench: timed out");
    await new Promise<void>((resolve) => {
      const wake = () => {
        proc.waiters.delete(wake);
        resolve();
      };
      proc.waiters.add(wake);
      setTimeout(wake, 500);
    });
  }
}

const last = (proc: Proc, event: string) =>
  proc.lines.filter((l) => l.json.event === event).at(-1)!;

async function kill(proc: Proc): Promise<void> {
  try {
    proc.child.kill("SIGTERM");
  } catch {
    // gone
  }
  await proc.child.status;
}

/** Cumulative CPU seconds of a live process (Linux /proc, 10 ms ticks). */
function processCpuS(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return (Number(stat[11]) + Number(stat[12])) / 100;
}

interface Result {
  fps: number;
  gbps: number;
  cpuPerGb: number;
}

async function c(peer: string, endpoint: string): Promise<Result> {
  const lib = loadLibzmq().path;
  const pullArgs = [lib, "pull", String(FRAME), String(C_FRAMES)];
  if (endpoint.startsWith("ipc://")) pullArgs.push(endpoint);
  const pull = spawn(peer, pullArgs);
  const { value: ep } = await until(pull, (j) => j.endpoint as string | undefined);
  const push = spawn(peer, [lib, "push", ep, String(FRAME), String(C_FRAMES)]);
  try {
    await until(push, (j) => j.cpuMs !== undefined ? true : undefined);
    const pushCpu0 = processCpuS(push.child.pid);
    const { value } = await until(pull, (j) => j.elapsedMs !== undefined ? j : undefined);
    const pushCpu = processCpuS(push.child.pid) - pushCpu0;
    const seconds = Number(value.elapsedMs) / 1000;
    const gb = C_FRAMES * FRAME / 1e9;
    return {
      fps: C_FRAMES / seconds,
      gbps: gb / seconds,
      cpuPerGb: (Number(value.cpuMs) / 1000 + pushCpu) / gb,
    };
  } finally {
    await kill(push);
    await kill(pull);
  }
}

async function lab(
  transport: "ipc" | "tcp",
  engines: number,
  kind: "transport" | "full" | "latest",
  dir: string,
): Promise<Result> {
  const bind = transport === "ipc"
    ? `ipc://${dir}/cam-${crypto.randomUUID()}.sock`
    : "tcp://127.0.0.1:*";
  const mode = kind === "latest" ? "latest" : "credit";
  // Latest mode drops instead of blocking: a camera at fps 0 would spin, sending frames that
  // nobody takes, on the cores the engines need. It runs at a camera's rate, above what one
  // engine takes on this machine.
  const fps = kind === "latest" ? String(LATEST_FPS) : "0";
  const camArgs = ["--bind", bind, "--mode", mode, "--fps", fps, "--json", "--report-ms", "500"];
  if (kind !== "full") camArgs.push("--static");
  const cam = spawn(Deno.execPath(), ["run", ...PERMS, `${here}cmd/camera_feed.ts`, ...camArgs]);
  const procs: Proc[] = [];
  try {
    // The first stats line carries the endpoint really bound (an ephemeral port resolved).
    const { value: endpoint } = await until(
      cam,
      (j) => j.event === "camera_stats" ? String(j.endpoint) : undefined,
    );
    for (let i = 0; i < engines; i++) {
      const engArgs = ["--connect", endpoint, "--mode", mode, "--json", "--report-ms", "500"];
      if (kind !== "full") engArgs.push("--no-verify", "--analyze-step", "0");
      procs.push(
        spawn(Deno.execPath(), ["run", ...PERMS, `${here}cmd/analytics_engine.ts`, ...engArgs]),
      );
    }
    // Warm-up: every engine has 10 frames.
    for (const p of procs) {
      await until(
        p,
        (j) => j.event === "engine_stats" && Number(j.frames) >= 10 ? true : undefined,
      );
    }
    const t0 = performance.now();
    const cam0 = processCpuS(cam.child.pid);
    const e0 = procs.map((p) => ({ cpu: processCpuS(p.child.pid), ...last(p, "engine_stats") }));
    await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
    const seconds = (performance.now() - t0) / 1000;
    const camCpu = processCpuS(cam.child.pid) - cam0;
    let frames = 0, bytes = 0, cpu = camCpu;
    procs.forEach((p, i) => {
      const now = last(p, "engine_stats");
      // Frames and bytes between the two reports, scaled to the measured interval.
      const span = (now.at - e0[i].at) / 1000;
      frames += (Number(now.json.frames) - Number(e0[i].json.frames)) * seconds / span;
      // Received bytes: processed frames plus, in latest mode, frames skipped as stale.
      const skipped = Number(now.json.skipped_stale) - Number(e0[i].json.skipped_stale);
      bytes += (Number(now.json.bytes) - Number(e0[i].json.bytes) + skipped * FRAME) * seconds /
        span;
      cpu += processCpuS(p.child.pid) - e0[i].cpu;
    });
    return {
      fps: frames / engines / seconds,
      gbps: bytes / 1e9 / seconds,
      cpuPerGb: cpu / (bytes / 1e9),
    };
  } finally {
    for (const p of procs) await kill(p);
    await kill(cam);
  }
}

const fmt = (r: Result) =>
  `${r.fps.toFixed(1).padStart(7)} fps  ${r.gbps.toFixed(2).padStart(6)} GB/s  ${
    r.cpuPerGb.toFixed(2).padStart(6)
  } CPU s/GB`;

if (import.meta.main) {
  const peer = await buildC();
  const dir = await Deno.makeTempDir({ prefix: "lab18-bench-ipc-" });
  const load = () => Deno.loadavg()[0].toFixed(1);
  console.log(
    `Lab 18 bench: 4K NV12 frames (${FRAME} B), ${SECONDS} s windows, ${REPEATS} repeat(s); load average ${load()} on ${navigator.hardwareConcurrency} CPUs`,
  );
  console.log(
    "CPU s/GB = user+sys of the sender and every receiver per GB delivered (sum over engines)",
  );
  try {
    for (const transport of ["ipc", "tcp"] as const) {
      const cRuns: Result[] = [];
      const labRuns = new Map<string, Result[]>();
      for (let r = 0; r < REPEATS; r++) {
        const cEndpoint = transport === "ipc" ? `ipc://${dir}/c-${r}.sock` : "tcp://127.0.0.1:*";
        if (peer) cRuns.push(await c(peer, cEndpoint));
        for (
          const [kind, engines] of [["transport", 1], ["transport", 2], ["full", 1], [
            "latest",
            1,
          ]] as const
        ) {
          const key = `${kind} ${engines}`;
          if (!labRuns.has(key)) labRuns.set(key, []);
          labRuns.get(key)!.push(await lab(transport, engines, kind, dir));
        }
      }
      const median = (list: Result[]): Result => {
        const pick = (f: (r: Result) => number) =>
          list.map(f).sort((a, b) => a - b)[list.length >> 1];
        return {
          fps: pick((r) => r.fps),
          gbps: pick((r) => r.gbps),
          cpuPerGb: pick((r) => r.cpuPerGb),
        };
      };
      const cr = cRuns.length > 0 ? median(cRuns) : null;
      console.log(`\n${transport}`);
      if (cr) console.log(`  C PUSH/PULL (1 receiver)       ${fmt(cr)}`);
      for (const [key, runs] of labRuns) {
        const m = median(runs);
        const [kind, engines] = key.split(" ");
        const label = `  lab ${kind} ${engines} engine${engines === "1" ? "" : "s"}`.padEnd(33);
        const ratio = cr
          ? `  fps ${(m.fps / cr.fps).toFixed(2)}x C${
            transport === "ipc" && kind === "transport" && m.fps / cr.fps < 0.75 ? "!" : ""
          }, CPU/GB ${(m.cpuPerGb / cr.cpuPerGb).toFixed(2)}x C${
            kind === "transport" && m.cpuPerGb / cr.cpuPerGb > 1.3 ? "!" : ""
          }`
          : "";
        console.log(label + fmt(m) + ratio);
      }
    }
    console.log(
      `\nload average at the end ${load()}; '!' marks a ratio short of the issue's goal (ipc fps >= 0.75x C, CPU/GB <= 1.3x C)`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
