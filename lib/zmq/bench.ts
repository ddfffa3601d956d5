/**
 * `deno task bench:zmq`: lib/zmq PUSH/PULL throughput (16 B, 1 KiB, 64 KiB, 12 MiB) and
 * REQ/REP round-trip latency (median, p99), each measured beside zeromq.js on Node and
 * native C against the same libzmq, in the same run, with the ratios. Every figure is
 * two separate processes talking over tcp://127.0.0.1 (as libzmq's local_thr/remote_thr).
 *
 * @module
 */
import { loadLibzmq } from "./mod.ts";

const here = new URL("./bench/", import.meta.url).pathname;
const SIZES = [
  { label: "16 B", size: 16, count: 1_000_000 },
  { label: "1 KiB", size: 1024, count: 300_000 },
  { label: "64 KiB", size: 65_536, count: 20_000 },
  { label: "12 MiB", size: 12 * 1024 * 1024, count: 100 },
];
const ROUND_TRIPS = 10_000;

type Impl = "lib/zmq" | "zeromq.js" | "C";

interface Peer {
  child: Deno.ChildProcess;
  lines: AsyncIterator<string>;
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

function command(impl: Impl, cPeer: string | null, args: string[]): Deno.Command {
  const options = { stdout: "piped", stderr: "inherit", stdin: "null" } as const;
  switch (impl) {
    case "lib/zmq":
      return new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--quiet",
          "--allow-ffi",
          "--allow-env",
          "--allow-read",
          `${here}peer.ts`,
          ...args,
        ],
        ...options,
      });
    case "zeromq.js":
      return new Deno.Command("node", { args: [`${here}peer.cjs`, ...args], ...options });
    case "C":
      return new Deno.Command(cPeer!, { args: [loadLibzmq().path, ...args], ...options });
  }
}

function spawn(impl: Impl, cPeer: string | null, args: string[]): Peer {
  const child = command(impl, cPeer, args).spawn();
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

async function json(peer: Peer): Promise<Record<string, number | string>> {
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

async function throughput(impl: Impl, cPeer: string | null, size: number, count: number) {
  const pull = spawn(impl, cPeer, ["pull", String(size), String(count)]);
  const { endpoint } = await json(pull);
  const push = spawn(impl, cPeer, ["push", String(endpoint), String(size), String(count)]);
  try {
    const { elapsedMs } = await json(pull);
    const perSecond = count / (Number(elapsedMs) / 1000);
    return { msgs: perSecond, bytes: perSecond * size };
  } finally {
    await stop(push);
    await stop(pull);
  }
}

async function latency(impl: Impl, cPeer: string | null) {
  const rep = spawn(impl, cPeer, ["rep"]);
  const { endpoint } = await json(rep);
  const req = spawn(impl, cPeer, ["req", String(endpoint), String(ROUND_TRIPS)]);
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
const ratio = (a: number, b: number | undefined) => (b ? `${(a / b).toFixed(2)}x` : "n/a");

if (import.meta.main) {
  const cPeer = await buildC();
  const impls: Impl[] = cPeer ? ["lib/zmq", "zeromq.js", "C"] : ["lib/zmq", "zeromq.js"];
  console.log(`libzmq ${loadLibzmq().version.join(".")} from ${loadLibzmq().path}`);
  console.log("PUSH/PULL throughput, two processes over tcp://127.0.0.1 (higher is better)");
  console.log(
    "size".padEnd(8) + impls.map((i) => i.padEnd(24)).join("") +
      "lib/zmq÷zeromq.js  lib/zmq÷C",
  );
  for (const { label, size, count } of SIZES) {
    const results = new Map<Impl, { msgs: number; bytes: number }>();
    for (const impl of impls) results.set(impl, await throughput(impl, cPeer, size, count));
    const ours = results.get("lib/zmq")!;
    console.log(
      label.padEnd(8) +
        impls.map((i) => {
          const r = results.get(i)!;
          return `${fmtRate(r.msgs)} ${fmtBytes(r.bytes)}`.padEnd(24);
        }).join("") +
        ratio(ours.msgs, results.get("zeromq.js")?.msgs).padEnd(19) +
        ratio(ours.msgs, results.get("C")?.msgs),
    );
  }
  console.log(`REQ/REP round trip, ${ROUND_TRIPS} round trips (lower is better)`);
  const rtts = new Map<Impl, { median: number; p99: number }>();
  for (const impl of impls) rtts.set(impl, await latency(impl, cPeer));
  for (const impl of impls) {
    const r = rtts.get(impl)!;
    console.log(
      `${impl.padEnd(10)} median ${r.median.toFixed(0)} us  p99 ${r.p99.toFixed(0)} us` +
        (impl === "lib/zmq"
          ? `  (zeromq.js÷lib/zmq ${ratio(rtts.get("zeromq.js")!.median, r.median)}, C÷lib/zmq ${
            ratio(rtts.get("C")?.median ?? 0, r.median)
          })`
          : ""),
    );
  }
}
