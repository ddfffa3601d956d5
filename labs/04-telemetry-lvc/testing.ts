/**
 * Test helpers of Lab 04: start the roles on ephemeral ports, read the terminal's `--json`
 * lines, and a raw ZMTP 3.0 peer that writes subscription frames as fast as TCP takes them
 * (what a hostile subscriber does; a libzmq XSUB would keep its own copy of each).
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawnRole } from "@lib/testing/mod.ts";

/** Any port on the loopback interface. */
export const ANY = "tcp://127.0.0.1:*";

/** A spawned role. */
export type Proc = Awaited<ReturnType<typeof spawnRole>>;

/** Starts a broker on ephemeral ports; returns it with its two real endpoints. */
export async function startBroker(
  args: string[] = [],
): Promise<{ proc: Proc; frontend: string; backend: string }> {
  const proc = await spawnRole("04", "lvc_broker", [
    "--frontend",
    ANY,
    "--backend",
    ANY,
    "--stats-interval",
    "100",
    ...args,
  ]);
  const frontend = String((await proc.event("listening", (e) => e.socket === "frontend")).endpoint);
  const backend = String((await proc.event("listening", (e) => e.socket === "backend")).endpoint);
  return { proc, frontend, backend };
}

/** Starts a source connected to the broker's frontend. */
export function startSource(frontend: string, args: string[]): Promise<Proc> {
  return spawnRole("04", "telemetry_source", ["--connect", frontend, ...args]);
}

/** Starts a terminal in --json mode subscribed to `topics` (`""`: every topic, the default). */
export function startTerminal(
  backend: string,
  topics: string[],
  args: string[] = [],
): Promise<Proc> {
  return spawnRole("04", "analyst_terminal", [
    "--connect",
    backend,
    ...topics.filter((t) => t !== "").flatMap((t) => ["--topic", t]),
    "--json",
    "--refresh",
    "100",
    ...args,
  ]);
}

/**
 * How soon a role must log `stopping` after SIGTERM: 1 s on a machine with a core to spare;
 * scaled by the run queue per core when the machine is overloaded (shared CI, parallel
 * helpers), capped at 5 s, far below the 12-19 s of a starved event loop.
 */
export function stopDeadlineMs(): number {
  const cores = navigator.hardwareConcurrency || 1;
  const perCore = Deno.loadavg()[0] / cores;
  return Math.round(1000 * Math.min(5, Math.max(1, perCore)));
}

/**
 * Sends SIGTERM; asserts `stopping` within {@link stopDeadlineMs} of it (by the event's
 * own timestamp, so a slow reader here does not count) and exit 0 within the role's `--shutdown-timeout`.
 */
export async function assertStopsInTime(
  proc: Proc,
  shutdownTimeoutMs: number,
): Promise<{ stoppingMs: number; exitMs: number }> {
  const signalled = Date.now();
  proc.signal("SIGTERM");
  // Generous wait: reading a flooded role's log here may lag; its own timestamp decides.
  const stopping = await proc.event("stopping", undefined, { timeout: shutdownTimeoutMs + 30_000 });
  const stoppingMs = Date.parse(String(stopping.ts)) - signalled;
  const bound = stopDeadlineMs();
  assert.ok(
    stoppingMs < bound,
    `expected stopping within ${bound} ms of SIGTERM, got ${stoppingMs} ms`,
  );
  const status = await proc.wait();
  const exitMs = Date.now() - signalled;
  assert.equal(status.code, 0, `expected exit 0, got ${status.code}`);
  // The runtime itself forces an exit past --shutdown-timeout (code 1): 0 means in time;
  // the slack is process teardown as seen from here.
  assert.ok(exitMs < shutdownTimeoutMs + 2000, `expected exit in time, got ${exitMs} ms`);
  return { stoppingMs, exitMs };
}

/** Resident set size of a process in MiB (Linux `/proc`). */
export function rssMiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kib = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  if (!kib) throw new Error(`expected VmRSS in /proc/${pid}/status, got none`);
  return Number(kib[1]) / 1024;
}

/** A raw ZMTP 3.0 connection (NULL mechanism) to a libzmq socket. */
export interface ZmtpPeer extends AsyncDisposable {
  /** Writes one single-frame message; false once the other side has closed. */
  send(frame: Uint8Array): Promise<boolean>;
  /** Writes many single-frame messages in large writes; how many went out. */
  sendAll(frames: Iterable<Uint8Array>): Promise<number>;
  close(): void;
}

function frameBytes(body: Uint8Array, command = false): Uint8Array {
  const long = body.length > 255;
  const head = new Uint8Array(long ? 9 : 2);
  head[0] = (command ? 0x04 : 0) | (long ? 0x02 : 0);
  if (long) new DataView(head.buffer).setBigUint64(1, BigInt(body.length));
  else head[1] = body.length;
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

/**
 * Connects to `endpoint` (tcp://host:port) as a ZMTP 3.0 peer of `socketType` (e.g.
 * `XSUB`): greeting and READY, then frames exactly as given. It never reads; the kernel
 * buffers what the other side sends.
 *
 * @example
 * ```ts
 * import { zmtpPeer } from "./testing.ts";
 * await using peer = await zmtpPeer("tcp://127.0.0.1:5542", "XSUB");
 * await peer.send(new Uint8Array([1, ...new TextEncoder().encode("plant-a/")]));
 * ```
 */
export async function zmtpPeer(endpoint: string, socketType: string): Promise<ZmtpPeer> {
  const m = /^tcp:\/\/([^:]+):(\d+)$/.exec(endpoint);
  if (!m) throw new Error(`expected tcp://host:port, got ${endpoint}`);
  const conn = await Deno.connect({ hostname: m[1], port: Number(m[2]) });
  const te = new TextEncoder();
  const greeting = new Uint8Array(64);
  greeting[0] = 0xff;
  greeting[9] = 0x7f;
  greeting[10] = 3; // version 3.0
  greeting.set(te.encode("NULL"), 12);
  const name = te.encode("Socket-Type");
  const value = te.encode(socketType);
  const ready = new Uint8Array(6 + 1 + name.length + 4 + value.length);
  ready.set([5, ...te.encode("READY"), name.length]);
  ready.set(name, 7);
  new DataView(ready.buffer).setUint32(7 + name.length, value.length);
  ready.set(value, 11 + name.length);
  let open = true;
  const write = async (bytes: Uint8Array) => {
    if (!open) return false;
    try {
      for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
      return true;
    } catch {
      open = false;
      return false;
    }
  };
  await write(greeting);
  await write(frameBytes(ready, true));
  const close = () => {
    if (!open) return;
    open = false;
    try {
      conn.close();
    } catch {
      // already closed
    }
  };
  return {
    send: (frame) => write(frameBytes(frame)),
    async sendAll(frames) {
      let sent = 0, batch: Uint8Array[] = [], size = 0;
      const flush = async () => {
        const out = new Uint8Array(size);
        let at = 0;
        for (const b of batch) {
          out.set(b, at);
          at += b.length;
        }
        const ok = await write(out);
        if (ok) sent += batch.length;
        batch = [];
        size = 0;
        return ok;
      };
      for (const frame of frames) {
        const bytes = frameBytes(frame);
        batch.push(bytes);
        size += bytes.length;
        if (size >= 256 * 1024 && !(await flush())) return sent;
      }
      if (batch.length > 0) await flush();
      return sent;
    },
    close,
    [Symbol.asyncDispose]: () => Promise.resolve(close()),
  };
}
