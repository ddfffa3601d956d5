/**
 * `deno task bench:zmq [--repeats N] [--quick] [--baseline DIR]`: lib/zmq PUSH/PULL
 * throughput (16 B, 1 KiB, 64 KiB, 12 MiB and a 4K video frame of 12,441,600 B over tcp,
 * 16 B and 64 KiB over ipc) and REQ/REP round-trip latency (median, p99), each measured
 * beside zeromq.js on Node and native C against the same libzmq, in the same run.
 *
 * Every figure is two separate processes (as libzmq's local_thr/remote_thr). Each
 * measurement runs `--repeats` times (default 3), alternating the implementations, and the
 * table shows medians with the spread (max-min over median). The CPU column is user+sys of
 * both processes per million messages (per GB for the large sizes), measured from the first
 * message received to the last; RSS is the receiver's peak. A ratio below the goal is
 * marked `!`. `lib/zmq fast` is the allocation-free API (`receiveInto`, `receiveView` from 16 KiB,
 * `sendSync`);
 * `lib/zmq pool` (only with `--impls`) is the plain API with the reactor's park off.
 * `--baseline DIR[,DIR...]` adds `DIR/lib/zmq` (another checkout, e.g. a variant under test)
 * as one more implementation each, named `base:<last path segment>`.
 * `--rows "16 B,64 KiB"`, `--impls "lib/zmq,C"` and `--no-latency` select parts of the run;
 * an impl `A>B` is a mixed pair (A sends, B receives: `C>lib/zmq` shows the receiver alone).
 * `--quick` runs small counts once (seconds: CI checks the bench still runs). Figures are
 * never asserted anywhere: this machine is shared and noisy. `--breakdown` profiles one
 * process instead: the cost per call of the FFI floor, a raw `zmq_recv`, and each receive
 * and send path of the binding on 16 B messages already queued on an inproc pipe.
 *
 * @module
 */
import { percentiles } from "@lib/async/mod.ts";
import { zmqContext } from "./context.ts";
import { loadLibzmq, Pull, Push } from "./mod.ts";

const here = new URL("./bench/", import.meta.url).pathname;

interface Row {
  label: string;
  size: number;
  count: number;
  transport: "tcp" | "ipc";
  /** Goal of lib/zmq ÷ C (throughput). */
  goal: number;
  /** Also at least Node's figure. */
  goalNode?: boolean;
}

const ROWS: Row[] = [
  { label: "16 B", size: 16, count: 1_000_000, transport: "tcp", goal: 0.5 },
  { label: "1 KiB", size: 1024, count: 300_000, transport: "tcp", goal: 0.9 },
  { label: "64 KiB", size: 65_536, count: 20_000, transport: "tcp", goal: 0.8, goalNode: true },
  { label: "12 MiB", size: 12 * 1024 * 1024, count: 100, transport: "tcp", goal: 0.9 },
  { label: "4K frame", size: 12_441_600, count: 100, transport: "tcp", goal: 0.9 },
  { label: "16 B ipc", size: 16, count: 1_000_000, transport: "ipc", goal: 0.5 },
  { label: "64K ipc", size: 65_536, count: 20_000, transport: "ipc", goal: 0.8, goalNode: true },
];
const ROUND_TRIPS = 10_000;
/** Goals of lib/zmq ÷ C for REQ/REP (lower is better). */
const LATENCY_GOALS = { median: 1.2, p99: 1.5 };

/** An implementation; `base:<dir name>` is a `--baseline` checkout. */
type Impl =
  | "lib/zmq"
  | "lib/zmq fast"
  | "lib/zmq pool"
  | "zeromq.js"
  | "C"
  | `base:${string}`
  | `${string}>${string}`;

interface Peer {
  child: Deno.ChildProcess;
  lines: AsyncIterator<string>;
}

interface Throughput {
  msgs: number;
  bytes: number;
  /** CPU ms of both processes per million messages. */
  cpuPerM: number;
  /** CPU ms of both processes per GB. */
  cpuPerGB: number;
  rssKb: number;
}

async function buildC(): Promise<string | null> {
  try {
    const lib = loadLibzmq().path;
    const nm = await new Deno.Command("nm", { args: ["-D", "--undefined-only", lib] }).output();
    const stubs = new TextDecoder().decode(nm.stdout).split("\n")
      .map((line) => line.trim().split(/\s+/).pop() ?? "")
      .filter((name) => /^(napi|uv|node)_/.test(name))
      .map((name) => `void ${name}(void) {}`).join("\n");
    const dir = await Deno.makeTempDir({ prefix: "zmq-bench-" });
    await Deno.writeTextFile(`${dir}/stubs.c`, stubs + "\n");
    const out = `${dir}/c_peer`;
    const cc = await new Deno.Command("gcc", {
      args: ["-O2", "-rdynamic", "-o", out, `${here}c_peer.c`, `${dir}/stubs.c`, "-ldl"],
      stderr: "piped",
    }).output();
    if (!cc.success) throw new Error(new TextDecoder().decode(cc.stderr));
    return out;
  } catch (error) {
    console.error(`C peer unavailable: ${(error as Error).message.split("\n")[0]}`);
    return null;
  }
}

interface Setup {
  cPeer: string | null;
  /** `--baseline` checkouts by implementation name. */
  baselines: Map<Impl, string>;
}

function command(impl: Impl, setup: Setup, args: string[]): Deno.Command {
  const options = { stdout: "piped", stderr: "inherit", stdin: "null" } as const;
  const deno = (peer: string, extra: string[] = []) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", "-A", peer, ...args, ...extra],
      ...options,
    });
  switch (impl) {
    case "lib/zmq":
      return deno(`${here}peer.ts`);
    case "lib/zmq fast":
      return deno(`${here}peer.ts`, ["--api=fast"]);
    case "lib/zmq pool":
      return deno(`${here}peer.ts`, ["--mode=pool"]);
    case "zeromq.js":
      return new Deno.Command("node", { args: [`${here}peer.cjs`, ...args], ...options });
    case "C":
      return new Deno.Command(setup.cPeer!, { args: [loadLibzmq().path, ...args], ...options });
    default:
      return deno(`${setup.baselines.get(impl)}/lib/zmq/bench/peer.ts`);
  }
}

function spawn(impl: Impl, setup: Setup, args: string[]): Peer {
  const child = command(impl, setup, args).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(splitLines())
    [Symbol.asyncIterator]();
  return { child, lines };
}

function splitLines(): TransformStream<string, string> {
  let buffer = "";
  return new TransformStream({
    transform(chunk, controller) {
      buffer += chunk;
      const parts = buffer.split("\n");
      buffer = parts.pop()!;
      for (const part of parts) if (part.trim()) controller.enqueue(part);
    },
  });
}

async function json(peer: Peer): Promise<Record<string, number | string | null>> {
  const { value, done } = await peer.lines.next();
  if (done) throw new Error("peer exited without output");
  return JSON.parse(value);
}

async function stop(peer: Peer): Promise<void> {
  try {
    peer.child.kill("SIGKILL");
  } catch {
    // already exited
  }
  await peer.child.status;
}

/** Cumulative CPU ms of a live process (Linux /proc; clock ticks of 10 ms), or NaN. */
function processCpuMs(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
    return (Number(stat[11]) + Number(stat[12])) * 10;
  } catch {
    return NaN;
  }
}

/** `sender>receiver` (a mixed pair, to see which side limits) or one implementation for both. */
function sides(impl: Impl): { sender: Impl; receiver: Impl } {
  const [sender, receiver] = impl.split(">") as Impl[];
  return { sender, receiver: receiver ?? sender };
}

async function throughput(impl: Impl, setup: Setup, row: Row, dir: string): Promise<Throughput> {
  const { sender, receiver } = sides(impl);
  const bind = row.transport === "ipc" ? [`ipc://${dir}/thr-${crypto.randomUUID()}.sock`] : [];
  const pull = spawn(receiver, setup, ["pull", String(row.size), String(row.count), ...bind]);
  const { endpoint } = await json(pull);
  const push = spawn(sender, setup, [
    "push",
    String(endpoint),
    String(row.size),
    String(row.count),
  ]);
  try {
    await json(push); // about to send
    const pushCpu0 = processCpuMs(push.child.pid);
    const result = await json(pull);
    const pushCpu = processCpuMs(push.child.pid) - pushCpu0;
    const seconds = Number(result.elapsedMs) / 1000;
    const cpu = Number(result.cpuMs) + pushCpu;
    return {
      msgs: row.count / seconds,
      bytes: row.count * row.size / seconds,
      cpuPerM: cpu / (row.count / 1e6),
      cpuPerGB: cpu / (row.count * row.size / 1e9),
      rssKb: Number(result.maxRssKb),
    };
  } finally {
    await stop(push);
    await stop(pull);
  }
}

async function latency(impl: Impl, setup: Setup, roundTrips: number) {
  const rep = spawn(impl, setup, ["rep"]);
  const { endpoint } = await json(rep);
  const req = spawn(impl, setup, ["req", String(endpoint), String(roundTrips)]);
  try {
    const { medianUs, p99Us } = await json(req);
    return { median: Number(medianUs), p99: Number(p99Us) };
  } finally {
    await stop(req);
    await stop(rep);
  }
}

const fmtRate = (n: number) =>
  n >= 1e6 ? `${(n / 1e6).toFixed(2)} M/s` : `${(n / 1e3).toFixed(0)} k/s`;
const fmtBytes = (n: number) =>
  n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB/s` : `${(n / 1e6).toFixed(0)} MB/s`;

/** Median and spread ((max - min) / median) of repeated figures. */
function summary(values: number[]): { median: number; spread: number } {
  const [median] = percentiles(values, [0.5]);
  const spread = values.length > 1 ? (Math.max(...values) - Math.min(...values)) / median : 0;
  return { median, spread };
}

const pct = (spread: number) => `±${(spread * 50).toFixed(0)}%`;

function parseArgs(args: string[]) {
  const quick = args.includes("--quick");
  const value = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const repeats = Number(value("--repeats") ?? (quick ? 1 : 3));
  if (!Number.isInteger(repeats) || repeats < 1) {
    throw new Error(`--repeats: expected an integer >= 1, got ${value("--repeats")}`);
  }
  const list = (flag: string) => value(flag)?.split(",").map((item) => item.trim());
  return {
    quick,
    repeats,
    baselines: list("--baseline") ?? [],
    rows: list("--rows"),
    impls: list("--impls") as Impl[] | undefined,
    latency: !args.includes("--no-latency"),
  };
}

/**
 * ns per call of each layer, in this process, on 16 B messages already queued on an inproc
 * pipe (no wait, no other process): what each layer of the binding costs over the FFI floor.
 */
async function breakdown(n: number): Promise<void> {
  const z = loadLibzmq().symbols;
  const nsPer = (ms: number) => `${((ms * 1e6) / n).toFixed(0)} ns`.padStart(8);
  const time = async (
    label: string,
    fn: () => unknown | Promise<unknown>,
    prepare?: () => void,
  ) => {
    prepare?.();
    const t = performance.now();
    await fn();
    console.log(`${label.padEnd(58)}${nsPer(performance.now() - t)}`);
  };
  console.log(`per-call cost, one process, ${n} calls each (median of nothing: run it twice)`);
  await time("FFI floor: zmq_errno() (no work)", () => {
    for (let i = 0; i < n; i++) z.zmq_errno();
  });
  const pull = new Pull({ receiveHighWaterMark: 0 });
  const push = new Push({ sendHighWaterMark: 0 });
  const endpoint = `inproc://breakdown-${crypto.randomUUID()}`;
  await pull.bind(endpoint);
  push.connect(endpoint);
  const frame = new Uint8Array(16);
  const buffer = new Uint8Array(64);
  const fill = () => {
    for (let i = 0; i < n; i++) if (!push.sendSync(frame)) throw new Error("inproc pipe full");
  };
  const raw = rawPair(n);
  try {
    fill(); // warm: the pipe's chunks exist, as in a steady stream
    for (let i = 0; i < n; i++) pull.receiveSyncInto(buffer);
    await time("raw FFI: zmq_send(DONTWAIT) on a raw socket", raw.send);
    await time("raw FFI: zmq_recv(DONTWAIT) on a raw socket", raw.receive);
    await time("send: sendSync(frame) (zmq_send)", fill);
    await time("receive: receiveSyncInto(buffer) (zmq_recv, no promise)", () => {
      for (let i = 0; i < n; i++) if (pull.receiveSyncInto(buffer) !== 16) throw new Error("short");
    });
    await time("send: await send(frame)", async () => {
      for (let i = 0; i < n; i++) await push.send(frame);
    });
    await time("receive: await receiveInto(buffer)", async () => {
      for (let i = 0; i < n; i++) {
        if (await pull.receiveInto(buffer) !== 16) throw new Error("short");
      }
    });
    await time("receive: await receive() (a new frame and array)", async () => {
      for (let i = 0; i < n; i++) {
        if ((await pull.receive())[0].length !== 16) throw new Error("short");
      }
    }, fill);
  } finally {
    raw.close();
    push.close({ linger: 0 });
    pull.close();
  }
}

/** Two raw libzmq sockets (no binding layers) for the FFI-floor rows of the breakdown. */
function rawPair(n: number) {
  const z = loadLibzmq().symbols;
  const cstring = (value: string) => new TextEncoder().encode(value + "\0");
  const hwm = new Int32Array([0]);
  const pull = z.zmq_socket(zmqContext(), 7)!;
  const push = z.zmq_socket(zmqContext(), 8)!;
  z.zmq_setsockopt(pull, 24, hwm, 4n);
  z.zmq_setsockopt(push, 23, hwm, 4n);
  const endpoint = cstring(`inproc://raw-${crypto.randomUUID()}`);
  z.zmq_bind(pull, endpoint);
  z.zmq_connect(push, endpoint);
  const frame = new Uint8Array(16);
  const buffer = new Uint8Array(64);
  return {
    send: () => {
      for (let i = 0; i < n; i++) {
        if (z.zmq_send(push, frame, 16n, 1) !== 16) throw new Error("send");
      }
    },
    receive: () => {
      for (let i = 0; i < n; i++) {
        if (z.zmq_recv(pull, buffer, 64n, 1) !== 16) throw new Error("recv");
      }
    },
    close: () => {
      z.zmq_close(push);
      z.zmq_close(pull);
    },
  };
}

if (import.meta.main && Deno.args.includes("--breakdown")) {
  await breakdown(Deno.args.includes("--quick") ? 10_000 : 1_000_000);
  Deno.exit(0);
}

if (import.meta.main) {
  const options = parseArgs(Deno.args);
  const { quick, repeats } = options;
  const cPeer = await buildC();
  const baselines = new Map<Impl, string>(
    options.baselines.map((dir) => [`base:${dir.split("/").filter(Boolean).pop()}`, dir]),
  );
  const setup: Setup = { cPeer, baselines };
  const impls: Impl[] = ["lib/zmq", "lib/zmq fast", "zeromq.js"];
  if (cPeer) impls.push("C");
  if (options.impls) {
    const wanted = options.impls;
    const all: Impl[] = [...impls, "lib/zmq pool"];
    impls.splice(0, impls.length, ...all.filter((impl) => wanted.includes(impl)));
    // Mixed pairs (`C>lib/zmq`: C sends, lib/zmq receives) show which side limits a row.
    impls.push(...wanted.filter((impl) => impl.includes(">")));
  }
  impls.push(...baselines.keys());
  const dir = await Deno.makeTempDir({ prefix: "zmq-bench-ipc-" });
  const rows =
    (quick ? ROWS.map((row) => ({ ...row, count: Math.max(3, Math.ceil(row.count / 200)) })) : ROWS)
      .filter((row) => !options.rows || options.rows.includes(row.label));
  const roundTrips = quick ? 200 : ROUND_TRIPS;
  try {
    console.log(`libzmq ${loadLibzmq().version.join(".")} from ${loadLibzmq().path}`);
    console.log(
      `PUSH/PULL throughput, two processes, median of ${repeats} (spread); CPU = user+sys of ` +
        "both processes per M msgs (per GB from 64 KiB); RSS = receiver's peak",
    );
    console.log(
      "row".padEnd(10) + "impl".padEnd(16) + "rate".padEnd(22) + "CPU".padEnd(12) +
        "RSS".padEnd(9) + "÷C".padEnd(8) + "÷zeromq.js",
    );
    for (const row of rows) {
      const runs = new Map<Impl, Throughput[]>(impls.map((impl) => [impl, []]));
      for (let r = 0; r < repeats; r++) {
        for (const impl of impls) runs.get(impl)!.push(await throughput(impl, setup, row, dir));
      }
      const medians = new Map<Impl, number>();
      for (const impl of impls) {
        medians.set(
          impl,
          summary(runs.get(impl)!.map((t) => t.msgs)).median,
        );
      }
      for (const impl of impls) {
        const list = runs.get(impl)!;
        const rate = summary(list.map((t) => t.msgs));
        const large = row.size >= 65_536;
        const cpu = summary(list.map((t) => large ? t.cpuPerGB : t.cpuPerM)).median;
        const rss = Math.max(...list.map((t) => t.rssKb));
        const shown = large ? fmtBytes(rate.median * row.size) : fmtRate(rate.median);
        const c = medians.get("C");
        const node = medians.get("zeromq.js") ?? NaN;
        const ours = impl.startsWith("lib/zmq");
        const vsC = c ? rate.median / c : NaN;
        const vsNode = rate.median / node;
        const markC = ours && vsC < row.goal ? "!" : "";
        const markNode = ours && row.goalNode && vsNode < 1 ? "!" : "";
        console.log(
          (impl === impls[0] ? row.label : "").padEnd(10) + impl.padEnd(16) +
            `${shown} ${pct(rate.spread)}`.padEnd(22) +
            `${(cpu / 1000).toFixed(2)} s`.padEnd(12) +
            (Number.isFinite(rss) ? `${(rss / 1024).toFixed(0)} MB` : "n/a").padEnd(9) +
            (Number.isFinite(vsC) ? `${vsC.toFixed(2)}${markC}` : "n/a").padEnd(8) +
            (Number.isFinite(vsNode) ? `${vsNode.toFixed(2)}${markNode}` : "n/a"),
        );
      }
    }
    if (options.latency) {
      console.log(`REQ/REP round trip over tcp, ${roundTrips} round trips, median of ${repeats}`);
      const latencyImpls = impls.filter((impl) => impl !== "lib/zmq fast" && !impl.includes(">"));
      const rtts = new Map<Impl, { median: number; p99: number }[]>(
        latencyImpls.map((impl) => [impl, []]),
      );
      for (let r = 0; r < repeats; r++) {
        for (const impl of latencyImpls) {
          rtts.get(impl)!.push(await latency(impl, setup, roundTrips));
        }
      }
      const cMedian = cPeer ? summary(rtts.get("C")!.map((r) => r.median)).median : NaN;
      const cP99 = cPeer ? summary(rtts.get("C")!.map((r) => r.p99)).median : NaN;
      for (const impl of latencyImpls) {
        const median = summary(rtts.get(impl)!.map((r) => r.median));
        const p99 = summary(rtts.get(impl)!.map((r) => r.p99));
        const ours = impl === "lib/zmq";
        const mark = (ratio: number, goal: number) =>
          `${ratio.toFixed(2)}x C${ours && ratio > goal ? "!" : ""}`;
        console.log(
          impl.padEnd(16) +
            `median ${median.median.toFixed(0)} us ${pct(median.spread)}`.padEnd(26) +
            `p99 ${p99.median.toFixed(0)} us ${pct(p99.spread)}`.padEnd(24) +
            (cPeer
              ? `${mark(median.median / cMedian, LATENCY_GOALS.median)}  ${
                mark(p99.median / cP99, LATENCY_GOALS.p99)
              }`
              : ""),
        );
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
    // The C peer's build directory (it would pile up in /tmp, one per run).
    if (cPeer) await Deno.remove(cPeer.slice(0, cPeer.lastIndexOf("/")), { recursive: true });
  }
}
